/* products.c: a seller's products: create (with variants, images, shipping profile),
 * change, variants and their stock, and the review flow
 *
 *   draft --submit--> pending --approve--> active
 *     ^                  \--reject--> rejected --submit--> pending
 *   any but archived --archive--> archived (terminal: orders keep pointing at it)
 *
 * with submit going straight to active when --products-auto-approve says so (all, or
 * trusted sellers). Every status change is one conditional UPDATE on the status it
 * leaves, so two reviewers (or a review and an archive) cannot both win. Another seller's
 * product answers 404 like a missing one: ids are not an oracle. The stock functions of
 * products.h are here too: one conditional UPDATE each, inside the caller's transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "db/db.h"
#include "services/media/media.h"
#include "services/products/internal.h"
#include "services/products/products.h"

int prod_currency_ok(const char *c) {
  return c && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' &&
         c[2] <= 'Z';
}

static int64_t id_of(json_t *v) {
  int64_t id = 0;
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_string(v) && vz_parse_id(json_string_value(v), &id) == 0) return id;
  return 0;
}

/* ---- reading a product -------------------------------------------------------------- */

static const vz_col product_cols[] = {
  { "p.id", "id", VZ_COL_ID }, { "p.seller_id", "seller_id", VZ_COL_ID }, { "p.title", "title", VZ_COL_TEXT },
  { "p.description", "description", VZ_COL_TEXT }, { "p.category_id", "category_id", VZ_COL_ID | VZ_COL_NULL },
  { "p.tags", "tags", VZ_COL_RAW }, { "p.currency", "currency", VZ_COL_TEXT }, { "p.price", "price", VZ_COL_INT },
  { "p.compare_at_price", "compare_at_price", VZ_COL_INT | VZ_COL_NULL }, { "p.ship_flat", "ship_flat", VZ_COL_RAW },
  { "p.ship_extra", "ship_extra", VZ_COL_RAW }, { "p.status", "status", VZ_COL_TEXT },
  { "p.review_note", "review_note", VZ_COL_TEXT | VZ_COL_NULL }, { "p.in_stock", "in_stock", VZ_COL_BOOL },
  { "p.sold_count", "sold_count", VZ_COL_INT }, { "p.created_at", "created_at", VZ_COL_TIME },
  { "p.updated_at", "updated_at", VZ_COL_TIME }, { 0 },
};

/* The product as JSON with its images and variants; DB_DONE when it is not visible to the
 * caller: another seller's product that is not active is as good as absent (404). */
static int product_json(vz_req *req, vz_db *db, int64_t id, int owner_only, json_t **out) {
  vz_stmt *st = NULL;
  *out = NULL;
  const char *sql = vz_arena_printf(req->arena, "SELECT %s FROM products p WHERE p.id = $1",
                                    vz_cols_select(req->arena, product_cols));
  if (!sql) return DB_ERROR;
  int rc = db_run(db, &st, sql, "i", id);
  if (rc != DB_ROW) { db_finalize(st); return rc; }
  int64_t seller = db_col_int(st, 1);
  const char *status = db_col_text(st, 11);
  int staff = req->role == VZ_R_ADMIN || req->role == VZ_R_MODERATOR;
  int visible = seller == req->user_id || (!owner_only && (staff || strcmp(status, "active") == 0));
  if (!visible) { db_finalize(st); return DB_DONE; }
  json_t *o = vz_cols_row(st, product_cols);
  int bad = !o;
  if (o) {
    json_t *tags = json_loads(db_col_text(st, 5), 0, NULL);
    bad |= jset(o, "tags", tags ? tags : json_array());
    bad |= jset(o, "shipping", json_pack("{s:I,s:I}", "flat", (json_int_t)db_col_int(st, 9), "per_extra",
                                         (json_int_t)db_col_int(st, 10)));
  }
  db_finalize(st);
  json_t *imgs = NULL, *vars = json_array();
  int64_t mids[16];
  int nm = 0;
  rc = db_run(db, &st, "SELECT media_id FROM product_images WHERE product_id = $1 ORDER BY position", "i", id);
  while (rc == DB_ROW && nm < 16) {
    vz_parse_id(db_col_text(st, 0), &mids[nm++]);
    rc = db_step(st);
  }
  db_finalize(st);
  /* the media service's objects: status, size and the variants' URLs (null: gone) */
  if (rc >= 0) imgs = nm ? media_json_many(db, mids, nm) : json_array();
  if (rc >= 0) rc = db_run(db, &st, "SELECT id, sku, title, price, stock FROM product_variants WHERE product_id = $1"
                           " ORDER BY position, id", "i", id);
  while (rc == DB_ROW) {
    bad |= jpush(vars, json_pack("{s:o,s:s,s:s,s:I,s:I}", "id", vz_json_id(db_col_int(st, 0)), "sku", db_col_text(st, 1),
                                 "title", db_col_text(st, 2), "price", (json_int_t)db_col_int(st, 3), "stock",
                                 (json_int_t)db_col_int(st, 4)));
    rc = db_step(st);
  }
  db_finalize(st);
  if (o) bad |= jset(o, "images", imgs) | jset(o, "variants", vars);
  else json_decref(imgs), json_decref(vars);
  if (rc < 0 || bad) { json_decref(o); return rc < 0 ? rc : DB_ERROR; }
  *out = o;
  return DB_ROW;
}

