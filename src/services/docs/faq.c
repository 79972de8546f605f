/* docs/faq.c: the help centre's FAQ, five endpoints: a public list and entry, admin
 * create, update and delete (audited, in the change's transaction). Written as the
 * template for CRUD services: declared input, a column table, the page helper, db_tx
 * bodies, route macros (docs/internals/services.md). */
#include "core/list.h"
#include "core/respcache.h"
#include "core/service.h"
#include "db/db.h"
#include "services/docs/docs.h"

static const vz_col faq_cols[] = {
  { "id", "id", VZ_COL_ID }, { "question", "question", VZ_COL_TEXT }, { "answer", "answer", VZ_COL_TEXT },
  { "position", "position", VZ_COL_INT }, { "created_at", "created_at", VZ_COL_TIME },
  { "updated_at", "updated_at", VZ_COL_TIME }, { 0 },
};

/* The entry as its reply (200, or 404 when it does not exist). */
static int reply_entry(vz_req *req, vz_db *db, int64_t id, int status) {
  vz_stmt *st = NULL;
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT %s FROM faq_entries WHERE id = $1", vz_cols_select(req->arena, faq_cols));
  int rc = db_run(db, &st, sql, "i", id);
  json_t *o = rc == DB_ROW ? vz_cols_row(st, faq_cols) : NULL;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such entry");
  return o ? vz_reply_item(req, status, o) : vz_fail(req, 503, "unavailable", NULL, "server busy");
}

static int faq_list(vz_req *req) {
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, INT64_MIN, INT64_MIN)) return req->status;
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT %s FROM faq_entries WHERE position > $1 OR (position = $1 AND id > $2)"
           " ORDER BY position, id LIMIT $3", vz_cols_select(req->arena, faq_cols));
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "iii", pg.pos, pg.id, (int64_t)pg.limit + 1);
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, 3), db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, faq_cols));
    rc = db_step(st);
  }
  db_finalize(st);
  return rc < 0 ? vz_fail_db(req, rc) : vz_page_reply(req, &pg);
}

static int faq_show(vz_req *req) {
  int64_t id;
  return vz_req_param_id_or_fail(req, "id", &id) ? req->status : reply_entry(req, req->db_read, id, 200);
}

/* One body for create and update: the write, then the entry read back in the same
 * transaction (a failed read undoes the write). */
typedef struct faq_write { vz_req *req; int64_t id; int create; } faq_write;

static int faq_write_tx(vz_db *db, void *ctx) {
  faq_write *w = ctx;
  json_t *in = w->req->json;
  const char *q = json_string_value(json_object_get(in, "question"));
  const char *a = json_string_value(json_object_get(in, "answer"));
  json_t *pos = json_object_get(in, "position");
  int64_t now = db_now_ms();
  int rc = w->create
      ? db_run(db, NULL, "INSERT INTO faq_entries (id, question, answer, position, created_at, updated_at)"
               " VALUES ($1, $2, $3, $4, $5, $5)", "issii", w->id, q, a, (int64_t)json_integer_value(pos), now)
      : db_run(db, NULL, "UPDATE faq_entries SET question = coalesce($2, question), answer = coalesce($3, answer),"
               " position = CASE WHEN CAST($4 AS BIGINT) = 1 THEN CAST($5 AS BIGINT) ELSE position END, updated_at = $6"
               " WHERE id = $1",
               "issiii", w->id, q, a, (int64_t)(pos != NULL), (int64_t)json_integer_value(pos), now);
  if (rc < 0) return rc;
  return reply_entry(w->req, db, w->id, w->create ? 201 : 200) >= 400 ? DB_EABORT : 0;
}

static int faq_create(vz_req *req) {
  faq_write w = { req, db_id_new(), 1 };
  if (vz_tx_or_fail(req, faq_write_tx, &w) == 0) vz_cache_bump("faq");
  return req->status;
}

static int faq_update(vz_req *req) {
  faq_write w = { req, 0, 0 };
  if (vz_req_param_id_or_fail(req, "id", &w.id)) return req->status;
  if (vz_tx_or_fail(req, faq_write_tx, &w) == 0) vz_cache_bump("faq");
  return req->status;
}

static int faq_delete(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "DELETE FROM faq_entries WHERE id = $1", "i", id);
  int gone = rc >= 0 && db_changes(st) > 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!gone) return vz_fail(req, 404, "not_found", "id", "no such entry");
  vz_cache_bump("faq");
  return vz_reply_empty(req, 204);
}

static const vz_field create_in[] = {
  { "question", VZ_STR, VZ_REQUIRED, 1, 300 }, { "answer", VZ_STR, VZ_REQUIRED, 1, 5000 },
  { "position", VZ_INT, 0, 0, 1000000 }, { 0 },
};
static const vz_field update_in[] = {
  { "question", VZ_STR, 0, 1, 300 }, { "answer", VZ_STR, 0, 1, 5000 }, { "position", VZ_INT, 0, 0, 1000000 }, { 0 },
};

static vz_route docs_routes[] = {
  VZ_GET("/v1/faq", faq_list, .op = "listFaq", .summary = "The FAQ, in the admin's order (position, then id)",
         .res = "FaqEntry[]", .cache_ms = 2000, .cache_group = "faq"),
  VZ_GET("/v1/faq/:id", faq_show, .op = "getFaq", .summary = "One FAQ entry", .res = "FaqEntry"),
  VZ_POST("/v1/faq", faq_create, .op = "createFaq", .summary = "Add an FAQ entry (admin, audited)", .res = "FaqEntry",
          .ok = 201, .body = create_in, .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_PATCH("/v1/faq/:id", faq_update, .op = "updateFaq", .summary = "Change an FAQ entry; fields not sent are kept",
           .res = "FaqEntry", .body = update_in, .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_DELETE("/v1/faq/:id", faq_delete, .op = "deleteFaq", .summary = "Remove an FAQ entry (admin, audited)", .res = "-",
            .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  { 0 },
};

const vz_service docs_service = { .name = "docs", .about = "The help centre's FAQ", .routes = docs_routes };
