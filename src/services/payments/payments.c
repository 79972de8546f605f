/* payments.c: paying a checkout, applying the provider's events exactly once, refunds,
 * captures and reconciliation.
 *
 * Creating a payment is three steps, because a provider call must never run inside a
 * database transaction (it would hold locks for a network round trip, and a rollback
 * cannot take a charge back):
 *   1. commit a payments row 'creating' (the partial unique index allows one live payment
 *      per checkout, so two tabs make one charge);
 *   2. call the provider with the idempotency key "vidzo-pay-<id>";
 *   3. commit what it answered.
 * A crash or timeout between 2 and 3 leaves 'creating': the next POST, or reconciliation,
 * calls create again with the same key (the provider answers the same payment) and goes
 * on. A provider that is down (breaker open) leaves nothing: the row is deleted and the
 * answer is 503 with Retry-After.
 *
 * Money arrives as an event (webhook, the sandbox's settle, reconciliation's lookup), and
 * every path ends in pay_success: one conditional UPDATE from an open status to
 * 'succeeded', so the orders are marked paid and the ledger is booked once whichever path
 * comes first; each provider event id is also recorded once (payment_events). A charge
 * for an order cancelled meanwhile is refunded; a charge we cannot match to a live
 * payment is refunded at the provider without touching our books. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "services/orders/orders.h"
#include "services/payments/internal.h"
#include "services/payments/payments.h"

#define OPEN_SET "'creating', 'pending', 'requires_action', 'approved'"
#define MAX_ORDERS 50

static const char *status_name(pay_status s) {
  switch (s) {
  case PAY_ST_REQUIRES_ACTION: return "requires_action";
  case PAY_ST_APPROVED: return "approved";
  case PAY_ST_SUCCEEDED: return "succeeded";
  case PAY_ST_FAILED: return "failed";
  case PAY_ST_CANCELED: return "canceled";
  default: return "pending";
  }
}

static int enqueue(vz_db *db, const char *queue, const char *field, int64_t id, const char *key_prefix) {
  char payload[96], key[64];
  snprintf(payload, sizeof payload, "{\"%s\":\"%lld\"}", field, (long long)id);
  snprintf(key, sizeof key, "%s-%lld", key_prefix, (long long)id);
  int rc = jobs_enqueue(db, queue, payload, 0, key, NULL);
  return rc < 0 ? rc : 0;
}

/* ---- reading ---------------------------------------------------------------------------------- */

static const vz_col pay_cols[] = {
  { "id", "id", VZ_COL_ID }, { "checkout_id", "checkout_id", VZ_COL_ID }, { "buyer_id", "buyer_id", VZ_COL_ID },
  { "provider", "provider", VZ_COL_TEXT }, { "provider_payment_id", "provider_payment_id", VZ_COL_TEXT | VZ_COL_NULL },
  { "status", "status", VZ_COL_TEXT }, { "amount", "amount", VZ_COL_INT }, { "currency", "currency", VZ_COL_TEXT },
  { "refunded", "refunded", VZ_COL_INT }, { "client_secret", "client_secret", VZ_COL_TEXT | VZ_COL_NULL },
  { "approval_url", "approval_url", VZ_COL_TEXT | VZ_COL_NULL }, { "failure", "failure", VZ_COL_TEXT | VZ_COL_NULL },
  { "created_at", "created_at", VZ_COL_TIME }, { "updated_at", "updated_at", VZ_COL_TIME }, { 0 },
};

/* The payment as JSON when the caller is its buyer (or admin); DB_DONE otherwise. The
 * client secret is the buyer's alone. */
static int pay_json(vz_req *req, vz_db *db, int64_t id, json_t **out) {
  *out = NULL;
  const char *sql = vz_arena_printf(req->arena, "SELECT %s FROM payments WHERE id = $1", vz_cols_select(req->arena, pay_cols));
  vz_stmt *st = NULL;
  int rc = sql ? db_run(db, &st, sql, "i", id) : DB_ERROR;
  if (rc == DB_ROW && db_col_int(st, 2) != req->user_id && req->role != VZ_R_ADMIN) rc = DB_DONE;
  if (rc == DB_ROW) {
    int buyer = db_col_int(st, 2) == req->user_id;
    if (!(*out = vz_cols_row(st, pay_cols))) rc = DB_ERROR;
    else if (!buyer && jset(*out, "client_secret", json_null())) json_decref(*out), *out = NULL, rc = DB_ERROR;
  }
  db_finalize(st);
  return rc;
}

int pay_h_show(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  json_t *o;
  int rc = pay_json(req, req->db_read, id, &o);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such payment");
  return vz_reply_item(req, 200, o);
}

/* ---- money in ---------------------------------------------------------------------------------- */

/* Books an order's charge: the buyer's money in, the platform fee (basis points of the
 * order total, rounded down) and the rest owed to the seller. */
static int book_charge(vz_db *db, const orders_summary *o) {
  int64_t fee = o->total * pay_fee_bps / 10000;
  char key[48];
  snprintf(key, sizeof key, "charge:%lld", (long long)o->id);
  ledger_line l[] = {
    { "cash", 0, o->id, o->total },
    { "platform_fees", 0, o->id, -fee },
    { "seller_payable", o->seller_id, o->id, -(o->total - fee) },
  };
  int rc = ledger_book(db, key, "charge", o->currency, l, 3);
  return rc < 0 ? rc : 0;
}

