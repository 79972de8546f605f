/* orders.c: checkout, order transitions and the three views.
 *
 * Checkout (POST /v1/orders, Idempotency-Key required) runs in the request transaction
 * the dispatcher opens for VZ_IDEMPOTENT routes, so the stored answer, the orders, their
 * items and the stock taken commit together or not at all: the same key and body replay
 * the same orders, another body under the key is 422 (core/idempotency.h). Stock is taken
 * with one conditional UPDATE per line (products_stock_take: stock >= qty), so under any
 * concurrency, on SQLite (one writer) or PostgreSQL (the row lock; the WHERE is re-checked
 * on the newest row version under READ COMMITTED), stock never goes below zero; a line
 * that finds too little answers 409 out_of_stock and the whole checkout rolls back.
 * A checkout makes one order per seller; every line must be in one currency.
 *
 * An unpaid order holds its stock until hold_until (--order-hold-seconds, 15 minutes by
 * default): a job enqueued with the checkout cancels what is still unpaid then and gives
 * the stock back. Every status change is one conditional UPDATE on the status it leaves,
 * checked against state.c's table, and writes an order_history row and an event job
 * ("orders.events") for notifications. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/log.h"
#include "core/service.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "services/orders/orders.h"
#include "services/payments/payments.h"
#include "services/products/products.h"

static int hold_seconds = 900;
static int max_quantity = 100;

#define MAX_LINES 50

/* jansson goes on after a failed allocation, dropping the key or item (testing.md): these
 * say so, 1 on failure (the value is released either way). */
static inline int jset(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v) ? 1 : 0; }
static inline int jpush(json_t *a, json_t *v) { return json_array_append_new(a, v) ? 1 : 0; }

/* ---- reading ---------------------------------------------------------------------------- */

static const vz_col order_cols[] = {
  { "o.id", "id", VZ_COL_ID }, { "o.checkout_id", "checkout_id", VZ_COL_ID }, { "o.buyer_id", "buyer_id", VZ_COL_ID },
  { "o.seller_id", "seller_id", VZ_COL_ID }, { "o.status", "status", VZ_COL_TEXT }, { "o.currency", "currency", VZ_COL_TEXT },
  { "o.subtotal", "subtotal", VZ_COL_INT }, { "o.shipping", "shipping", VZ_COL_INT }, { "o.total", "total", VZ_COL_INT },
  { "o.refunded", "refunded", VZ_COL_INT }, { "o.address", "address", VZ_COL_RAW },
  { "o.carrier", "carrier", VZ_COL_TEXT | VZ_COL_NULL }, { "o.tracking_number", "tracking_number", VZ_COL_TEXT | VZ_COL_NULL },
  { "o.refund_reason", "refund_reason", VZ_COL_TEXT | VZ_COL_NULL }, { "o.hold_until", "hold_until", VZ_COL_TIME },
  { "o.paid_at", "paid_at", VZ_COL_TIME | VZ_COL_NULL }, { "o.created_at", "created_at", VZ_COL_TIME },
  { "o.updated_at", "updated_at", VZ_COL_TIME }, { 0 },
};
enum { OC_ADDRESS = 10 };

/* The order as JSON (items, and history when asked), or DB_DONE when the caller may not
 * see it: buyer, seller and staff only; anyone else gets the same 404 as a missing id. */