/* Replies with the product (status) or 404; DB_EABORT-friendly: returns <0 after a failure. */
static int reply_product(vz_req *req, vz_db *db, int64_t id, int status) {
  json_t *o;
  int rc = product_json(req, db, id, 0, &o);
  if (rc < 0) return vz_fail_db(req, rc), -1;
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such product"), -1;
  vz_reply_item(req, status, o);
  return 0;
}

/* The seller of a product the caller owns (or any, for staff): 0, or replied 404. */
static int owned_or_fail(vz_req *req, vz_db *db, int64_t id, int staff_too, char status[12]) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT seller_id, status FROM products WHERE id = $1", "i", id);
  int ok = rc == DB_ROW && (db_col_int(st, 0) == req->user_id || (staff_too && req->role == VZ_R_ADMIN));
  if (ok && status) snprintf(status, 12, "%s", db_col_text(st, 1));
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc), -1;
  if (!ok) return vz_fail(req, 404, "not_found", "id", "no such product"), -1;
  return 0;
}

/* ---- derived columns ------------------------------------------------------------------ */

/* products.price = the lowest variant price; in_stock = any variant has stock. */
static int refresh_derived(vz_db *db, int64_t product_id) {
  return db_run(db, NULL,
                "UPDATE products SET price = coalesce((SELECT min(price) FROM product_variants WHERE product_id = $1), 0),"
                " in_stock = CASE WHEN EXISTS (SELECT 1 FROM product_variants WHERE product_id = $1 AND stock > 0)"
                " THEN 1 ELSE 0 END WHERE id = $1",
                "i", product_id);
}

/* in_stock only, and only when it flips: checkouts take stock from one hot row; touching
 * the product row on every sale would add a second one. */
static int refresh_in_stock(vz_db *db, int64_t product_id) {
  return db_run(db, NULL,
                "UPDATE products SET in_stock = 1 - in_stock WHERE id = $1 AND in_stock <>"
                " CASE WHEN EXISTS (SELECT 1 FROM product_variants WHERE product_id = $1 AND stock > 0) THEN 1 ELSE 0 END",
                "i", product_id);
}

/* ---- create / update ---------------------------------------------------------------- */

typedef struct prod_write {
  vz_req *req;
  int64_t id;
  int create;
} prod_write;

/* The product's pictures, in order: upload ids the seller made for product_image. New ones
 * are claimed (media.h: owner, purpose and state checked) and dropped ones released, all
 * in the write's transaction, so a rollback leaves every upload as it was. 0, DB_EABORT
 * after a 400/409 naming images[i], or a db.h code. */