static int refund_insert(vz_db *db, int64_t payment_id, const orders_summary *o, int64_t amount, int unmatched, const char *reason) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE payments SET refunded = refunded + $2, updated_at = $3 WHERE id = $1 AND refunded + $2 <= amount",
                  "iii", payment_id, amount, db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) return PAYMENTS_ENOPAYMENT; /* more than was paid: never */
  int64_t id = db_id_new(), now = db_now_ms();
  rc = db_run(db, NULL, "INSERT INTO refunds (id, payment_id, order_id, seller_id, amount, currency, status, unmatched, reason,"
              " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $9)", "iiiiisisi", id, payment_id,
              o->id, o->seller_id, amount, o->currency, (int64_t)unmatched, reason, now);
  if (rc < 0) return rc;
  return enqueue(db, "payments.refund", "refund_id", id, "refund");
}

int payments_refund_start(vz_db *db, int64_t order_id, int64_t amount, const char *reason) {
  orders_summary o;
  int rc = orders_get(db, order_id, &o);
  if (rc < 0) return rc;
  if (rc != DB_ROW) return PAYMENTS_ENOPAYMENT;
  vz_stmt *st = NULL;
  rc = db_run(db, &st, "SELECT id FROM payments WHERE checkout_id = $1 AND status = 'succeeded'", "i", o.checkout_id);
  int64_t pid = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!pid) return PAYMENTS_ENOPAYMENT;
  return refund_insert(db, pid, &o, amount, 0, reason);
}

/* A charge we cannot match to a live payment of ours goes back whole, at the provider,
 * without entering our books (it never was our money). */
static int orphan_refund(vz_db *db, const char *provider, const pay_event *ev) {
  json_t *p = json_pack("{s:s,s:s,s:s,s:I,s:s}", "provider", provider, "payment_id", ev->provider_payment_id, "charge_id",
                        ev->provider_charge_id, "amount", (json_int_t)ev->amount, "currency", ev->currency);
  char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
  json_decref(p);
  if (!s) return DB_ERROR;
  char key[200];
  snprintf(key, sizeof key, "orphan-%s-%s", provider, ev->provider_payment_id);
  int rc = jobs_enqueue(db, "payments.orphan_refund", s, 0, key, NULL);
  free(s);
  vz_log_warn("charge without a live payment: refunding it", "provider", provider, "provider_payment_id", ev->provider_payment_id);
  return rc < 0 ? rc : 0;
}

/* The one place a payment becomes succeeded (in the caller's transaction). 1 applied now,
 * 0 it had been already (or was not open), <0 db.h. */
static int pay_success(vz_db *db, int64_t payment_id, const char *charge_id, int64_t processor_fee) {
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE payments SET status = 'succeeded', provider_charge_id = coalesce($2, provider_charge_id),"
                  " settled_at = $3, updated_at = $3 WHERE id = $1 AND status IN (" OPEN_SET ")", "isi", payment_id,
                  charge_id && *charge_id ? charge_id : NULL, now);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0 || !n) return rc < 0 ? rc : 0;
  rc = db_run(db, &st, "SELECT checkout_id, amount, currency FROM payments WHERE id = $1", "i", payment_id);
  int64_t checkout = rc == DB_ROW ? db_col_int(st, 0) : 0, amount = rc == DB_ROW ? db_col_int(st, 1) : 0;
  char cur[4] = "";
  if (rc == DB_ROW) snprintf(cur, sizeof cur, "%s", db_col_text(st, 2));
  db_finalize(st);
  if (rc < 0) return rc;
  orders_summary o[MAX_ORDERS];
  int no;
  if ((rc = orders_of_checkout(db, checkout, 0, o, MAX_ORDERS, &no)) < 0) return rc;
  int64_t sum = 0;
  for (int i = 0; i < no; i++) {
    sum += o[i].total;
    if ((rc = orders_mark_paid(db, o[i].id)) < 0) return rc;
    if (rc == 1) {
      if ((rc = book_charge(db, &o[i])) < 0) return rc;
      continue;
    }
    /* cancelled while the buyer paid: the money is booked as due back, and refunded */
    char key[48];
    snprintf(key, sizeof key, "unmatched:%lld", (long long)o[i].id);
    ledger_line l[] = { { "cash", 0, o[i].id, o[i].total }, { "buyer_refunds_due", 0, o[i].id, -o[i].total } };
    if ((rc = ledger_book(db, key, "unmatched", o[i].currency, l, 2)) < 0) return rc;
    if ((rc = refund_insert(db, payment_id, &o[i], o[i].total, 1, "order cancelled before the payment arrived")) < 0) return rc;
  }
  if (sum != amount) vz_log_error("payment amount differs from its orders' total", "payment_id", "see payments table");
  if (processor_fee > 0) {
    char key[48];
    snprintf(key, sizeof key, "procfee:%lld", (long long)payment_id);
    ledger_line l[] = { { "processor_fees", 0, 0, processor_fee }, { "cash", 0, 0, -processor_fee } };
    if ((rc = ledger_book(db, key, "processor_fee", cur, l, 2)) < 0) return rc;
  }
  return 1;
}