static int order_json(vz_req *req, vz_db *db, int64_t id, int history, json_t **out) {
  *out = NULL;
  const char *sql = vz_arena_printf(req->arena, "SELECT %s FROM orders o WHERE o.id = $1", vz_cols_select(req->arena, order_cols));
  if (!sql) return DB_ERROR;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, sql, "i", id);
  if (rc != DB_ROW) { db_finalize(st); return rc; }
  int staff = req->role == VZ_R_ADMIN;
  if (!staff && db_col_int(st, 2) != req->user_id && db_col_int(st, 3) != req->user_id) { db_finalize(st); return DB_DONE; }
  json_t *o = vz_cols_row(st, order_cols);
  int bad = !o;
  if (o) {
    json_t *a = json_loads(db_col_text(st, OC_ADDRESS), 0, NULL);
    bad |= jset(o, "address", a ? a : json_null());
  }
  db_finalize(st);
  if (bad) { json_decref(o); return DB_ERROR; }
  json_t *items = json_array(), *h = history ? json_array() : NULL;
  rc = db_run(db, &st, "SELECT variant_id, product_id, title, sku, unit_price, quantity FROM order_items WHERE order_id = $1"
              " ORDER BY variant_id", "i", id);
  while (rc == DB_ROW) {
    bad |= jpush(items, json_pack("{s:o,s:o,s:s,s:s,s:I,s:I}", "variant_id", vz_json_id(db_col_int(st, 0)), "product_id",
                                  vz_json_id(db_col_int(st, 1)), "title", db_col_text(st, 2), "sku", db_col_text(st, 3),
                                  "unit_price", (json_int_t)db_col_int(st, 4), "quantity", (json_int_t)db_col_int(st, 5)));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc >= 0 && history) {
    rc = db_run(db, &st, "SELECT from_status, to_status, actor_id, note, created_at FROM order_history WHERE order_id = $1"
                " ORDER BY id", "i", id);
    while (rc == DB_ROW) {
      bad |= jpush(h, json_pack("{s:s,s:s,s:o,s:o,s:o}", "from", db_col_text(st, 0), "to", db_col_text(st, 1), "actor_id",
                                db_col_int(st, 2) ? vz_json_id(db_col_int(st, 2)) : json_null(), "note",
                                db_col_is_null(st, 3) ? json_null() : json_string(db_col_text(st, 3)), "at",
                                vz_json_time(db_col_int(st, 4))));
      rc = db_step(st);
    }
    db_finalize(st);
  }
  bad |= jset(o, "items", items);
  if (history) bad |= jset(o, "history", h);
  if (rc < 0 || bad) { json_decref(o); return rc < 0 ? rc : DB_ERROR; }
  *out = o;
  return DB_ROW;
}

int orders_get(vz_db *db, int64_t order_id, orders_summary *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT id, checkout_id, buyer_id, seller_id, total, refunded, status, currency FROM orders"
                  " WHERE id = $1", "i", order_id);
  if (rc == DB_ROW) {
    out->id = db_col_int(st, 0);
    out->checkout_id = db_col_int(st, 1);
    out->buyer_id = db_col_int(st, 2);
    out->seller_id = db_col_int(st, 3);
    out->total = db_col_int(st, 4);
    out->refunded = db_col_int(st, 5);
    snprintf(out->status, sizeof out->status, "%s", db_col_text(st, 6));
    snprintf(out->currency, sizeof out->currency, "%s", db_col_text(st, 7));
  }
  db_finalize(st);
  return rc;
}

int orders_of_checkout(vz_db *db, int64_t checkout_id, int64_t buyer_id, orders_summary *out, int max, int *n) {
  vz_stmt *st = NULL;
  *n = 0;
  int rc = db_run(db, &st, "SELECT id FROM orders WHERE checkout_id = $1 AND (CAST($2 AS BIGINT) = 0 OR buyer_id = $2) ORDER BY id", "ii",
                  checkout_id, buyer_id);
  int64_t ids[MAX_LINES];
  int k = 0;
  while (rc == DB_ROW && k < max && k < MAX_LINES) {
    ids[k++] = db_col_int(st, 0);
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) return rc;
  for (int i = 0; i < k; i++)
    if ((rc = orders_get(db, ids[i], &out[i])) < 0) return rc;
  *n = k;
  return 0;
}

/* ---- transitions ------------------------------------------------------------------------ */

static int enqueue_event(vz_db *db, const char *event, int64_t order_id, const char *status) {
  char payload[160];
  snprintf(payload, sizeof payload, "{\"event\":\"%s\",\"order_id\":\"%lld\",\"status\":\"%s\"}", event, (long long)order_id,
           status);
  int rc = jobs_enqueue(db, "orders.events", payload, 0, NULL, NULL);
  return rc < 0 ? rc : 0;
}

