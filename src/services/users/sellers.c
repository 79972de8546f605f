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
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/users/internal.h"

#define APP_COLS "id, user_id, business_name, legal_name, business_type, country, tax_id, address," \
  " website, description, status, review_note, created_at, reviewed_at"

static json_t *text_or_null(vz_stmt *st, int c) {
  return db_col_is_null(st, c) ? json_null() : json_string(db_col_text(st, c));
}

/* One json_pack: NULL when any value could not be made, never an object missing keys
 * (a 200 without "status" is a wrong answer, not a smaller one). */
static json_t *app_json(vz_stmt *st) {
  return json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:s, s:o, s:o, s:o}",
                   "id", vz_json_id(db_col_int(st, 0)), "user_id", vz_json_id(db_col_int(st, 1)),
                   "business_name", db_col_text(st, 2), "legal_name", db_col_text(st, 3),
                   "business_type", db_col_text(st, 4), "country", db_col_text(st, 5),
                   "tax_id", text_or_null(st, 6), "address", db_col_text(st, 7), "website", text_or_null(st, 8),
                   "description", db_col_text(st, 9), "status", db_col_text(st, 10),
                   "review_note", text_or_null(st, 11), "created_at", vz_json_time(db_col_int(st, 12)),
                   "reviewed_at", db_col_is_null(st, 13) ? json_null() : vz_json_time(db_col_int(st, 13)));
}

static int load(vz_req *req, vz_db *db, int64_t id, json_t **out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT " APP_COLS " FROM seller_applications WHERE id = $1", "i", id);
  *out = rc == DB_ROW ? app_json(st) : NULL;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such application");
  if (!*out) return vz_fail(req, 500, "internal", NULL, "could not build the application");
  return 0;
}

static const char *jstr(vz_req *req, const char *k) {
  return json_string_value(json_object_get(req->json, k));
}

int users_h_seller_apply(vz_req *req) {
  const char *country = jstr(req, "country"), *type = jstr(req, "business_type");
  if (strlen(country) != 2 || !isupper((unsigned char)country[0]) || !isupper((unsigned char)country[1]))
    return vz_fail(req, 400, "invalid_argument", "country", "country is an ISO 3166-1 alpha-2 code such as DE");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT role FROM users WHERE id = $1", "i", req->user_id);
  int seller = rc == DB_ROW && strcmp(db_col_text(st, 0), "user") != 0;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (seller) return vz_fail(req, 409, "conflict", NULL, "your account can already sell");
  /* The application is read back inside the transaction, so a failed read stores nothing
   * rather than answering 5xx for an application that then blocks the retry with 409. */
  int64_t id = db_id_new();
  if ((rc = db_begin(req->db)) < 0) return vz_fail_db(req, rc);
  rc = db_run(req->db, NULL,
              "INSERT INTO seller_applications (id, user_id, business_name, legal_name, business_type, tax_id,"
              " country, address, website, description, status, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)",
              "iissssssssi", id, req->user_id, jstr(req, "business_name"), jstr(req, "legal_name"),
              type ? type : "company", jstr(req, "tax_id"), country, jstr(req, "address"), jstr(req, "website"),
              jstr(req, "description") ? jstr(req, "description") : "", db_now_ms());
  json_t *item = NULL;
  if (rc < 0) {
    db_rollback(req->db);
    if (rc == DB_ECONSTRAINT) return vz_fail(req, 409, "conflict", NULL, "you already have an application under review");
    return vz_fail_db(req, rc);
  }
  if ((rc = load(req, req->db, id, &item))) { db_rollback(req->db); return rc; }
  if ((rc = db_commit(req->db)) < 0) { json_decref(item); db_rollback(req->db); return vz_fail_db(req, rc); }
  return vz_reply_item(req, 201, item);
}

int users_h_seller_mine(vz_req *req) {
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT " APP_COLS " FROM seller_applications WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
                  "i", req->user_id);
  json_t *item = rc == DB_ROW ? app_json(st) : NULL;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!item) return vz_fail(req, 404, "not_found", NULL, "you have not applied");
  return vz_reply_item(req, 200, item);
}