/* A refund the provider confirmed: booked once (the conditional UPDATE). */
static int refund_succeeded(vz_db *db, int64_t refund_id, const char *provider_refund_id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE refunds SET status = 'succeeded', provider_refund_id = coalesce($2, provider_refund_id),"
                  " updated_at = $3 WHERE id = $1 AND status = 'pending'", "isi", refund_id,
                  provider_refund_id && *provider_refund_id ? provider_refund_id : NULL, db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0 || !n) return rc < 0 ? rc : 0;
  rc = db_run(db, &st, "SELECT r.order_id, r.seller_id, r.amount, r.currency, r.unmatched, o.total FROM refunds r"
              " JOIN orders o ON o.id = r.order_id WHERE r.id = $1", "i", refund_id);
  int64_t oid = 0, seller = 0, amt = 0, unmatched = 0, total = 0;
  char cur[4] = "";
  if (rc == DB_ROW) {
    oid = db_col_int(st, 0), seller = db_col_int(st, 1), amt = db_col_int(st, 2), unmatched = db_col_int(st, 4);
    total = db_col_int(st, 5);
    snprintf(cur, sizeof cur, "%s", db_col_text(st, 3));
  }
  db_finalize(st);
  if (rc < 0) return rc;
  char key[48];
  snprintf(key, sizeof key, "refund:%lld", (long long)refund_id);
  if (unmatched) {
    ledger_line l[] = { { "buyer_refunds_due", 0, oid, amt }, { "cash", 0, oid, -amt } };
    rc = ledger_book(db, key, "refund", cur, l, 2);
    return rc < 0 ? rc : 1;
  }
  /* the fee goes back in proportion; the refund that completes the order gives back
   * exactly what is left of it, so rounding never leaves a cent behind */
  rc = db_run(db, &st, "SELECT coalesce(-sum(CASE WHEN amount < 0 THEN amount ELSE 0 END), 0),"
              " coalesce(sum(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0) FROM ledger_entries"
              " WHERE order_id = $1 AND account = 'platform_fees'", "i", oid);
  int64_t fee = rc == DB_ROW ? db_col_int(st, 0) : 0, back = rc == DB_ROW ? db_col_int(st, 1) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  rc = db_run(db, &st, "SELECT coalesce(sum(amount), 0) FROM refunds WHERE order_id = $1 AND status = 'succeeded' AND unmatched = 0",
              "i", oid);
  int64_t done = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  int64_t fb = done >= total ? fee - back : fee * amt / (total ? total : 1);
  if (fb > fee - back) fb = fee - back;
  ledger_line l[] = { { "cash", 0, oid, -amt }, { "platform_fees", 0, oid, fb }, { "seller_payable", seller, oid, amt - fb } };
  rc = ledger_book(db, key, "refund", cur, l, 3);
  return rc < 0 ? rc : 1;
}

static int refund_failed(vz_db *db, int64_t refund_id, const char *why) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE refunds SET status = 'failed', reason = coalesce($2, reason), updated_at = $3"
                  " WHERE id = $1 AND status = 'pending' RETURNING payment_id, amount", "isi", refund_id, why, db_now_ms());
  int64_t pid = rc == DB_ROW ? db_col_int(st, 0) : 0, amt = rc == DB_ROW ? db_col_int(st, 1) : 0;
  db_finalize(st);
  if (rc < 0 || !pid) return rc < 0 ? rc : 0;
  rc = db_run(db, NULL, "UPDATE payments SET refunded = refunded - $2 WHERE id = $1", "ii", pid, amt);
  vz_log_error("refund refused by the provider: needs an operator", "reason", why ? why : "");
  return rc < 0 ? rc : 0;
}

/* The buyer approved (PayPal): the row becomes 'approved' and the capture job is queued,
 * in the caller's transaction. The job captures only 'approved' rows, so whoever learns
 * of the approval (its webhook, or reconciliation's lookup when the webhook was lost)
 * must do both; the job's key ("capture-<id>") queues it once per payment, and the
 * capture's PayPal-Request-Id makes a repeat the same capture. 1 if the row moved now,
 * 0 if it was approved (or past) already, <0 db.h. */
static int pay_approved(vz_db *db, int64_t payment_id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE payments SET status = 'approved', updated_at = $2 WHERE id = $1"
                  " AND status IN ('creating', 'pending', 'requires_action')", "ii", payment_id, db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if ((rc = enqueue(db, "payments.capture", "payment_id", payment_id, "capture")) < 0) return rc;
  return n > 0;
}

/* ---- events ------------------------------------------------------------------------------------ */

typedef struct apply_ctx {
  const char *provider;
  const pay_event *ev;
  const char *type_name;
  int dup;
} apply_ctx;


