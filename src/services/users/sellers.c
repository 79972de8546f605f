/* sellers.c: seller (business) applications. A user applies once at a time: the partial
 * unique index of migration 112 admits one pending row per user, so two concurrent
 * submissions cannot both land (the loser gets 409). An admin approves or rejects;
 * approval changes the status and the user's role in one transaction with a conditional
 * UPDATE (status = 'pending'), and writes an audit row with the details (target: the
 * application), so a double click cannot approve twice and the trail always matches the
 * data. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/json.h"
#include "core/list.h"
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/users/internal.h"

static const vz_col app_cols[] = {
  { "id", "id", VZ_COL_ID },
  { "user_id", "user_id", VZ_COL_ID },
  { "business_name", "business_name", VZ_COL_TEXT },
  { "legal_name", "legal_name", VZ_COL_TEXT },
  { "business_type", "business_type", VZ_COL_TEXT },
  { "country", "country", VZ_COL_TEXT },
  { "tax_id", "tax_id", VZ_COL_TEXT | VZ_COL_NULL },
  { "address", "address", VZ_COL_TEXT },
  { "website", "website", VZ_COL_TEXT | VZ_COL_NULL },
  { "description", "description", VZ_COL_TEXT },
  { "status", "status", VZ_COL_TEXT },
  { "review_note", "review_note", VZ_COL_TEXT | VZ_COL_NULL },
  { "created_at", "created_at", VZ_COL_TIME },
  { "reviewed_at", "reviewed_at", VZ_COL_TIME | VZ_COL_NULL },
  { 0 },
};

/* "SELECT <app_cols> FROM seller_applications <tail>" in the arena; NULL out of memory. */
static const char *app_sql(vz_req *req, const char *tail) {
  const char *cols = vz_cols_select(req->arena, app_cols);
  return cols ? vz_arena_printf(req->arena, "SELECT %s FROM seller_applications %s", cols, tail) : NULL;
}

/* The application just written, read back inside the transaction (a failed read then
 * undoes the change instead of answering 5xx for one that was made). 0 with *out set
 * (what a previous run of the db_tx body left there is freed), or a db.h error, not
 * answered: a row that cannot be read or built is DB_ERROR. */
static int app_load(vz_req *req, vz_db *db, int64_t id, json_t **out) {
  const char *sql = app_sql(req, "WHERE id = $1");
  vz_stmt *st = NULL;
  json_decref(*out);
  *out = NULL;
  int rc = sql ? db_run(db, &st, sql, "i", id) : DB_ERROR;
  if (rc == DB_ROW) *out = vz_cols_row(st, app_cols);
  if (st) db_finalize(st);
  return rc < 0 ? rc : *out ? 0 : DB_ERROR;
}

static const char *jstr(vz_req *req, const char *k) {
  return json_string_value(json_object_get(req->json, k));
}

typedef struct app_write { vz_req *req; int64_t id; int approve; json_t *item; } app_write;

static int apply_tx(vz_db *db, void *p) {
  app_write *w = p;
  vz_req *req = w->req;
  const char *type = jstr(req, "business_type"), *desc = jstr(req, "description");
  int rc = db_run(db, NULL,
                  "INSERT INTO seller_applications (id, user_id, business_name, legal_name, business_type, tax_id,"
                  " country, address, website, description, status, created_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)",
                  "iissssssssi", w->id, req->user_id, jstr(req, "business_name"), jstr(req, "legal_name"),
                  type ? type : "company", jstr(req, "tax_id"), jstr(req, "country"), jstr(req, "address"),
                  jstr(req, "website"), desc ? desc : "", db_now_ms());
  if (rc == DB_ECONSTRAINT)
    return vz_fail(req, 409, "conflict", NULL, "you already have an application under review"), DB_EABORT;
  return rc < 0 ? rc : app_load(req, db, w->id, &w->item);
}