static int write_images(vz_req *req, vz_db *db, int64_t id, json_t *imgs) {
  int64_t old[16], now[16];
  int nold = 0, n = 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT media_id FROM product_images WHERE product_id = $1", "i", id);
  while (rc == DB_ROW && nold < 16) {
    vz_parse_id(db_col_text(st, 0), &old[nold++]);
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) return rc;
  size_t i;
  json_t *m;
  json_array_foreach(imgs, i, m) {
    if (n == 16) break;
    now[n] = id_of(m);
    for (int k = 0; k < n; k++)
      if (now[k] == now[n])
        return vz_fail(req, 400, "invalid_argument", vz_arena_printf(req->arena, "images[%zu]", i), "an image appears once"),
               DB_EABORT;
    int had = 0;
    for (int k = 0; k < nold; k++) had |= old[k] == now[n];
    if (!had) {
      char ref[40];
      snprintf(ref, sizeof ref, "product:%lld", (long long)id);
      rc = media_claim(db, now[n], req->user_id, MEDIA_PRODUCT_IMAGE, ref, NULL);
      if (rc <= MEDIA_EINVAL) return media_fail(req, rc, vz_arena_printf(req->arena, "images[%zu]", i)), DB_EABORT;
      if (rc < 0) return rc;
    }
    n++;
  }
  for (int k = 0; k < nold; k++) {
    int kept = 0;
    for (int j = 0; j < n; j++) kept |= old[k] == now[j];
    if (!kept && (rc = media_release(db, old[k])) < 0) return rc;
  }
  if ((rc = db_run(db, NULL, "DELETE FROM product_images WHERE product_id = $1", "i", id)) < 0) return rc;
  for (int j = 0; j < n; j++) {
    char mid[24]; /* ids arrive as strings or numbers: stored as the decimal string */
    snprintf(mid, sizeof mid, "%lld", (long long)now[j]);
    rc = db_run(db, NULL, "INSERT INTO product_images (product_id, position, media_id) VALUES ($1, $2, $3)", "iis", id,
                (int64_t)j, mid);
    if (rc < 0) return rc;
  }
  return 0;
}

static int insert_variant(vz_db *db, int64_t pid, json_t *v, int64_t pos, int64_t now) {
  return db_run(db, NULL,
                "INSERT INTO product_variants (id, product_id, sku, title, price, stock, position, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                "iissiiii", db_id_new(), pid, json_string_value(json_object_get(v, "sku")),
                json_string_value(json_object_get(v, "title")) ? json_string_value(json_object_get(v, "title")) : "",
                (int64_t)json_integer_value(json_object_get(v, "price")),
                (int64_t)json_integer_value(json_object_get(v, "stock")), pos, now);
}

/* Is the seller's submission approved without review? 1, 0 or <0. */
static int auto_approved(vz_db *db, int64_t seller) {
  if (!strcmp(products_auto_approve, "all")) return 1;
  if (strcmp(products_auto_approve, "trusted")) return 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT 1 FROM product_trusted_sellers WHERE seller_id = $1", "i", seller);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

/* draft|rejected -> pending (or active). 1 moved, 0 not in a state that may be submitted. */
static int submit(vz_db *db, int64_t id, int64_t seller) {
  int a = auto_approved(db, seller);
  if (a < 0) return a;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE products SET status = $2, review_note = NULL, updated_at = $3"
                  " WHERE id = $1 AND status IN ('draft', 'rejected')", "isi", id, a ? "active" : "pending", db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  return rc < 0 ? rc : n;
}

static int check_input_or_fail(vz_req *req, json_t *in) {
  const char *cur = json_string_value(json_object_get(in, "currency"));
  if (cur && !prod_currency_ok(cur))
    return vz_fail(req, 400, "invalid_argument", "currency", "currency must be an ISO 4217 code such as USD");
  json_t *vars = json_object_get(in, "variants");
  size_t i, j;
  json_t *v, *w;
  json_array_foreach(vars, i, v) json_array_foreach(vars, j, w) if (j > i && !strcmp(json_string_value(json_object_get(v, "sku")),
                                                                                  json_string_value(json_object_get(w, "sku"))))
    return vz_fail(req, 400, "invalid_argument", "variants", "variant SKUs must differ within a product");
  json_t *cmp = json_object_get(in, "compare_at_price");
  json_array_foreach(vars, i, v) if (json_is_integer(cmp) && json_integer_value(cmp) < json_integer_value(json_object_get(v, "price")))
    return vz_fail(req, 400, "invalid_argument", "compare_at_price", "compare_at_price must not be below a variant's price");
  return 0;
}

static int category_or_fail(vz_req *req, vz_db *db, json_t *in) {
  json_t *c = json_object_get(in, "category_id");
  if (!c || json_is_null(c)) return 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT kind FROM categories WHERE id = $1", "i", id_of(c));
  int ok = rc == DB_ROW && strcmp(db_col_text(st, 0), "stream") != 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc), -1;
  if (!ok) return vz_fail(req, 400, "invalid_argument", "category_id", "no such product category"), -1;
  return 0;
}