static int apply_tx(vz_db *db, void *ctx) {
  apply_ctx *a = ctx;
  const pay_event *ev = a->ev;
  a->dup = 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "INSERT INTO payment_events (provider, event_id, type, outcome, received_at) VALUES ($1, $2, $3, '', $4)"
                  " ON CONFLICT (provider, event_id) DO NOTHING", "sssi", a->provider, ev->event_id, a->type_name, db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) { a->dup = 1; return 0; }
  const char *outcome = "applied";
  int64_t pid = 0;
  char status[20] = "";
  if (ev->provider_payment_id[0]) {
    rc = db_run(db, &st, "SELECT id, status FROM payments WHERE provider = $1 AND provider_payment_id = $2", "ss", a->provider,
                ev->provider_payment_id);
    if (rc == DB_ROW) pid = db_col_int(st, 0), snprintf(status, sizeof status, "%s", db_col_text(st, 1));
    db_finalize(st);
    if (rc < 0) return rc;
  }
  int64_t ref = 0;
  if (!pid && ev->payment_ref[0] && vz_parse_id(ev->payment_ref, &ref) == 0) {
    /* a 'creating' row whose provider id we never stored (crash after the provider answered) */
    rc = db_run(db, &st, "SELECT id, status FROM payments WHERE id = $1 AND provider = $2", "is", ref, a->provider);
    if (rc == DB_ROW) pid = db_col_int(st, 0), snprintf(status, sizeof status, "%s", db_col_text(st, 1));
    db_finalize(st);
    if (rc < 0) return rc;
    /* PayPal's refund events name no payment id: never store "" over the NULL */
    if (pid && ev->provider_payment_id[0] &&
        (rc = db_run(db, NULL, "UPDATE payments SET provider_payment_id = $2 WHERE id = $1 AND provider_payment_id IS NULL",
                     "is", pid, ev->provider_payment_id)) < 0) return rc;
  }
  switch (ev->type) {
  case PAY_EV_SUCCEEDED:
    if (!pid || !strcmp(status, "failed") || !strcmp(status, "canceled")) {
      if ((rc = orphan_refund(db, a->provider, ev)) < 0) return rc;
      outcome = "orphan_refunded";
    } else if ((rc = pay_success(db, pid, ev->provider_charge_id, ev->processor_fee)) < 0) return rc;
    else if (rc == 0) outcome = "already_applied";
    break;
  case PAY_EV_FAILED:
  case PAY_EV_CANCELED:
    /* a late failure after a success (out of order) changes nothing */
    if (pid && (rc = db_run(db, NULL, "UPDATE payments SET status = $2, failure = $3, updated_at = $4 WHERE id = $1"
                            " AND status IN (" OPEN_SET ")", "issi", pid, ev->type == PAY_EV_FAILED ? "failed" : "canceled",
                            a->type_name, db_now_ms())) < 0) return rc;
    if (!pid) outcome = "unknown_payment";
    break;
  case PAY_EV_APPROVED:
    if (pid && (rc = pay_approved(db, pid)) < 0) return rc;
    if (!pid) outcome = "unknown_payment";
    break;
  case PAY_EV_REFUNDED:
  case PAY_EV_REFUND_FAILED: {
    int64_t rid = 0;
    rc = db_run(db, &st, "SELECT id FROM refunds WHERE provider_refund_id = $1", "s", ev->provider_refund_id);
    if (rc == DB_ROW) rid = db_col_int(st, 0);
    db_finalize(st);
    if (rc < 0) return rc;
    if (!rid) {
      /* the webhook can outrun the job that stores the provider's refund id: take our
       * oldest pending refund of that amount on that payment (PayPal names only the
       * capture, hence the charge id) */
      rc = db_run(db, &st, "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.status = 'pending'"
                  " AND r.provider_refund_id IS NULL AND r.amount = $1 AND p.provider = $2"
                  " AND (p.provider_payment_id = $3 OR p.provider_charge_id = $4) ORDER BY r.id LIMIT 1", "isss", ev->amount,
                  a->provider, ev->provider_payment_id, ev->provider_charge_id);
      if (rc == DB_ROW) rid = db_col_int(st, 0);
      db_finalize(st);
      if (rc < 0) return rc;
    }
    if (!rid) outcome = "unknown_refund";
    else if ((rc = ev->type == PAY_EV_REFUNDED ? refund_succeeded(db, rid, ev->provider_refund_id)
                                                : refund_failed(db, rid, "the provider reported the refund failed")) < 0)
      return rc;
    break;
  }
  case PAY_EV_PAYOUT_PAID:
  case PAY_EV_PAYOUT_FAILED: {
    int64_t po = 0;
    rc = db_run(db, &st, "SELECT id FROM payouts WHERE provider_payout_id = $1", "s", ev->provider_payout_id);
    if (rc == DB_ROW) po = db_col_int(st, 0);
    db_finalize(st);
    if (rc < 0) return rc;
    if (!po && ev->payout_ref[0]) vz_parse_id(ev->payout_ref, &po);
    if (!po) outcome = "unknown_payout";
    else if ((rc = payout_settled(db, po, ev->provider_payout_id, ev->type == PAY_EV_PAYOUT_PAID, a->type_name)) < 0) return rc;
    break;
  }
  default:
    outcome = "ignored";
  }
  rc = db_run(db, NULL, "UPDATE payment_events SET outcome = $3, payment_id = $4 WHERE provider = $1 AND event_id = $2", "sssi",
              a->provider, ev->event_id, outcome, pid);
  return rc < 0 ? rc : 0;
}