int users_h_seller_apply(vz_req *req) {
  const char *country = jstr(req, "country");
  if (strlen(country) != 2 || !isupper((unsigned char)country[0]) || !isupper((unsigned char)country[1]))
    return vz_fail(req, 400, "invalid_argument", "country", "country is an ISO 3166-1 alpha-2 code such as DE");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT role FROM users WHERE id = $1", "i", req->user_id);
  int seller = rc == DB_ROW && strcmp(db_col_text(st, 0), "user") != 0;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (seller) return vz_fail(req, 409, "conflict", NULL, "your account can already sell");
  app_write w = { .req = req, .id = db_id_new() };
  if (vz_tx_or_fail(req, apply_tx, &w) < 0) {
    json_decref(w.item);
    return req->status;
  }
  return vz_reply_item(req, 201, w.item);
}

int users_h_seller_mine(vz_req *req) {
  const char *sql = app_sql(req, "WHERE user_id = $1 ORDER BY id DESC LIMIT 1");
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "i", req->user_id);
  json_t *item = rc == DB_ROW ? vz_cols_row(st, app_cols) : NULL;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", NULL, "you have not applied");
  if (!item) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  return vz_reply_item(req, 200, item);
}

/* Admin list, oldest first (a review queue): keyset on id (cursor "id:id"). */
int users_h_seller_list(vz_req *req) {
  const char *status = vz_req_query(req, "status");
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, 0, 0)) return req->status;
  const char *sql = app_sql(req, "WHERE (CAST($1 AS TEXT) IS NULL OR status = CAST($1 AS TEXT)) AND id > $2"
                                 " ORDER BY id LIMIT $3");
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "sii", status, pg.id, (int64_t)pg.limit + 1);
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, 0), db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, app_cols));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}

static int review_tx(vz_db *db, void *p) {
  app_write *w = p;
  vz_req *req = w->req;
  const char *reason = jstr(req, "reason"), *decision = w->approve ? "approved" : "rejected";
  int64_t now = db_now_ms(), uid = 0;
  char business[160] = "";
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE seller_applications SET status = $1, reviewer_id = $2, review_note = $3, reviewed_at = $4"
                  " WHERE id = $5 AND status = 'pending'", "sisii", decision, req->user_id, reason, now, w->id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  rc = db_run(db, &st, "SELECT user_id, business_name FROM seller_applications WHERE id = $1", "i", w->id);
  if (rc == DB_ROW) {
    uid = db_col_int(st, 0);
    snprintf(business, sizeof business, "%s", db_col_text(st, 1));
  }
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (!uid) return vz_fail(req, 404, "not_found", "id", "no such application"), DB_EABORT;
  if (!changed) return vz_fail(req, 409, "conflict", "id", "this application was already reviewed"), DB_EABORT;
  /* only a plain user becomes a seller: an admin or moderator keeps their role */
  if (w->approve && (rc = db_run(db, NULL, "UPDATE users SET role = 'seller', updated_at = $1 WHERE id = $2 AND role = 'user'",
                                 "ii", now, uid)) < 0)
    return rc;
  json_t *d = json_pack("{s:o, s:o, s:s, s:s, s:s?}", "application_id", vz_json_id(w->id), "user_id", vz_json_id(uid),
                        "business_name", business, "decision", decision, "reason", reason);
  char *detail = vz_json_dumps(d, NULL);
  json_decref(d);
  if (!detail) /* an audit row without its detail would say less than the decision did */
    return vz_fail(req, 500, "internal", NULL, "could not record the decision"), DB_EABORT;
  /* the target is the application, so ?target_id=<application id> finds its decision;
   * the user whose role changed is in the detail */
  rc = audit_record_ip(db, req->user_id, w->approve ? "seller.approve" : "seller.reject", "seller_application", w->id,
                       detail, req->ip);
  free(detail);
  /* read back before the commit: after it, a failed read would answer 5xx for a decision taken */
  return rc < 0 ? rc : app_load(req, db, w->id, &w->item);
}

static int review(vz_req *req, int approve) {
  app_write w = { .req = req, .approve = approve };
  if (vz_req_param_id_or_fail(req, "id", &w.id)) return req->status;
  if (vz_tx_or_fail(req, review_tx, &w) < 0) {
    json_decref(w.item);
    return req->status;
  }
  return vz_reply_item(req, 200, w.item);
}

int users_h_seller_approve(vz_req *req) { return review(req, 1); }
int users_h_seller_reject(vz_req *req) { return review(req, 0); }