static int write_tx(vz_db *db, void *ctx) {
  prod_write *w = ctx;
  vz_req *req = w->req;
  json_t *in = req->json;
  int64_t now = db_now_ms();
  char status[12] = "";
  if (!w->create && owned_or_fail(req, db, w->id, 0, status)) return DB_EABORT;
  if (!w->create && !strcmp(status, "archived"))
    return vz_fail(req, 409, "invalid_state", "status", "an archived product cannot change"), DB_EABORT;
  if (category_or_fail(req, db, in)) return DB_EABORT;
  json_t *tags = json_object_get(in, "tags"), *ship = json_object_get(in, "shipping");
  char *tags_s = tags ? json_dumps(tags, JSON_COMPACT) : NULL;
  json_t *cat = json_object_get(in, "category_id"), *cmp = json_object_get(in, "compare_at_price");
  int rc;
  if (w->create) {
    rc = db_run(db, NULL,
                "INSERT INTO products (id, seller_id, title, description, category_id, tags, currency, price,"
                " compare_at_price, ship_flat, ship_extra, status, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, 'draft', $11, $11)",
                "iissssssiii", w->id, req->user_id, json_string_value(json_object_get(in, "title")),
                json_string_value(json_object_get(in, "description")) ? json_string_value(json_object_get(in, "description")) : "",
                cat && !json_is_null(cat) ? vz_arena_printf(req->arena, "%lld", (long long)id_of(cat)) : NULL,
                tags_s ? tags_s : "[]", json_string_value(json_object_get(in, "currency")),
                json_is_integer(cmp) ? vz_arena_printf(req->arena, "%lld", (long long)json_integer_value(cmp)) : NULL,
                (int64_t)json_integer_value(json_object_get(ship, "flat")),
                (int64_t)json_integer_value(json_object_get(ship, "per_extra")), now);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(in, "variants"), i, v) if (rc >= 0) rc = insert_variant(db, w->id, v, (int64_t)i, now);
  } else {
    /* each column changes only when its field was sent; null clears the nullable ones */
    rc = db_run(db, NULL,
                "UPDATE products SET title = coalesce($2, title), description = coalesce($3, description),"
                " category_id = CASE WHEN $4 = 1 THEN CAST($5 AS BIGINT) ELSE category_id END,"
                " tags = coalesce($6, tags),"
                " compare_at_price = CASE WHEN $7 = 1 THEN CAST($8 AS BIGINT) ELSE compare_at_price END,"
                " ship_flat = CASE WHEN $9 = 1 THEN CAST($10 AS BIGINT) ELSE ship_flat END,"
                " ship_extra = CASE WHEN $9 = 1 THEN CAST($11 AS BIGINT) ELSE ship_extra END, updated_at = $12"
                " WHERE id = $1",
                "ississisiiii", w->id, json_string_value(json_object_get(in, "title")),
                json_string_value(json_object_get(in, "description")), (int64_t)(cat != NULL),
                cat && !json_is_null(cat) ? vz_arena_printf(req->arena, "%lld", (long long)id_of(cat)) : NULL, tags_s,
                (int64_t)(cmp != NULL),
                json_is_integer(cmp) ? vz_arena_printf(req->arena, "%lld", (long long)json_integer_value(cmp)) : NULL,
                (int64_t)(ship != NULL), (int64_t)json_integer_value(json_object_get(ship, "flat")),
                (int64_t)json_integer_value(json_object_get(ship, "per_extra")), now);
  }
  free(tags_s);
  json_t *imgs = json_object_get(in, "images");
  if (rc >= 0 && imgs && (rc = write_images(req, db, w->id, imgs)) == DB_EABORT) return DB_EABORT;
  if (rc >= 0) rc = refresh_derived(db, w->id);
  if (rc >= 0 && w->create && json_is_true(json_object_get(in, "submit"))) rc = submit(db, w->id, req->user_id);
  if (rc == DB_ECONSTRAINT)
    return vz_fail(req, 409, "conflict", "variants", "a variant SKU is already used in this product"), DB_EABORT;
  if (rc < 0) return rc;
  return reply_product(req, db, w->id, w->create ? 201 : 200) < 0 ? DB_EABORT : 0;
}