int pay_event_apply(vz_db *db, const char *provider, const pay_event *ev, const char *type_name, int *dup) {
  apply_ctx a = { provider, ev, type_name, 0 };
  int rc = db_tx(db, apply_tx, &a);
  *dup = a.dup;
  return rc < 0 ? rc : 0;
}

static const char *event_type_name(int t) {
  static const char *const n[] = { "", "succeeded", "failed", "canceled", "approved", "refunded", "refund_failed", "payout_paid",
                                   "payout_failed" };
  return t > 0 && t <= 8 ? n[t] : "other";
}

int pay_h_webhook(vz_req *req) {
  const char *name = vz_req_param(req, "provider");
  const pay_provider *p = pay_provider_find(name);
  if (!p || !p->ready()) return vz_fail(req, 404, "not_found", "provider", "no such payment provider");
  pay_event ev;
  pay_err e = { 0 };
  int rc = p->webhook(req->headers, req->nheaders, req->body ? req->body : "", req->body_len, db_now_ms(), &ev, &e);
  if (rc == PAY_ESIGNATURE) {
    vz_log_warn("webhook refused: bad signature", "provider", p->name);
    return vz_fail(req, 400, "invalid_signature", NULL, "%s", e.message);
  }
  if (rc == PAY_EIGNORED) return vz_reply_json(req, 200, json_pack("{s:{s:b}}", "data", "ignored", 1));
  if (rc == PAY_EUNAVAILABLE) return vz_fail(req, 503, "unavailable", NULL, "%s", e.message);
  if (rc != PAY_OK) return vz_fail(req, 400, "invalid_argument", NULL, "%s", e.message[0] ? e.message : "malformed event");
  int dup = 0;
  if ((rc = pay_event_apply(req->db, p->name, &ev, event_type_name(ev.type), &dup)) < 0) return vz_fail_db(req, rc);
  if (dup) vz_log_info("webhook replayed: already applied", "provider", p->name, "event", ev.event_id);
  return vz_reply_json(req, 200, json_pack("{s:{s:b,s:b}}", "data", "received", 1, "duplicate", dup));
}

/* ---- creating a payment ------------------------------------------------------------------------- */

typedef struct create_ctx {
  vz_req *req;
  int64_t checkout, id;
  const pay_provider *p;
  int existing;      /* 1: a live payment exists; reply with it */
  int resume;        /* 1: it is 'creating': call the provider again with its key */
  int64_t amount;
  char currency[4];
  /* step 3 */
  const pay_create_res *res;
} create_ctx;

static int create_tx(vz_db *db, void *ctx) {
  create_ctx *c = ctx;
  vz_req *req = c->req;
  c->existing = c->resume = 0;
  orders_summary o[MAX_ORDERS];
  int n, rc = orders_of_checkout(db, c->checkout, req->user_id, o, MAX_ORDERS, &n);
  if (rc < 0) return rc;
  if (!n) return vz_fail(req, 404, "not_found", "checkout_id", "no such checkout"), DB_EABORT;
  vz_stmt *st = NULL;
  rc = db_run(db, &st, "SELECT id, status, provider, amount, currency FROM payments WHERE checkout_id = $1"
              " AND status IN (" OPEN_SET ", 'succeeded')", "i", c->checkout);
  if (rc == DB_ROW) {
    c->id = db_col_int(st, 0);
    c->existing = 1;
    c->resume = !strcmp(db_col_text(st, 1), "creating");
    if (!strcmp(db_col_text(st, 1), "succeeded")) rc = DB_DONE, c->existing = 2;
    const pay_provider *p = pay_provider_find(db_col_text(st, 2));
    if (p) c->p = p;
    c->amount = db_col_int(st, 3);
    snprintf(c->currency, sizeof c->currency, "%s", db_col_text(st, 4));
  }
  db_finalize(st);
  if (rc < 0) return rc;
  if (c->existing == 2) return vz_fail(req, 409, "already_paid", "checkout_id", "this checkout is paid"), DB_EABORT;
  if (c->existing) return 0;
  c->amount = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(o[i].status, "pending_payment"))
      return vz_fail(req, 409, "invalid_state", "checkout_id", "order %lld is %s: it cannot be paid", (long long)o[i].id,
                     o[i].status), DB_EABORT;
    c->amount += o[i].total;
  }
  snprintf(c->currency, sizeof c->currency, "%s", o[0].currency);
  c->id = db_id_new();
  int64_t now = db_now_ms();
  rc = db_run(db, NULL, "INSERT INTO payments (id, checkout_id, buyer_id, provider, status, amount, currency, created_at, updated_at)"
              " VALUES ($1, $2, $3, $4, 'creating', $5, $6, $7, $7)", "iiisisi", c->id, c->checkout, req->user_id, c->p->name,
              c->amount, c->currency, now);
  if (rc == DB_ECONSTRAINT) return DB_EBUSY; /* another request made the live payment first: read it */
  return rc < 0 ? rc : 0;
}

