/* cart.c: the buyer's cart (one per account, in the database, so it survives sign-out and
 * follows the buyer to another device) and shipping addresses. The cart holds variant
 * ids and quantities only; prices and stock are read at checkout, never trusted from it. */
#include <stdio.h>
#include <string.h>

#include "core/list.h"
#include "services/products/internal.h"
#include "services/products/products.h"

#define CART_MAX_LINES 100

static int reply_cart(vz_req *req, vz_db *db) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "SELECT c.variant_id, c.quantity, v.product_id, p.title, v.title, v.sku, v.price, p.currency,"
                  " v.stock, p.status, p.seller_id FROM cart_items c JOIN product_variants v ON v.id = c.variant_id"
                  " JOIN products p ON p.id = v.product_id WHERE c.user_id = $1 ORDER BY c.added_at, c.variant_id",
                  "i", req->user_id);
  json_t *items = json_array();
  int bad = 0;
  while (rc == DB_ROW) {
    bad |= jpush(items, json_pack("{s:o,s:I,s:o,s:s,s:s,s:s,s:I,s:s,s:b,s:b,s:o}", "variant_id",
                                           vz_json_id(db_col_int(st, 0)), "quantity", (json_int_t)db_col_int(st, 1),
                                           "product_id", vz_json_id(db_col_int(st, 2)), "title", db_col_text(st, 3),
                                           "variant_title", db_col_text(st, 4), "sku", db_col_text(st, 5), "price",
                                           (json_int_t)db_col_int(st, 6), "currency", db_col_text(st, 7), "in_stock",
                                           db_col_int(st, 8) >= db_col_int(st, 1), "available",
                                           !strcmp(db_col_text(st, 9), "active"), "seller_id",
                                           vz_json_id(db_col_int(st, 10))));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0 || bad) { json_decref(items); return rc < 0 ? vz_fail_db(req, rc) : vz_fail(req, 503, "unavailable", NULL, "server busy"); }
  return vz_reply_item(req, 200, json_pack("{s:o}", "items", items));
}

int cart_h_show(vz_req *req) { return reply_cart(req, req->db_read); }

typedef struct cart_put { vz_req *req; int64_t vid; } cart_put;

static int cart_put_tx(vz_db *db, void *ctx) {
  cart_put *c = ctx;
  vz_req *req = c->req;
  products_variant v;
  int rc = products_variant_get(db, c->vid, &v);
  if (rc < 0) return rc;
  if (rc != DB_ROW || strcmp(v.status, "active"))
    return vz_fail(req, 404, "not_found", "variant_id", "no such product variant"), DB_EABORT;
  if (v.seller_id == req->user_id)
    return vz_fail(req, 400, "own_product", "variant_id", "you cannot buy your own product"), DB_EABORT;
  vz_stmt *st = NULL;
  rc = db_run(db, &st, "SELECT count(*) FROM cart_items WHERE user_id = $1 AND variant_id <> $2", "ii", req->user_id, c->vid);
  int64_t n = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (n >= CART_MAX_LINES) return vz_fail(req, 409, "limit_reached", "variant_id", "a cart holds at most %d lines", CART_MAX_LINES), DB_EABORT;
  rc = db_run(db, NULL,
              "INSERT INTO cart_items (user_id, variant_id, quantity, added_at) VALUES ($1, $2, $3, $4)"
              " ON CONFLICT (user_id, variant_id) DO UPDATE SET quantity = excluded.quantity",
              "iiii", req->user_id, c->vid, (int64_t)json_integer_value(json_object_get(req->json, "quantity")), db_now_ms());
  if (rc < 0) return rc;
  return reply_cart(req, db) >= 400 ? DB_EABORT : 0;
}

int cart_h_put(vz_req *req) {
  cart_put c = { req, 0 };
  if (vz_req_param_id_or_fail(req, "variant_id", &c.vid)) return req->status;
  vz_tx_or_fail(req, cart_put_tx, &c);
  return req->status;
}

int cart_h_delete(vz_req *req) {
  int64_t vid;
  if (vz_req_param_id_or_fail(req, "variant_id", &vid)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "DELETE FROM cart_items WHERE user_id = $1 AND variant_id = $2", "ii", req->user_id, vid);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!n) return vz_fail(req, 404, "not_found", "variant_id", "that variant is not in your cart");
  return reply_cart(req, req->db);
}