int prod_h_create(vz_req *req) {
  if (check_input_or_fail(req, req->json)) return req->status;
  prod_write w = { req, db_id_new(), 1 };
  vz_tx_or_fail(req, write_tx, &w);
  return req->status;
}

int prod_h_update(vz_req *req) {
  prod_write w = { req, 0, 0 };
  if (vz_req_param_id_or_fail(req, "id", &w.id) || check_input_or_fail(req, req->json)) return req->status;
  vz_tx_or_fail(req, write_tx, &w);
  return req->status;
}

int prod_h_show(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  reply_product(req, req->db_read, id, 200);
  return req->status;
}

/* ---- status changes -------------------------------------------------------------------- */

typedef struct prod_move {
  vz_req *req;
  int64_t id;
  const char *to, *from_set; /* SQL list of the states it may leave */
  int staff;
} prod_move;

static int move_tx(vz_db *db, void *ctx) {
  prod_move *m = ctx;
  vz_req *req = m->req;
  char status[12];
  if (!m->staff && owned_or_fail(req, db, m->id, 1, status)) return DB_EABORT;
  if (m->staff) {
    vz_stmt *st = NULL;
    int rc = db_run(db, &st, "SELECT status FROM products WHERE id = $1", "i", m->id);
    db_finalize(st);
    if (rc < 0) return rc;
    if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such product"), DB_EABORT;
  }
  int rc, n;
  if (!strcmp(m->to, "submit")) {
    vz_stmt *st = NULL;
    int64_t seller = 0;
    rc = db_run(db, &st, "SELECT seller_id FROM products WHERE id = $1", "i", m->id);
    if (rc == DB_ROW) seller = db_col_int(st, 0);
    db_finalize(st);
    if (rc < 0) return rc;
    if ((n = submit(db, m->id, seller)) < 0) return n;
  } else {
    vz_stmt *st = NULL;
    const char *note = json_string_value(json_object_get(req->json, "reason"));
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE products SET status = $2, review_note = $3, updated_at = $4"
             " WHERE id = $1 AND status IN (%s)", m->from_set);
    rc = db_run(db, &st, sql, "issi", m->id, m->to, note, db_now_ms());
    n = rc >= 0 ? db_changes(st) : 0;
    db_finalize(st);
    if (rc < 0) return rc;
  }
  if (!n) return vz_fail(req, 409, "invalid_state", "status", "the product's status does not allow this"), DB_EABORT;
  return reply_product(req, db, m->id, 200) < 0 ? DB_EABORT : 0;
}

static int move(vz_req *req, const char *to, const char *from_set, int staff) {
  prod_move m = { req, 0, to, from_set, staff };
  if (vz_req_param_id_or_fail(req, "id", &m.id)) return req->status;
  vz_tx_or_fail(req, move_tx, &m);
  return req->status;
}