/* Step 3: what the provider answered, stored (and applied when it already succeeded). */
static int store_tx(vz_db *db, void *ctx) {
  create_ctx *c = ctx;
  const pay_create_res *r = c->res;
  vz_stmt *st = NULL;
  const char *status = r->status == PAY_ST_SUCCEEDED ? "pending" : status_name(r->status);
  /* an answer without an id (never expected) must not store "" over an id a webhook set */
  int rc = db_run(db, &st, "UPDATE payments SET provider_payment_id = coalesce(nullif($2, ''), provider_payment_id), status = $3, client_secret = $4, approval_url = $5,"
                  " updated_at = $6 WHERE id = $1 AND status = 'creating'", "issssi", c->id, r->provider_payment_id, status,
                  r->client_secret[0] ? r->client_secret : NULL, r->approval_url[0] ? r->approval_url : NULL, db_now_ms());
  db_finalize(st);
  if (rc < 0) return rc;
  if (r->status == PAY_ST_SUCCEEDED && (rc = pay_success(db, c->id, NULL, 0)) < 0) return rc;
  if (c->req) {
    json_t *o;
    if ((rc = pay_json(c->req, db, c->id, &o)) != DB_ROW) return rc < 0 ? rc : DB_ERROR;
    vz_reply_item(c->req, 201, o);
  }
  return 0;
}

static int forget_tx(vz_db *db, void *ctx) {
  create_ctx *c = ctx;
  int rc = db_run(db, NULL, "DELETE FROM payments WHERE id = $1 AND status = 'creating'", "i", c->id);
  return rc < 0 ? rc : 0;
}

/* Calls the provider for a 'creating' payment and stores the answer. PAY_* code. */
static int provider_create(vz_db *db, create_ctx *c, pay_err *e) {
  char key[48], ref[24];
  snprintf(key, sizeof key, "vidzo-pay-%lld", (long long)c->id);
  snprintf(ref, sizeof ref, "%lld", (long long)c->id);
  pay_create_req in = { .amount = c->amount, .currency = c->currency, .payment_ref = ref, .idempotency_key = key,
                        .description = "VidZo order" };
  pay_create_res res;
  int rc = c->p->create(&in, &res, e);
  if (rc == PAY_OK) {
    c->res = &res;
    return db_tx(db, store_tx, c) < 0 ? PAY_EUNKNOWN : PAY_OK;
  }
  if (rc != PAY_EUNKNOWN) db_tx(db, forget_tx, c); /* nothing exists at the provider: nothing stays here */
  return rc;
}

int pay_h_create(vz_req *req) {
  create_ctx c = { .req = req };
  json_t *in = req->json;
  const char *cs = json_string_value(json_object_get(in, "checkout_id"));
  if (!(cs && vz_parse_id(cs, &c.checkout) == 0) && !(json_is_integer(json_object_get(in, "checkout_id")) &&
                                                      (c.checkout = json_integer_value(json_object_get(in, "checkout_id"))) > 0))
    return vz_fail(req, 400, "invalid_argument", "checkout_id", "checkout_id must be an id");
  const char *name = json_string_value(json_object_get(in, "provider"));
  c.p = pay_provider_find(name ? name : pay_default_provider);
  if (!c.p || !c.p->ready()) return vz_fail(req, 400, "invalid_argument", "provider", "no such payment provider is configured");
  if (vz_tx_or_fail(req, create_tx, &c) < 0) return req->status;
  if (c.existing && !c.resume) {
    json_t *o;
    int rc = pay_json(req, req->db, c.id, &o);
    if (rc != DB_ROW) return vz_fail_db(req, rc < 0 ? rc : DB_ERROR);
    return vz_reply_item(req, 200, o);
  }
  pay_err e = { 0 };
  int rc = provider_create(req->db, &c, &e);
  if (rc == PAY_OK) return req->status;
  char ra[16];
  snprintf(ra, sizeof ra, "%d", e.retry_after_s > 0 ? e.retry_after_s : 2);
  vz_add_header(req, "Retry-After", ra);
  if (rc == PAY_EINVAL) return vz_fail(req, 502, "provider_error", NULL, "the payment provider refused: %s", e.message);
  if (rc == PAY_EUNKNOWN) return vz_fail(req, 503, "unavailable", NULL, "payment outcome not known yet; retry");
  vz_log_warn("payment provider unavailable", "provider", c.p->name, "error", e.message);
  return vz_fail(req, 503, "provider_unavailable", NULL, "the payment provider is unavailable; retry later");
}

/* ---- jobs ---------------------------------------------------------------------------------------- */

static int64_t payload_id(const jobs_job *job, const char *field) {
  json_t *p = json_loads(job->payload, 0, NULL);
  int64_t id = 0;
  const char *s = json_string_value(json_object_get(p, field));
  if (s) vz_parse_id(s, &id);
  json_decref(p);
  return id;
}

typedef struct refund_ctx { int64_t id; const char *prid; int ok; const char *why; } refund_ctx;

static int refund_done_tx(vz_db *db, void *ctx) {
  refund_ctx *r = ctx;
  int rc = r->ok ? refund_succeeded(db, r->id, r->prid) : refund_failed(db, r->id, r->why);
  return rc < 0 ? rc : 0;
}

static int refund_pending_tx(vz_db *db, void *ctx) {
  refund_ctx *r = ctx;
  int rc = db_run(db, NULL, "UPDATE refunds SET provider_refund_id = $2 WHERE id = $1", "is", r->id, r->prid);
  return rc < 0 ? rc : 0;
}