/* Gives the order's stock back once (stock_held flips to 0 in the same statement). */
static int release_stock(vz_db *db, int64_t order_id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE orders SET stock_held = 0 WHERE id = $1 AND stock_held = 1", "i", order_id);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0 || !n) return rc < 0 ? rc : 0;
  rc = db_run(db, &st, "SELECT variant_id, quantity FROM order_items WHERE order_id = $1", "i", order_id);
  int64_t v[MAX_LINES][2];
  int k = 0;
  while (rc == DB_ROW && k < MAX_LINES) {
    v[k][0] = db_col_int(st, 0);
    v[k++][1] = db_col_int(st, 1);
    rc = db_step(st);
  }
  db_finalize(st);
  for (int i = 0; rc >= 0 && i < k; i++) rc = products_stock_return(db, v[i][0], v[i][1]);
  return rc < 0 ? rc : 0;
}

typedef struct ord_move {
  int64_t order_id, actor_id;
  int actor;          /* ORD_BY_* */
  int to;
  int64_t amount;     /* refunded: the amount; 0 = what is left */
  const char *carrier, *tracking, *note;
  /* out */
  const char *err_code, *err_field;
  char err[160];
  int err_status;
} ord_move;

/* One transition inside the caller's transaction: 1 done; 0 refused (m->err* say why);
 * <0 db.h. The actor was already matched to the order (buyer / seller / admin). */
static int move_order(vz_db *db, ord_move *m) {
  orders_summary o;
  int rc = orders_get(db, m->order_id, &o);
  if (rc < 0) return rc;
  if (rc != DB_ROW) {
    m->err_status = 404, m->err_code = "not_found", m->err_field = "id";
    snprintf(m->err, sizeof m->err, "no such order");
    return 0;
  }
  int from = orders_state_of(o.status);
  char refund_from[20] = "";
  if (from == ORD_REFUND_REQUESTED && m->to != ORD_REFUNDED) {
    vz_stmt *st = NULL;
    if ((rc = db_run(db, &st, "SELECT refund_from FROM orders WHERE id = $1", "i", m->order_id)) == DB_ROW)
      snprintf(refund_from, sizeof refund_from, "%s", db_col_is_null(st, 0) ? "" : db_col_text(st, 0));
    db_finalize(st);
    if (rc < 0) return rc;
  }
  int legal = orders_transition_allowed(from, m->to, m->actor);
  if (legal && from == ORD_REFUND_REQUESTED && m->to != ORD_REFUNDED && strcmp(refund_from, orders_state_name(m->to))) legal = 0;
  int64_t left = o.total - o.refunded;
  if (legal && m->to == ORD_REFUNDED && left <= 0) legal = 0;
  if (!legal) {
    m->err_status = 409, m->err_code = "invalid_transition", m->err_field = "status";
    snprintf(m->err, sizeof m->err, "an order that is %s cannot become %s", o.status, orders_state_name(m->to));
    return 0;
  }
  int64_t amount = 0;
  if (m->to == ORD_REFUNDED) {
    amount = m->amount ? m->amount : left;
    if (amount > left) {
      m->err_status = 400, m->err_code = "invalid_argument", m->err_field = "amount";
      snprintf(m->err, sizeof m->err, "at most %lld can still be refunded", (long long)left);
      return 0;
    }
  }
  if (from == ORD_PAID && m->to == ORD_CANCELLED) amount = left;
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  rc = db_run(db, &st,
              "UPDATE orders SET status = $3, updated_at = $4, refunded = refunded + $5,"
              " carrier = coalesce($6, carrier), tracking_number = coalesce($7, tracking_number),"
              " refund_reason = CASE WHEN $3 = 'refund_requested' THEN $8 ELSE refund_reason END,"
              " refund_from = CASE WHEN $3 = 'refund_requested' THEN $2 ELSE refund_from END,"
              " paid_at = CASE WHEN $3 = 'paid' AND paid_at IS NULL THEN $4 ELSE paid_at END"
              " WHERE id = $1 AND status = $2",
              "issiisss", m->order_id, o.status, orders_state_name(m->to), now, amount, m->carrier, m->tracking, m->note);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) return DB_EBUSY; /* changed under us (PostgreSQL, another transaction): run again */
  if (m->to == ORD_CANCELLED && (rc = release_stock(db, m->order_id)) < 0) return rc;
  if (m->to == ORD_PAID) {
    rc = db_run(db, &st, "SELECT product_id, quantity FROM order_items WHERE order_id = $1", "i", m->order_id);
    int64_t v[MAX_LINES][2];
    int k = 0;
    while (rc == DB_ROW && k < MAX_LINES) {
      v[k][0] = db_col_int(st, 0);
      v[k++][1] = db_col_int(st, 1);
      rc = db_step(st);
    }
    db_finalize(st);
    for (int i = 0; rc >= 0 && i < k; i++) rc = products_sold(db, v[i][0], v[i][1]);
    if (rc < 0) return rc;
  }
  if (amount > 0) {
    rc = payments_refund_start(db, m->order_id, amount, m->note);
    if (rc == PAYMENTS_ENOPAYMENT) {
      m->err_status = 409, m->err_code = "invalid_state", m->err_field = "status";
      snprintf(m->err, sizeof m->err, "the order's payment is not settled yet");
      return DB_EABORT;
    }
    if (rc < 0) return rc;
  }
  rc = db_run(db, NULL, "INSERT INTO order_history (id, order_id, from_status, to_status, actor_id, note, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7)", "iissisi", db_id_new(), m->order_id, o.status,
              orders_state_name(m->to), m->actor == ORD_BY_SYSTEM ? 0 : m->actor_id, m->note, now);
  if (rc < 0) return rc;
  return enqueue_event(db, "order.status", m->order_id, orders_state_name(m->to)) < 0 ? DB_ERROR : 1;
}

