/* audit/routes.c: GET /v1/admin/audit, the trail of privileged actions, newest first,
 * for admins (and only them: moderators act, they do not audit). Reading it is not
 * itself audited; it changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/list.h"
#include "db/db.h"
#include "services/audit/audit.h"

static const vz_col audit_cols[] = {
  { "id", "id", VZ_COL_ID },
  { "actor_id", "actor_id", VZ_COL_ID | VZ_COL_NULL },
  { "action", "action", VZ_COL_TEXT },
  { "target_type", "target_type", VZ_COL_TEXT | VZ_COL_NULL },
  { "target_id", "target_id", VZ_COL_ID | VZ_COL_NULL },
  { "ip", "ip", VZ_COL_TEXT | VZ_COL_NULL },
  { "created_at", "created_at", VZ_COL_TIME },
  { "detail", "detail", VZ_COL_RAW }, /* JSON text, parsed below */
  { 0 },
};

/* Newest first, keyset on id (the position is the id too). */
static int audit_list(vz_req *req) {
  int64_t actor = 0, target = 0;
  const char *s;
  vz_page pg;
  if ((s = vz_req_query(req, "actor_id"))) vz_parse_id(s, &actor);
  if ((s = vz_req_query(req, "target_id"))) vz_parse_id(s, &target);
  const char *type = vz_req_query(req, "target_type");
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return req->status;
  /* Each filter is "param is empty or column matches", so one statement text serves all.
   * The casts keep PostgreSQL from typing the parameters as 32-bit from the literal 0. */
  const char *sql = vz_arena_printf(req->arena,
      "SELECT %s FROM audit_log WHERE (CAST($1 AS BIGINT) = 0 OR actor_id = CAST($1 AS BIGINT))"
      " AND (CAST($2 AS BIGINT) = 0 OR target_id = CAST($2 AS BIGINT))"
      " AND ($3 = '' OR target_type = $3) AND id < CAST($4 AS BIGINT) ORDER BY id DESC LIMIT $5",
      vz_cols_select(req->arena, audit_cols));
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st;
  int rc = db_prepare(req->db_read, sql, &st);
  if (rc < 0) return vz_fail_db(req, rc);
  db_bind_int(st, 1, actor);
  db_bind_int(st, 2, target);
  db_bind_text(st, 3, type ? type : "", -1);
  db_bind_int(st, 4, pg.id);
  db_bind_int(st, 5, pg.limit + 1);
  while ((rc = db_step(st)) == DB_ROW && vz_page_take(&pg, db_col_int(st, 0), db_col_int(st, 0))) {
    json_t *o = vz_cols_row(st, audit_cols);
    json_t *detail = db_col_is_null(st, 7) ? NULL : json_loads(db_col_text(st, 7), 0, NULL);
    if (json_object_set_new(o, "detail", detail ? detail : json_object()) < 0) { /* takes detail */
      json_decref(o);
      o = NULL;
    }
    vz_page_add(&pg, o);
  }
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}

static const vz_field audit_query[] = {
  { "actor_id", VZ_ID, 0 },
  { "target_id", VZ_ID, 0 },
  { "target_type", VZ_STR, 0, 1, 40 },
  { 0 },
};

vz_route audit_routes[] = {
  VZ_GET("/v1/admin/audit", audit_list, .op = "listAudit",
         .summary = "The audit trail of privileged actions, newest first", .res = "AuditEntry[]",
         .flags = VZ_ROLE_ADMIN, .query = audit_query),
  { 0 },
};

/* The hook is installed by the audit table's owner. */
int audit_init(void) {
  vz_hook.audit = audit_hook;
  return 0;
}