/* Admin list, oldest first (a review queue); cursor is the last id. */
int users_h_seller_list(vz_req *req) {
  const char *status = vz_req_query(req, "status"), *cursor = vz_req_query(req, "cursor");
  int limit = vz_req_limit(req);
  long long after = 0;
  if (cursor) {
    const char *plain = vz_cursor_decode_or_fail(req, cursor);
    if (!plain) return 400;
    if (sscanf(plain, "%lld", &after) != 1 || after <= 0)
      return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
  }
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT " APP_COLS " FROM seller_applications WHERE (CAST($1 AS TEXT) IS NULL OR status = CAST($1 AS TEXT)) AND id > $2"
                  " ORDER BY id LIMIT $3", "sii", status, (int64_t)after, (int64_t)limit + 1);
  json_t *items = json_array();
  int n = 0, more = 0;
  int64_t last = 0;
  while (rc == DB_ROW) {
    if (n == limit) { more = 1; break; }
    last = db_col_int(st, 0);
    json_array_append_new(items, app_json(st));
    n++;
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  char *next = more ? vz_cursor_encode(req->arena, vz_arena_printf(req->arena, "%lld", (long long)last)) : NULL;
  return vz_reply_list(req, items, next);
}

static int review(vz_req *req, int approve) {
  int64_t id, uid = 0;
  const char *reason = jstr(req, "reason");
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  vz_stmt *st = NULL;
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  int64_t now = db_now_ms();
  rc = db_run(req->db, &st,
              "UPDATE seller_applications SET status = $1, reviewer_id = $2, review_note = $3, reviewed_at = $4"
              " WHERE id = $5 AND status = 'pending'",
              "sisii", approve ? "approved" : "rejected", req->user_id, reason, now, id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto dberr;
  rc = db_run(req->db, &st, "SELECT user_id, status, business_name FROM seller_applications WHERE id = $1", "i", id);
  char business[160] = "";
  if (rc == DB_ROW) {
    uid = db_col_int(st, 0);
    snprintf(business, sizeof business, "%s", db_col_text(st, 2));
  }
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto dberr;
  if (!uid) { db_rollback(req->db); return vz_fail(req, 404, "not_found", "id", "no such application"); }
  if (!changed) { db_rollback(req->db); return vz_fail(req, 409, "conflict", "id", "this application was already reviewed"); }
  /* only a plain user becomes a seller: an admin or moderator keeps their role */
  if (approve && (rc = db_run(req->db, NULL, "UPDATE users SET role = 'seller', updated_at = $1 WHERE id = $2 AND role = 'user'",
                              "ii", now, uid)) < 0)
    goto dberr;
  json_t *d = json_pack("{s:o, s:o, s:s, s:s, s:s?}", "application_id", vz_json_id(id), "user_id", vz_json_id(uid),
                        "business_name", business, "decision", approve ? "approved" : "rejected", "reason", reason);
  char *detail = vz_json_dumps(d, NULL);
  json_decref(d);
  if (!detail) { /* an audit row without its detail would say less than the decision did */
    db_rollback(req->db);
    return vz_fail(req, 500, "internal", NULL, "could not record the decision");
  }
  /* the target is the application, so ?target_id=<application id> finds its decision;
   * the user whose role changed is in the detail */
  rc = audit_record_ip(req->db, req->user_id, approve ? "seller.approve" : "seller.reject", "seller_application", id,
                       detail, req->ip);
  free(detail);
  if (rc < 0) goto dberr;
  /* read back before the commit: after it, a failed read would answer 5xx for a decision taken */
  json_t *item = NULL;
  if ((rc = load(req, req->db, id, &item))) { db_rollback(req->db); return rc; }
  if ((rc = db_commit(req->db)) < 0) { json_decref(item); goto dberr; }
  return vz_reply_item(req, 200, item);
dberr:
  db_rollback(req->db);
  return vz_fail_db(req, rc);
}

int users_h_seller_approve(vz_req *req) { return review(req, 1); }
int users_h_seller_reject(vz_req *req) { return review(req, 0); }