int orders_mark_paid(vz_db *db, int64_t order_id) {
  ord_move m = { .order_id = order_id, .actor = ORD_BY_SYSTEM, .to = ORD_PAID };
  int rc = move_order(db, &m);
  if (rc == 1) { /* a new purchase ranks at the seller's next chat message (top_buyers.c) */
    vz_stmt *st = NULL;
    int r = db_run(db, &st, "SELECT seller_id FROM orders WHERE id = $1", "i", order_id);
    if (r == DB_ROW) orders_top_buyers_forget(db_col_int(st, 0));
    db_finalize(st);
    if (r < 0) return r;
  }
  return rc == DB_EABORT ? 0 : rc;
}

/* ---- routes: transitions ----------------------------------------------------------------- */

typedef struct move_req { vz_req *req; ord_move m; } move_req;

static int move_tx(vz_db *db, void *ctx) {
  move_req *r = ctx;
  vz_req *req = r->req;
  ord_move *m = &r->m;
  orders_summary o;
  int rc = orders_get(db, m->order_id, &o);
  if (rc < 0) return rc;
  if (rc == DB_ROW && o.buyer_id == req->user_id) m->actor = ORD_BY_BUYER;
  else if (rc == DB_ROW && o.seller_id == req->user_id) m->actor = ORD_BY_SELLER;
  else if (rc == DB_ROW && req->role == VZ_R_ADMIN) m->actor = ORD_BY_ADMIN;
  else return vz_fail(req, 404, "not_found", "id", "no such order"), DB_EABORT;
  m->actor_id = req->user_id;
  rc = move_order(db, m);
  if (rc < 0 && rc != DB_EABORT) return rc;
  if (rc <= 0) return vz_fail(req, m->err_status, m->err_code, m->err_field, "%s", m->err), DB_EABORT;
  json_t *out;
  if ((rc = order_json(req, db, m->order_id, 1, &out)) < 0) return rc;
  vz_reply_item(req, 200, out);
  return 0;
}

static int move_route(vz_req *req, int to) {
  move_req r = { .req = req, .m = { .to = to } };
  if (vz_req_param_id_or_fail(req, "id", &r.m.order_id)) return req->status;
  json_t *in = req->json;
  r.m.carrier = json_string_value(json_object_get(in, "carrier"));
  r.m.tracking = json_string_value(json_object_get(in, "tracking_number"));
  r.m.note = json_string_value(json_object_get(in, "reason"));
  r.m.amount = json_integer_value(json_object_get(in, "amount"));
  vz_tx_or_fail(req, move_tx, &r);
  return req->status;
}

