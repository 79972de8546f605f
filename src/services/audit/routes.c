/* audit/routes.c: GET /v1/admin/audit, the trail of privileged actions, newest first,
 * for admins (and only them: moderators act, they do not audit). Reading it is not
 * itself audited; it changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/audit/audit.h"

static json_t *row_json(vz_stmt *st) {
  json_error_t e;
  json_t *detail = json_loads(db_col_text(st, 5), 0, &e);
  json_t *o = json_object();
  json_object_set_new(o, "id", vz_json_id(db_col_int(st, 0)));
  json_object_set_new(o, "actor_id", db_col_is_null(st, 1) ? json_null() : vz_json_id(db_col_int(st, 1)));
  json_object_set_new(o, "action", json_string(db_col_text(st, 2)));
  json_object_set_new(o, "target_type", db_col_is_null(st, 3) ? json_null() : json_string(db_col_text(st, 3)));
  json_object_set_new(o, "target_id", db_col_is_null(st, 4) ? json_null() : vz_json_id(db_col_int(st, 4)));
  json_object_set_new(o, "detail", detail ? detail : json_object());
  json_object_set_new(o, "ip", db_col_is_null(st, 6) ? json_null() : json_string(db_col_text(st, 6)));
  json_object_set_new(o, "created_at", vz_json_time(db_col_int(st, 7)));
  return o;
}

static int audit_list(vz_req *req) {
  int limit = vz_req_limit(req);
  int64_t actor = 0, target = 0, before = 0;
  const char *s;
  if ((s = vz_req_query(req, "actor_id"))) vz_parse_id(s, &actor);
  if ((s = vz_req_query(req, "target_id"))) vz_parse_id(s, &target);
  const char *type = vz_req_query(req, "target_type");
  if ((s = vz_req_query(req, "cursor"))) {
    const char *plain = vz_cursor_decode(req, s);
    if (!plain) return 400;
    if (vz_parse_id(plain, &before)) return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
  }
  /* Each filter is "param is empty or column matches", so one statement text serves all.
   * The casts keep PostgreSQL from typing the parameters as 32-bit from the literal 0. */
  vz_stmt *st;
  int rc = db_prepare(req->db_read,
                      "SELECT id, actor_id, action, target_type, target_id, detail, ip, created_at FROM audit_log"
                      " WHERE (CAST($1 AS BIGINT) = 0 OR actor_id = CAST($1 AS BIGINT))"
                      " AND (CAST($2 AS BIGINT) = 0 OR target_id = CAST($2 AS BIGINT))"
                      " AND ($3 = '' OR target_type = $3) AND (CAST($4 AS BIGINT) = 0 OR id < CAST($4 AS BIGINT))"
                      " ORDER BY id DESC LIMIT $5",
                      &st);
  if (rc < 0) return vz_fail_db(req, rc);
  db_bind_int(st, 1, actor);
  db_bind_int(st, 2, target);
  db_bind_text(st, 3, type ? type : "", -1);
  db_bind_int(st, 4, before);
  db_bind_int(st, 5, limit + 1);
  json_t *items = json_array();
  int64_t last = 0;
  int n = 0, more = 0;
  while ((rc = db_step(st)) == DB_ROW) {
    if (n == limit) { more = 1; break; }
    json_array_append_new(items, row_json(st));
    last = db_col_int(st, 0);
    n++;
  }
  db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  char *next = more ? vz_cursor_encode(req->arena, vz_arena_printf(req->arena, "%lld", (long long)last)) : NULL;
  return vz_reply_list(req, items, next);
}

static const vz_field audit_query[] = {
  { "actor_id", VZ_ID, 0 },
  { "target_id", VZ_ID, 0 },
  { "target_type", VZ_STR, 0, 1, 40 },
  { 0 },
};

static vz_route routes[] = {
  { "GET", "/v1/admin/audit", audit_list, NULL, VZ_ROLE_ADMIN | VZ_WORKER, audit_query },
  { 0 },
};

/* The hook is installed here, by the table's owner. auth installed an older copy before
 * the audit service existed; audit comes after auth in services.c, so this one wins. */
int audit_init(void) {
  vz_hook.audit = audit_hook;
  return vz_routes_add(routes);
}