int pay_job_refund(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  int64_t id = payload_id(job, "refund_id");
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT r.status, r.amount, r.currency, p.provider, p.provider_payment_id, p.provider_charge_id"
                  " FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1", "i", id);
  char status[16] = "", cur[4] = "", prov[32] = "", ppid[PAY_ID_MAX] = "", pcid[PAY_ID_MAX] = "";
  int64_t amount = 0;
  if (rc == DB_ROW) {
    snprintf(status, sizeof status, "%s", db_col_text(st, 0));
    amount = db_col_int(st, 1);
    snprintf(cur, sizeof cur, "%s", db_col_text(st, 2));
    snprintf(prov, sizeof prov, "%s", db_col_text(st, 3));
    snprintf(ppid, sizeof ppid, "%s", db_col_is_null(st, 4) ? "" : db_col_text(st, 4));
    snprintf(pcid, sizeof pcid, "%s", db_col_is_null(st, 5) ? "" : db_col_text(st, 5));
  }
  db_finalize(st);
  if (rc < 0) { snprintf(err, errlen, "db error %d", rc); return -1; }
  if (rc != DB_ROW || strcmp(status, "pending")) return 0;
  const pay_provider *p = pay_provider_find(prov);
  if (!p) { snprintf(err, errlen, "provider %s not registered", prov); return -1; }
  char key[48], ref[24];
  snprintf(key, sizeof key, "vidzo-refund-%lld", (long long)id);
  snprintf(ref, sizeof ref, "%lld", (long long)id);
  pay_refund_req in = { .provider_payment_id = ppid, .provider_charge_id = pcid, .amount = amount, .currency = cur,
                        .idempotency_key = key, .refund_ref = ref };
  pay_refund_res res;
  pay_err e = { 0 };
  rc = p->refund(&in, &res, &e);
  refund_ctx r = { id, res.provider_refund_id, 1, NULL };
  if (rc == PAY_OK && res.status == PAY_ST_SUCCEEDED) rc = db_tx(db, refund_done_tx, &r);
  else if (rc == PAY_OK) rc = db_tx(db, refund_pending_tx, &r); /* its webhook finishes it */
  else if (rc == PAY_EINVAL || rc == PAY_ECONFIG) {
    r.ok = 0, r.why = e.message;
    rc = db_tx(db, refund_done_tx, &r);
  } else {
    snprintf(err, errlen, "provider: %s", e.message);
    return -1; /* retried with backoff, with the same key */
  }
  if (rc < 0) { snprintf(err, errlen, "db error %d", rc); return -1; }
  return 0;
}

int pay_job_orphan(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  (void)db;
  json_t *j = json_loads(job->payload, 0, NULL);
  const pay_provider *p = pay_provider_find(json_string_value(json_object_get(j, "provider")));
  int rc = 0;
  if (p) {
    char key[200];
    snprintf(key, sizeof key, "vidzo-orphan-%s", json_string_value(json_object_get(j, "payment_id")));
    pay_refund_req in = { .provider_payment_id = json_string_value(json_object_get(j, "payment_id")),
                          .provider_charge_id = json_string_value(json_object_get(j, "charge_id")),
                          .amount = json_integer_value(json_object_get(j, "amount")),
                          .currency = json_string_value(json_object_get(j, "currency")), .idempotency_key = key,
                          .reason = "no matching order" };
    pay_refund_res res;
    pay_err e = { 0 };
    rc = p->refund(&in, &res, &e);
    if (rc == PAY_EUNAVAILABLE || rc == PAY_EUNKNOWN || rc == PAY_EAUTH) snprintf(err, errlen, "provider: %s", e.message), rc = -1;
    else rc = 0;
  }
  json_decref(j);
  return rc;
}

typedef struct capture_ctx { int64_t id; const char *charge; } capture_ctx;
static int capture_tx(vz_db *db, void *ctx) {
  capture_ctx *c = ctx;
  int rc = pay_success(db, c->id, c->charge, 0);
  return rc < 0 ? rc : 0;
}

int pay_job_capture(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  int64_t id = payload_id(job, "payment_id");
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT provider, provider_payment_id FROM payments WHERE id = $1 AND status = 'approved'", "i", id);
  char prov[32] = "", ppid[PAY_ID_MAX] = "";
  if (rc == DB_ROW) snprintf(prov, sizeof prov, "%s", db_col_text(st, 0)), snprintf(ppid, sizeof ppid, "%s", db_col_text(st, 1));
  db_finalize(st);
  if (rc != DB_ROW) return rc < 0 ? (snprintf(err, errlen, "db error"), -1) : 0;
  const pay_provider *p = pay_provider_find(prov);
  if (!p || !p->capture) return 0;
  char key[48];
  snprintf(key, sizeof key, "vidzo-capture-%lld", (long long)id);
  pay_capture_res res;
  pay_err e = { 0 };
  rc = p->capture(ppid, key, &res, &e);
  if (rc != PAY_OK) { snprintf(err, errlen, "provider: %s", e.message); return rc == PAY_EINVAL ? 0 : -1; }
  if (res.status != PAY_ST_SUCCEEDED) return 0; /* a webhook will tell */
  capture_ctx c = { id, res.provider_charge_id };
  if (db_tx(db, capture_tx, &c) < 0) { snprintf(err, errlen, "db error"); return -1; }
  return 0;
}