static int h_cancel(vz_req *req) { return move_route(req, ORD_CANCELLED); }
static int h_ship(vz_req *req) { return move_route(req, ORD_SHIPPED); }
static int h_deliver(vz_req *req) { return move_route(req, ORD_DELIVERED); }
static int h_refund_request(vz_req *req) { return move_route(req, ORD_REFUND_REQUESTED); }
static int h_refund(vz_req *req) { return move_route(req, ORD_REFUNDED); }

/* Declining a refund request returns the order to the state the request came from. */
static int h_refund_decline(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT refund_from FROM orders WHERE id = $1 AND status = 'refund_requested'", "i", id);
  int to = rc == DB_ROW && !db_col_is_null(st, 0) ? orders_state_of(db_col_text(st, 0)) : ORD_PAID;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return move_route(req, to < 0 ? ORD_PAID : to);
}

/* ---- routes: checkout --------------------------------------------------------------------- */

typedef struct line {
  products_variant v;
  int64_t qty;
  int index;
} line;

static int by_seller(const void *a, const void *b) {
  const line *x = a, *y = b;
  if (x->v.seller_id != y->v.seller_id) return x->v.seller_id < y->v.seller_id ? -1 : 1;
  return x->index - y->index;
}

static int64_t id_of(json_t *v) {
  int64_t id = 0;
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_string(v) && vz_parse_id(json_string_value(v), &id) == 0) return id;
  return 0;
}