int prod_h_submit(vz_req *req) { return move(req, "submit", NULL, 0); }
int prod_h_archive(vz_req *req) { return move(req, "archived", "'draft', 'pending', 'active', 'rejected'", 0); }
int prod_h_approve(vz_req *req) { return move(req, "active", "'pending'", 1); }
int prod_h_reject(vz_req *req) { return move(req, "rejected", "'pending'", 1); }

/* ---- variants -------------------------------------------------------------------------- */

typedef struct var_write {
  vz_req *req;
  int64_t pid, vid;
} var_write;

static int variant_add_tx(vz_db *db, void *ctx) {
  var_write *w = ctx;
  char status[12];
  if (owned_or_fail(w->req, db, w->pid, 0, status)) return DB_EABORT;
  if (!strcmp(status, "archived"))
    return vz_fail(w->req, 409, "invalid_state", "status", "an archived product cannot change"), DB_EABORT;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT count(*), coalesce(max(position), 0) FROM product_variants WHERE product_id = $1", "i", w->pid);
  int64_t count = rc == DB_ROW ? db_col_int(st, 0) : 0, pos = rc == DB_ROW ? db_col_int(st, 1) + 1 : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (count >= 50) return vz_fail(w->req, 409, "limit_reached", "variants", "a product has at most 50 variants"), DB_EABORT;
  rc = insert_variant(db, w->pid, w->req->json, pos, db_now_ms());
  if (rc == DB_ECONSTRAINT) return vz_fail(w->req, 409, "conflict", "sku", "that SKU is already used in this product"), DB_EABORT;
  if (rc < 0 || (rc = refresh_derived(db, w->pid)) < 0) return rc;
  return reply_product(w->req, db, w->pid, 201) < 0 ? DB_EABORT : 0;
}

int prod_h_variant_add(vz_req *req) {
  var_write w = { req, 0, 0 };
  if (vz_req_param_id_or_fail(req, "id", &w.pid)) return req->status;
  vz_tx_or_fail(req, variant_add_tx, &w);
  return req->status;
}

/* stock sets the count on the shelf; stock_adjust adds to it (negative: removes, never
 * below zero: the same conditional update as a checkout). */
static int variant_update_tx(vz_db *db, void *ctx) {
  var_write *w = ctx;
  vz_req *req = w->req;
  char status[12];
  if (owned_or_fail(req, db, w->pid, 0, status)) return DB_EABORT;
  json_t *in = req->json, *stock = json_object_get(in, "stock"), *adj = json_object_get(in, "stock_adjust");
  if (stock && adj) return vz_fail(req, 400, "invalid_argument", "stock_adjust", "send stock or stock_adjust, not both"), DB_EABORT;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE product_variants SET title = coalesce($3, title), price = coalesce(CAST($4 AS BIGINT), price),"
                  " stock = CASE WHEN $5 = 1 THEN CAST($6 AS BIGINT) ELSE stock + CAST($7 AS BIGINT) END"
                  " WHERE id = $1 AND product_id = $2 AND stock + CAST($7 AS BIGINT) >= 0",
                  "iissiii" , w->vid, w->pid, json_string_value(json_object_get(in, "title")),
                  json_object_get(in, "price") ? vz_arena_printf(req->arena, "%lld", (long long)json_integer_value(json_object_get(in, "price"))) : NULL,
                  (int64_t)(stock != NULL), (int64_t)json_integer_value(stock), (int64_t)json_integer_value(adj));
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) {
    rc = db_run(db, &st, "SELECT 1 FROM product_variants WHERE id = $1 AND product_id = $2", "ii", w->vid, w->pid);
    db_finalize(st);
    if (rc < 0) return rc;
    if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "variant_id", "no such variant"), DB_EABORT;
    return vz_fail(req, 409, "out_of_stock", "stock_adjust", "stock cannot go below zero"), DB_EABORT;
  }
  if ((rc = refresh_derived(db, w->pid)) < 0) return rc;
  return reply_product(req, db, w->pid, 200) < 0 ? DB_EABORT : 0;
}