/* ---- reconciliation ------------------------------------------------------------------------------- */

typedef struct settle_ctx { int64_t id; pay_lookup_res *l; } settle_ctx;
static int settle_tx(vz_db *db, void *ctx) {
  settle_ctx *s = ctx;
  if (s->l->status == PAY_ST_SUCCEEDED) return pay_success(db, s->id, s->l->provider_charge_id, s->l->processor_fee);
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE payments SET status = $2, failure = 'reconciliation', updated_at = $3 WHERE id = $1"
                  " AND status IN (" OPEN_SET ")", "isi", s->id, status_name(s->l->status), db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  return rc < 0 ? rc : n;
}

typedef struct approve_ctx { int64_t id; int moved; } approve_ctx;
static int approve_tx(vz_db *db, void *ctx) {
  approve_ctx *a = ctx;
  int rc = pay_approved(db, a->id);
  a->moved = rc > 0;
  return rc < 0 ? rc : 0;
}

int pay_reconcile(vz_db *db, int64_t min_age_ms, int *fixed) {
  *fixed = 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT id, provider, provider_payment_id, status, amount, currency FROM payments"
                  " WHERE status IN (" OPEN_SET ") AND updated_at <= $1 ORDER BY updated_at LIMIT 200", "i", db_now_ms() - min_age_ms);
  struct { int64_t id, amount; char prov[32], ppid[PAY_ID_MAX], status[20], cur[4]; } *rows = calloc(200, sizeof *rows);
  int n = 0;
  while (rows && rc == DB_ROW && n < 200) {
    rows[n].id = db_col_int(st, 0);
    snprintf(rows[n].prov, sizeof rows[n].prov, "%s", db_col_text(st, 1));
    snprintf(rows[n].ppid, sizeof rows[n].ppid, "%s", db_col_is_null(st, 2) ? "" : db_col_text(st, 2));
    snprintf(rows[n].status, sizeof rows[n].status, "%s", db_col_text(st, 3));
    rows[n].amount = db_col_int(st, 4);
    snprintf(rows[n].cur, sizeof rows[n].cur, "%s", db_col_text(st, 5));
    n++;
    rc = db_step(st);
  }
  db_finalize(st);
  if (!rows) return DB_ERROR;
  for (int i = 0; rc >= 0 && i < n; i++) {
    const pay_provider *p = pay_provider_find(rows[i].prov);
    if (!p || !p->ready()) continue;
    pay_err e = { 0 };
    if (!strcmp(rows[i].status, "creating")) {
      create_ctx c = { .id = rows[i].id, .p = p, .amount = rows[i].amount };
      snprintf(c.currency, sizeof c.currency, "%s", rows[i].cur);
      if (provider_create(db, &c, &e) == PAY_OK) (*fixed)++;
      continue;
    }
    if (!rows[i].ppid[0]) continue;
    pay_lookup_res l;
    if (p->lookup(rows[i].ppid, &l, &e) != PAY_OK) continue;
    if (l.status == PAY_ST_APPROVED && p->needs_capture) {
      /* the approval webhook was lost: mark it approved as the webhook would have, or the
       * capture job (which captures 'approved' rows only) would do nothing */
      approve_ctx a = { rows[i].id, 0 };
      int r = db_tx(db, approve_tx, &a);
      if (r < 0) rc = r;
      else if (a.moved) {
        (*fixed)++;
        vz_log_info("reconciliation found an approval the webhook never brought", "provider", p->name);
      }
      continue;
    }
    if (l.status != PAY_ST_SUCCEEDED && l.status != PAY_ST_FAILED && l.status != PAY_ST_CANCELED) continue;
    settle_ctx s = { rows[i].id, &l };
    int r = db_tx(db, settle_tx, &s);
    if (r > 0) {
      (*fixed)++;
      vz_log_info("reconciliation applied a payment the provider had settled", "provider", p->name, "status", status_name(l.status));
    }
    if (r < 0) rc = r;
  }
  free(rows);
  return rc < 0 ? rc : 0;
}

int pay_h_reconcile(vz_req *req) {
  int64_t age = json_integer_value(json_object_get(req->json, "min_age_seconds"));
  int fixed = 0;
  int rc = pay_reconcile(req->db, age * 1000, &fixed);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 200, json_pack("{s:i}", "applied", fixed));
}

int pay_job_reconcile(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  (void)job;
  int fixed = 0;
  int rc = pay_reconcile(db, 60000, &fixed);
  /* the next pass: one job per time slot (the key makes every instance enqueue it once) */
  char key[48];
  int64_t slot = db_now_ms() / 1000 / pay_reconcile_interval + 1;
  snprintf(key, sizeof key, "reconcile-%lld", (long long)slot);
  jobs_enqueue(db, "payments.reconcile", "{}", slot * pay_reconcile_interval * 1000, key, NULL);
  if (rc < 0) { snprintf(err, errlen, "db error %d", rc); return -1; }
  return 0;
}