static int h_checkout(vz_req *req) {
  if (!vz_req_header(req, "Idempotency-Key"))
    return vz_fail(req, 400, "invalid_argument", "Idempotency-Key", "checkout needs an Idempotency-Key header");
  vz_db *db = req->db;
  json_t *items = json_object_get(req->json, "items");
  int from_cart = !items, rc;
  if (from_cart) {
    items = vz_arena_json(req, products_cart_lines(db, req->user_id, &rc));
    if (rc < 0) return vz_fail_db(req, rc);
    if (!items) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  }
  size_t nl = json_array_size(items);
  if (nl == 0) return vz_fail(req, 400, "invalid_argument", "items", from_cart ? "your cart is empty" : "items must not be empty");
  if (nl > MAX_LINES) return vz_fail(req, 400, "invalid_argument", "items", "at most %d lines", MAX_LINES);
  line *lines = vz_arena_calloc(req->arena, nl * sizeof *lines);
  if (!lines) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  json_t *addr = NULL;
  rc = products_address_json(db, req->user_id, id_of(json_object_get(req->json, "address_id")), &addr);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 400, "invalid_argument", "address_id", "no such address in your address book");
  char *addr_s = json_dumps(addr, JSON_COMPACT);
  json_decref(addr);
  if (!addr_s) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  char *addr_a = vz_arena_strdup(req->arena, addr_s);
  free(addr_s);
  if (!addr_a) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  for (size_t i = 0; i < nl; i++) {
    json_t *it = json_array_get(items, i);
    int64_t vid = id_of(json_object_get(it, "variant_id")), q = json_integer_value(json_object_get(it, "quantity"));
    const char *vf = vz_arena_printf(req->arena, "items[%zu].variant_id", i);
    const char *qf = vz_arena_printf(req->arena, "items[%zu].quantity", i);
    if (q < 1 || q > max_quantity) return vz_fail(req, 400, "invalid_argument", qf, "quantity must be from 1 to %d", max_quantity);
    for (size_t j = 0; j < i; j++)
      if (lines[j].v.variant_id == vid) return vz_fail(req, 400, "invalid_argument", vf, "a variant may appear once per checkout");
    /* a product_id, when given, must be the variant's own product */
    int64_t pid = id_of(json_object_get(it, "product_id"));
    if ((rc = products_variant_get(db, vid, &lines[i].v)) < 0) return vz_fail_db(req, rc);
    if (rc != DB_ROW || strcmp(lines[i].v.status, "active")) return vz_fail(req, 400, "invalid_argument", vf, "no such product variant for sale");
    if (pid && pid != lines[i].v.product_id)
      return vz_fail(req, 400, "invalid_argument", vf, "that variant belongs to another product");
    if (lines[i].v.seller_id == req->user_id) return vz_fail(req, 400, "own_product", vf, "you cannot buy your own product");
    if (strcmp(lines[i].v.currency, lines[0].v.currency))
      return vz_fail(req, 400, "mixed_currency", "items", "all items of a checkout must be in one currency");
    lines[i].qty = q;
    lines[i].index = (int)i;
  }
  /* take the stock first, line by line in the caller's order: a short line ends it all */
  for (size_t i = 0; i < nl; i++) {
    rc = products_stock_take(db, lines[i].v.variant_id, lines[i].qty);
    if (rc < 0) return vz_fail_db(req, rc);
    if (rc == 0)
      return vz_fail(req, 409, "out_of_stock", vz_arena_printf(req->arena, "items[%d].variant_id", lines[i].index),
                     "not enough stock of %s", lines[i].v.sku);
    if (from_cart && (rc = products_cart_remove(db, req->user_id, lines[i].v.variant_id)) < 0) return vz_fail_db(req, rc);
  }
  qsort(lines, nl, sizeof *lines, by_seller);
  int64_t checkout = db_id_new(), now = db_now_ms(), hold = now + (int64_t)hold_seconds * 1000, grand = 0;
  json_t *orders = vz_arena_json(req, json_array());
  for (size_t i = 0; i < nl;) {
    size_t j = i;
    int64_t sub = 0, units = 0;
    for (; j < nl && lines[j].v.seller_id == lines[i].v.seller_id; j++) sub += lines[j].v.price * lines[j].qty, units += lines[j].qty;
    int64_t ship = lines[i].v.ship_flat + lines[i].v.ship_extra * (units - 1), oid = db_id_new();
    rc = db_run(db, NULL,
                "INSERT INTO orders (id, checkout_id, buyer_id, seller_id, status, currency, subtotal, shipping, total,"
                " address, hold_until, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending_payment', $5, $6, $7, $8,"
                " $9, $10, $11, $11)",
                "iiiisiiisii", oid, checkout, req->user_id, lines[i].v.seller_id, lines[i].v.currency, sub, ship, sub + ship,
                addr_a, hold, now);
    for (size_t k = i; rc >= 0 && k < j; k++)
      rc = db_run(db, NULL, "INSERT INTO order_items (order_id, variant_id, product_id, title, sku, unit_price, quantity)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7)", "iiissii", oid, lines[k].v.variant_id, lines[k].v.product_id,
                  lines[k].v.title, lines[k].v.sku, lines[k].v.price, lines[k].qty);
    if (rc >= 0) rc = db_run(db, NULL, "INSERT INTO order_history (id, order_id, from_status, to_status, actor_id, created_at)"
                            " VALUES ($1, $2, '', 'pending_payment', $3, $4)", "iiii", db_id_new(), oid, req->user_id, now);
    if (rc >= 0) rc = enqueue_event(db, "order.created", oid, "pending_payment");
    if (rc < 0) return vz_fail_db(req, rc);
    json_t *o;
    if ((rc = order_json(req, db, oid, 0, &o)) != DB_ROW) return vz_fail_db(req, rc < 0 ? rc : DB_ERROR);
    if (jpush(orders, o)) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
    grand += sub + ship;
    i = j;
  }
  char payload[96], key[48];
  snprintf(payload, sizeof payload, "{\"checkout_id\":\"%lld\"}", (long long)checkout);
  snprintf(key, sizeof key, "expire-%lld", (long long)checkout);
  if ((rc = jobs_enqueue(db, "orders.expire", payload, hold, key, NULL)) < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 201, json_pack("{s:o,s:I,s:s,s:o,s:O}", "checkout_id", vz_json_id(checkout), "total",
                                           (json_int_t)grand, "currency", lines[0].v.currency, "hold_until",
                                           vz_json_time(hold), "orders", orders));
}

/* ---- routes: views ------------------------------------------------------------------------ */

static int h_show(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  json_t *o;
  int rc = order_json(req, req->db_read, id, 1, &o);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such order");
  return vz_reply_item(req, 200, o);
}

enum { VIEW_BUYER, VIEW_SELLER, VIEW_ADMIN };