int prod_h_variant_update(vz_req *req) {
  var_write w = { req, 0, 0 };
  if (vz_req_param_id_or_fail(req, "id", &w.pid) || vz_req_param_id_or_fail(req, "variant_id", &w.vid)) return req->status;
  vz_tx_or_fail(req, variant_update_tx, &w);
  return req->status;
}

/* ---- trusted sellers ---------------------------------------------------------------- */

int prod_h_trust(vz_req *req) {
  int64_t uid;
  if (vz_req_param_id_or_fail(req, "user_id", &uid)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT role FROM users WHERE id = $1 AND deleted_at IS NULL", "i", uid);
  int seller = rc == DB_ROW && !strcmp(db_col_text(st, 0), "seller");
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!seller) return vz_fail(req, 404, "not_found", "user_id", "no such seller");
  rc = db_run(req->db, NULL, "INSERT INTO product_trusted_sellers (seller_id, granted_by, created_at) VALUES ($1, $2, $3)"
              " ON CONFLICT (seller_id) DO NOTHING", "iii", uid, req->user_id, db_now_ms());
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_json(req, 200, json_pack("{s:{s:o,s:b}}", "data", "seller_id", vz_json_id(uid), "trusted", 1));
}

int prod_h_untrust(vz_req *req) {
  int64_t uid;
  if (vz_req_param_id_or_fail(req, "user_id", &uid)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "DELETE FROM product_trusted_sellers WHERE seller_id = $1", "i", uid);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!n) return vz_fail(req, 404, "not_found", "user_id", "that seller is not trusted");
  return vz_reply_empty(req, 204);
}

/* ---- products.h ------------------------------------------------------------------------ */

int products_variant_get(vz_db *db, int64_t variant_id, products_variant *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "SELECT v.id, v.product_id, p.seller_id, v.price, v.stock, p.ship_flat, p.ship_extra, p.currency,"
                  " p.status, p.title, v.title, v.sku FROM product_variants v JOIN products p ON p.id = v.product_id"
                  " WHERE v.id = $1", "i", variant_id);
  if (rc == DB_ROW) {
    memset(out, 0, sizeof *out);
    out->variant_id = db_col_int(st, 0);
    out->product_id = db_col_int(st, 1);
    out->seller_id = db_col_int(st, 2);
    out->price = db_col_int(st, 3);
    out->stock = db_col_int(st, 4);
    out->ship_flat = db_col_int(st, 5);
    out->ship_extra = db_col_int(st, 6);
    snprintf(out->currency, sizeof out->currency, "%s", db_col_text(st, 7));
    snprintf(out->status, sizeof out->status, "%s", db_col_text(st, 8));
    const char *vt = db_col_text(st, 10);
    snprintf(out->title, sizeof out->title, "%.200s%s%.50s", db_col_text(st, 9), *vt ? " - " : "", vt);
    snprintf(out->sku, sizeof out->sku, "%s", db_col_text(st, 11));
  }
  db_finalize(st);
  return rc;
}

int products_stock_take(vz_db *db, int64_t variant_id, int64_t qty) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE product_variants SET stock = stock - $2 WHERE id = $1 AND stock >= $2"
                  " RETURNING product_id, stock", "ii", variant_id, qty);
  int64_t pid = rc == DB_ROW ? db_col_int(st, 0) : 0, left = rc == DB_ROW ? db_col_int(st, 1) : 1;
  db_finalize(st);
  if (rc < 0) return rc;
  if (rc != DB_ROW) return 0;
  if (left == 0 && (rc = refresh_in_stock(db, pid)) < 0) return rc;
  return 1;
}

int products_stock_return(vz_db *db, int64_t variant_id, int64_t qty) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE product_variants SET stock = stock + $2 WHERE id = $1 RETURNING product_id", "ii",
                  variant_id, qty);
  int64_t pid = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  return pid ? refresh_in_stock(db, pid) < 0 ? DB_ERROR : 0 : 0;
}

int products_sold(vz_db *db, int64_t product_id, int64_t qty) {
  int rc = db_run(db, NULL, "UPDATE products SET sold_count = sold_count + $2 WHERE id = $1", "ii", product_id, qty);
  return rc < 0 ? rc : 0;
}