int cart_h_clear(vz_req *req) {
  int rc = db_run(req->db, NULL, "DELETE FROM cart_items WHERE user_id = $1", "i", req->user_id);
  return rc < 0 ? vz_fail_db(req, rc) : vz_reply_empty(req, 204);
}

json_t *products_cart_lines(vz_db *db, int64_t user_id, int *rcp) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT variant_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY added_at, variant_id", "i", user_id);
  json_t *a = json_array();
  int bad = 0;
  while (rc == DB_ROW) {
    bad |= jpush(a, json_pack("{s:o,s:I}", "variant_id", vz_json_id(db_col_int(st, 0)), "quantity",
                                       (json_int_t)db_col_int(st, 1)));
    rc = db_step(st);
  }
  db_finalize(st);
  *rcp = rc < 0 ? rc : bad ? DB_ERROR : rc;
  if (rc < 0 || bad) { json_decref(a); return NULL; }
  return a;
}

int products_cart_remove(vz_db *db, int64_t user_id, int64_t variant_id) {
  int rc = db_run(db, NULL, "DELETE FROM cart_items WHERE user_id = $1 AND variant_id = $2", "ii", user_id, variant_id);
  return rc < 0 ? rc : 0;
}

/* ---- addresses ---------------------------------------------------------------------- */

static const vz_col addr_cols[] = {
  { "id", "id", VZ_COL_ID }, { "name", "name", VZ_COL_TEXT }, { "line1", "line1", VZ_COL_TEXT },
  { "line2", "line2", VZ_COL_TEXT }, { "city", "city", VZ_COL_TEXT }, { "region", "region", VZ_COL_TEXT },
  { "postal_code", "postal_code", VZ_COL_TEXT }, { "country", "country", VZ_COL_TEXT }, { "phone", "phone", VZ_COL_TEXT },
  { "created_at", "created_at", VZ_COL_TIME }, { 0 },
};

int products_address_json(vz_db *db, int64_t user_id, int64_t address_id, json_t **out) {
  char sql[320];
  *out = NULL;
  snprintf(sql, sizeof sql, "SELECT id, name, line1, line2, city, region, postal_code, country, phone, created_at"
           " FROM addresses WHERE id = $1 AND user_id = $2");
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, sql, "ii", address_id, user_id);
  if (rc == DB_ROW && !(*out = vz_cols_row(st, addr_cols))) rc = DB_ERROR;
  db_finalize(st);
  return rc;
}

int addr_h_list(vz_req *req) {
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, 0, 0)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT id, name, line1, line2, city, region, postal_code, country, phone, created_at FROM addresses"
                  " WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3", "iii", req->user_id, pg.id, (int64_t)pg.limit + 1);
  while (rc == DB_ROW && vz_page_take(&pg, 0, db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, addr_cols));
    rc = db_step(st);
  }
  db_finalize(st);
  return rc < 0 ? vz_fail_db(req, rc) : vz_page_reply(req, &pg);
}

static const char *s_of(vz_req *req, const char *k) {
  const char *s = json_string_value(json_object_get(req->json, k));
  return s ? s : "";
}

int addr_h_create(vz_req *req) {
  const char *country = s_of(req, "country");
  if (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z')
    return vz_fail(req, 400, "invalid_argument", "country", "country must be an ISO 3166-1 alpha-2 code such as DE");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT count(*) FROM addresses WHERE user_id = $1", "i", req->user_id);
  int64_t n = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (n >= 20) return vz_fail(req, 409, "limit_reached", NULL, "at most 20 addresses");
  int64_t id = db_id_new();
  rc = db_run(req->db, NULL,
              "INSERT INTO addresses (id, user_id, name, line1, line2, city, region, postal_code, country, phone, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
              "iissssssssi", id, req->user_id, s_of(req, "name"), s_of(req, "line1"), s_of(req, "line2"), s_of(req, "city"),
              s_of(req, "region"), s_of(req, "postal_code"), country, s_of(req, "phone"), db_now_ms());
  if (rc < 0) return vz_fail_db(req, rc);
  json_t *o;
  rc = products_address_json(req->db, req->user_id, id, &o);
  if (rc != DB_ROW) return vz_fail_db(req, rc < 0 ? rc : DB_ERROR);
  return vz_reply_item(req, 201, o);
}

int addr_h_delete(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "DELETE FROM addresses WHERE id = $1 AND user_id = $2", "ii", id, req->user_id);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!n) return vz_fail(req, 404, "not_found", "id", "no such address");
  return vz_reply_empty(req, 204);
}