static int list(vz_req *req, int view) {
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return req->status;
  const char *status = vz_req_query(req, "status");
  const char *who = view == VIEW_BUYER ? "o.buyer_id = $1" : view == VIEW_SELLER ? "o.seller_id = $1" : "CAST($1 AS BIGINT) IS NOT NULL";
  const char *sql = vz_arena_printf(req->arena, "SELECT %s FROM orders o WHERE %s AND ($2 = '' OR o.status = $2) AND o.id < $3"
                                    " ORDER BY o.id DESC LIMIT $4", vz_cols_select(req->arena, order_cols), who);
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "isii", req->user_id, status ? status : "", pg.id, (int64_t)pg.limit + 1);
  while (rc == DB_ROW && vz_page_take(&pg, 0, db_col_int(st, 0))) {
    json_t *o = vz_cols_row(st, order_cols);
    if (o) {
      json_t *a = json_loads(db_col_text(st, OC_ADDRESS), 0, NULL);
      if (jset(o, "address", a ? a : json_null())) json_decref(o), o = NULL; /* the page fails: 503 */
    }
    vz_page_add(&pg, o);
    rc = db_step(st);
  }
  db_finalize(st);
  return rc < 0 ? vz_fail_db(req, rc) : vz_page_reply(req, &pg);
}

static int h_list_buyer(vz_req *req) { return list(req, VIEW_BUYER); }
static int h_list_seller(vz_req *req) { return list(req, VIEW_SELLER); }
static int h_list_admin(vz_req *req) { return list(req, VIEW_ADMIN); }

/* ---- jobs ---------------------------------------------------------------------------------- */

typedef struct expire_ctx { int64_t checkout; int n; } expire_ctx;

/* Cancels what of the checkout is still unpaid once its hold ended (the conditional
 * UPDATE in move_order makes a payment that lands at the same moment win or lose
 * cleanly: a charge for a cancelled order is refunded by payments). */
static int expire_tx(vz_db *db, void *ctx) {
  expire_ctx *e = ctx;
  orders_summary o[MAX_LINES];
  int n, rc = orders_of_checkout(db, e->checkout, 0, o, MAX_LINES, &n);
  e->n = 0;
  for (int i = 0; rc >= 0 && i < n; i++) {
    if (strcmp(o[i].status, "pending_payment")) continue;
    ord_move m = { .order_id = o[i].id, .actor = ORD_BY_SYSTEM, .to = ORD_CANCELLED, .note = "payment not received in time" };
    rc = move_order(db, &m);
    if (rc > 0) e->n++, rc = 0;
  }
  return rc;
}

static int job_expire(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  json_t *p = json_loads(job->payload, 0, NULL);
  expire_ctx e = { id_of(json_object_get(p, "checkout_id")), 0 };
  json_decref(p);
  if (!e.checkout) return 0; /* not ours to retry: malformed payload */
  int rc = db_tx(db, expire_tx, &e);
  if (rc < 0) { snprintf(err, errlen, "db error %d", rc); return -1; }
  if (e.n) vz_log_info("unpaid orders cancelled, stock released", "job", job->payload);
  return 0;
}

/* Notifications are another service's job (issue 22); until it subscribes, the events
 * are logged so an operator can follow an order. */
static int job_events(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  (void)db, (void)err, (void)errlen;
  vz_log_debug("order event", "payload", job->payload);
  return 0;
}

/* ---- descriptor ---------------------------------------------------------------------------- */

static const vz_opt orders_opts[] = {
  VZ_OPT("order-hold-seconds", "VIDZO_ORDER_HOLD_SECONDS", VZ_OPT_INT, hold_seconds, 1, 86400,
         "seconds an unpaid order holds its stock before it is cancelled (900)"),
  VZ_OPT("order-max-quantity", "VIDZO_ORDER_MAX_QUANTITY", VZ_OPT_INT, max_quantity, 1, 1000,
         "most units of one variant in one checkout (100)"),
  { 0 },
};

static const vz_field line_fields[] = {
  { "variant_id", VZ_ID, VZ_REQUIRED }, { "product_id", VZ_ID, 0 },
  { "quantity", VZ_INT, VZ_REQUIRED, -1000000, 1000000 }, { 0 },
};
static const vz_field line_in = { "line", VZ_OBJ, 0, 0, 0, NULL, line_fields };
static const vz_field checkout_in[] = {
  { "items", VZ_ARR, 0, 0, 1000, NULL, &line_in }, { "address_id", VZ_ID, VZ_REQUIRED }, { 0 },
};
static const vz_field ship_in[] = {
  { "carrier", VZ_STR, VZ_REQUIRED, 1, 60 }, { "tracking_number", VZ_STR, VZ_REQUIRED, 1, 100 }, { 0 },
};
static const vz_field reason_in[] = { { "reason", VZ_STR, 0, 1, 500 }, { 0 } };
static const vz_field refund_request_in[] = { { "reason", VZ_STR, VZ_REQUIRED, 1, 500 }, { 0 } };
static const vz_field refund_in[] = {
  { "amount", VZ_INT, 0, 1, 1000000000000000LL }, { "reason", VZ_STR, 0, 1, 500 }, { 0 },
};
static const vz_field list_query[] = {
  { "status", VZ_ENUM, 0, 0, 20, "pending_payment|paid|shipped|delivered|cancelled|refund_requested|refunded" }, { 0 },
};

static vz_route orders_routes[] = {
  VZ_POST("/v1/orders", h_checkout, .op = "checkout", .summary = "Checkout: one order per seller, stock reserved (Idempotency-Key required)", .res = "Checkout", .ok = 201, .errors = "409 422", .body = checkout_in, .flags = VZ_AUTH | VZ_IDEMPOTENT | VZ_RATE_USER, .rate_per_min = 600),
  VZ_GET("/v1/orders", h_list_buyer, .op = "listOrders", .summary = "The buyer's orders", .res = "Order[]", .query = list_query, .flags = VZ_AUTH),
  VZ_GET("/v1/orders/:id", h_show, .op = "getOrder", .summary = "An order (its buyer, seller or an admin)", .res = "Order", .errors = "404", .flags = VZ_AUTH),
  VZ_POST("/v1/orders/:id/cancel", h_cancel, .op = "cancelOrder", .summary = "Cancel an order", .res = "Order", .errors = "404 409", .body = reason_in, .flags = VZ_AUTH),
  VZ_POST("/v1/orders/:id/ship", h_ship, .op = "shipOrder", .summary = "Mark an order shipped with carrier and tracking number", .res = "Order", .errors = "404 409", .body = ship_in, .flags = VZ_AUTH),
  VZ_POST("/v1/orders/:id/deliver", h_deliver, .op = "deliverOrder", .summary = "Mark an order delivered", .res = "Order", .errors = "404 409", .flags = VZ_AUTH),
  VZ_POST("/v1/orders/:id/refund-request", h_refund_request, .op = "requestOrderRefund", .summary = "Ask for a refund (buyer)", .res = "Order", .errors = "404 409", .body = refund_request_in, .flags = VZ_AUTH),
  VZ_POST("/v1/orders/:id/refund", h_refund, .op = "refundOrder", .summary = "Refund all or part of an order (seller, admin)", .res = "Order", .errors = "404 409", .body = refund_in, .flags = VZ_AUTH | VZ_AUDIT),
  VZ_POST("/v1/orders/:id/refund-decline", h_refund_decline, .op = "declineOrderRefund", .summary = "Decline a refund request", .res = "Order", .errors = "404 409", .body = reason_in, .flags = VZ_AUTH),
  VZ_GET("/v1/sellers/me/orders", h_list_seller, .op = "listMySales", .summary = "The seller's orders", .res = "Order[]", .query = list_query, .flags = VZ_ROLE_SELLER),
  VZ_GET("/v1/admin/orders", h_list_admin, .op = "listOrdersAdmin", .summary = "Every order (admin)", .res = "Order[]", .query = list_query, .flags = VZ_ROLE_ADMIN),
  { 0 },
};

static const vz_queue orders_queues[] = {
  { "orders.expire", job_expire, 30000 }, { "orders.events", job_events, 30000 }, { 0 },
};

const vz_service orders_service = {
  .name = "orders", .about = "Checkout (one order per seller, stock reserved) and the order life: paid, shipped, delivered, cancelled, refunds",
  .opts = orders_opts, .routes = orders_routes, .queues = orders_queues,
};
