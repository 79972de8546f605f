/* ledger.c: the double-entry ledger. Every money movement is one transaction of entries
 * that sum to zero (signed minor units: debits positive, credits negative), booked under
 * a unique key so that a job or webhook that runs twice books it once. Accounts:
 *   cash               money held at the processor for us (debit)
 *   seller_payable     what we owe a seller (credit; seller_id set)
 *   platform_fees      our revenue (credit)
 *   processor_fees     what the processor kept (debit)
 *   buyer_refunds_due  money that arrived for an order already cancelled (credit until refunded)
 * A seller's balance and the platform's earnings are sums over it, never stored totals.
 * Rows are immutable (migration 651's triggers). GET /v1/admin/ledger/check recomputes
 * the invariants from the orders, refunds and payouts tables independently. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/list.h"
#include "services/payments/internal.h"

int ledger_book(vz_db *db, const char *key, const char *kind, const char *currency, const ledger_line *l, int n) {
  int64_t sum = 0;
  for (int i = 0; i < n; i++) sum += l[i].amount;
  if (sum != 0) return DB_ERROR; /* our bug: never book an unbalanced transaction */
  int64_t txn = db_id_new(), now = db_now_ms();
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "INSERT INTO ledger_txns (id, key, kind, currency, created_at) VALUES ($1, $2, $3, $4, $5)"
                  " ON CONFLICT (key) DO NOTHING", "isssi", txn, key, kind, currency, now);
  int fresh = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!fresh) return 0;
  for (int i = 0; i < n; i++) {
    if (!l[i].amount) continue;
    rc = db_prepare(db, "INSERT INTO ledger_entries (id, txn_id, account, seller_id, order_id, amount, currency, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", &st);
    if (rc < 0) return rc;
    db_bind_int(st, 1, db_id_new());
    db_bind_int(st, 2, txn);
    db_bind_text(st, 3, l[i].account, -1);
    if (l[i].seller_id) db_bind_int(st, 4, l[i].seller_id); else db_bind_null(st, 4);
    if (l[i].order_id) db_bind_int(st, 5, l[i].order_id); else db_bind_null(st, 5);
    db_bind_int(st, 6, l[i].amount);
    db_bind_text(st, 7, currency, -1);
    db_bind_int(st, 8, now);
    rc = db_step(st);
    db_finalize(st);
    if (rc < 0) return rc;
  }
  return 1;
}

int ledger_seller_balance(vz_db *db, int64_t seller, const char *currency, int64_t *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE account = 'seller_payable'"
                  " AND seller_id = $1 AND currency = $2", "is", seller, currency);
  *out = rc == DB_ROW ? db_col_int(st, 0) : 0;
  db_finalize(st);
  return rc < 0 ? rc : 0;
}

int ledger_h_check(vz_req *req) {
  vz_db *db = req->db_read;
  vz_stmt *st = NULL;
  json_t *out = vz_arena_json(req, json_object());
  int bad = !out;
  int rc = db_run(db, &st, "SELECT count(*) FROM (SELECT txn_id FROM ledger_entries GROUP BY txn_id HAVING sum(amount) <> 0) x", "");
  if (rc == DB_ROW) bad |= jset(out, "unbalanced_transactions", json_integer(db_col_int(st, 0)));
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  rc = db_run(db, &st, "SELECT count(*) FROM ledger_txns", "");
  if (rc == DB_ROW) bad |= jset(out, "transactions", json_integer(db_col_int(st, 0)));
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  json_t *tot = json_array();
  rc = db_run(db, &st, "SELECT currency, sum(amount) FROM ledger_entries GROUP BY currency ORDER BY currency", "");
  while (rc == DB_ROW) {
    bad |= jpush(tot, json_pack("{s:s,s:I}", "currency", db_col_text(st, 0), "sum", (json_int_t)db_col_int(st, 1)));
    rc = db_step(st);
  }
  db_finalize(st);
  bad |= jset(out, "total_by_currency", tot);
  if (rc < 0) return vz_fail_db(req, rc);
  /* each seller: the ledger's balance against orders paid - refunds - payouts - fees */
  json_t *mis = json_array();
  rc = db_run(db, &st,
              "SELECT s.seller_id, s.currency,"
              " coalesce((SELECT -sum(e.amount) FROM ledger_entries e WHERE e.account = 'seller_payable'"
              "   AND e.seller_id = s.seller_id AND e.currency = s.currency), 0),"
              " coalesce((SELECT sum(o.total) FROM orders o WHERE o.seller_id = s.seller_id AND o.currency = s.currency"
              "   AND o.paid_at IS NOT NULL), 0),"
              " coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.seller_id = s.seller_id AND r.currency = s.currency"
              "   AND r.status = 'succeeded' AND r.unmatched = 0), 0),"
              " coalesce((SELECT sum(p.amount) FROM payouts p WHERE p.seller_id = s.seller_id AND p.currency = s.currency"
              "   AND p.status IN ('pending', 'paid')), 0),"
              " coalesce((SELECT -sum(e.amount) FROM ledger_entries e JOIN orders o ON o.id = e.order_id"
              "   WHERE e.account = 'platform_fees' AND o.seller_id = s.seller_id AND e.currency = s.currency), 0)"
              " FROM (SELECT DISTINCT seller_id, currency FROM orders WHERE paid_at IS NOT NULL) s ORDER BY 1, 2", "");
  while (rc == DB_ROW) {
    int64_t bal = db_col_int(st, 2), paid = db_col_int(st, 3), ref = db_col_int(st, 4), po = db_col_int(st, 5),
            fee = db_col_int(st, 6);
    if (bal != paid - ref - po - fee || fee < 0 || bal < 0)
      bad |= jpush(mis, json_pack("{s:o,s:s,s:I,s:I,s:I,s:I,s:I}", "seller_id", vz_json_id(db_col_int(st, 0)),
                                           "currency", db_col_text(st, 1), "ledger_balance", (json_int_t)bal, "paid",
                                           (json_int_t)paid, "refunded", (json_int_t)ref, "payouts", (json_int_t)po,
                                           "fees", (json_int_t)fee));
    rc = db_step(st);
  }
  db_finalize(st);
  bad |= jset(out, "seller_mismatches", mis);
  if (rc < 0) return vz_fail_db(req, rc);
  /* cash against the payments: captured - refunded - paid out - processor fees */
  json_t *cm = json_array();
  rc = db_run(db, &st,
              "SELECT c.currency, coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.account = 'cash' AND e.currency = c.currency), 0),"
              " coalesce((SELECT sum(amount) FROM payments p WHERE p.status = 'succeeded' AND p.currency = c.currency), 0),"
              " coalesce((SELECT sum(amount) FROM refunds r WHERE r.status = 'succeeded' AND r.currency = c.currency), 0),"
              " coalesce((SELECT sum(amount) FROM payouts p WHERE p.status IN ('pending', 'paid') AND p.currency = c.currency), 0),"
              " coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.account = 'processor_fees' AND e.currency = c.currency), 0)"
              " FROM (SELECT DISTINCT currency FROM ledger_entries) c ORDER BY 1", "");
  while (rc == DB_ROW) {
    int64_t cash = db_col_int(st, 1), in = db_col_int(st, 2), ref = db_col_int(st, 3), po = db_col_int(st, 4), pf = db_col_int(st, 5);
    if (cash != in - ref - po - pf)
      bad |= jpush(cm, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "currency", db_col_text(st, 0), "cash", (json_int_t)cash,
                                          "captured", (json_int_t)in, "refunded", (json_int_t)ref, "payouts", (json_int_t)po,
                                          "processor_fees", (json_int_t)pf));
    rc = db_step(st);
  }
  db_finalize(st);
  bad |= jset(out, "cash_mismatches", cm);
  if (rc < 0) return vz_fail_db(req, rc);
  if (bad) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
  return vz_reply_item(req, 200, json_incref(out));
}

/* ---- seller views --------------------------------------------------------------------------- */

int ledger_h_balance(vz_req *req) {
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT e.currency, -sum(e.amount),"
                  " (SELECT count(*) FROM refunds r WHERE r.seller_id = $1 AND r.status = 'pending')"
                  " + (SELECT count(*) FROM orders o WHERE o.seller_id = $1 AND o.status = 'refund_requested'),"
                  " coalesce((SELECT sum(p.amount) FROM payouts p WHERE p.seller_id = $1 AND p.status = 'pending'"
                  "   AND p.currency = e.currency), 0)"
                  " FROM ledger_entries e WHERE e.account = 'seller_payable' AND e.seller_id = $1"
                  " GROUP BY e.currency ORDER BY e.currency", "i", req->user_id);
  json_t *a = json_array();
  int bad = 0;
  while (rc == DB_ROW) {
    bad |= jpush(a, json_pack("{s:s,s:I,s:b,s:I}", "currency", db_col_text(st, 0), "available",
                                       (json_int_t)db_col_int(st, 1), "on_hold", db_col_int(st, 2) > 0, "payout_pending",
                                       (json_int_t)db_col_int(st, 3)));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0 || bad) { json_decref(a); return rc < 0 ? vz_fail_db(req, rc) : vz_fail(req, 503, "unavailable", NULL, "server busy"); }
  return vz_reply_item(req, 200, json_pack("{s:o}", "balances", a));
}

/* Start of the bucket holding day d (days since 1970-01-01, UTC) for the period. */
static int64_t bucket_of(int64_t d, const char *period) {
  if (!strcmp(period, "week")) return d - (d + 3) % 7; /* 1970-01-01 was a Thursday: weeks start on Monday */
  if (!strcmp(period, "month")) {
    time_t t = (time_t)(d * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    return d - (tm.tm_mday - 1);
  }
  return d;
}

/* GET /v1/sellers/me/earnings?period=day|week|month: sales credited to the seller and
 * refunds taken back, per bucket and currency, newest first (the last 100 buckets). */
int ledger_h_earnings(vz_req *req) {
  const char *period = vz_req_query(req, "period");
  if (!period) period = "day";
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT e.created_at / 86400000, t.kind, e.currency, -sum(e.amount) FROM ledger_entries e"
                  " JOIN ledger_txns t ON t.id = e.txn_id WHERE e.account = 'seller_payable' AND e.seller_id = $1"
                  " AND t.kind IN ('charge', 'refund') GROUP BY e.created_at / 86400000, t.kind, e.currency"
                  " ORDER BY 1 DESC, 3", "i", req->user_id);
  json_t *a = vz_arena_json(req, json_array());
  json_t *last = NULL;
  int bad = !a;
  int64_t last_b = -1;
  const char *last_cur = "";
  while (rc == DB_ROW) {
    int64_t b = bucket_of(db_col_int(st, 0), period), v = db_col_int(st, 3);
    const char *kind = db_col_text(st, 1), *cur = db_col_text(st, 2);
    if (!last || b != last_b || strcmp(cur, last_cur)) {
      /* rows come by day; a bucket spans days, so find its object (same bucket and currency) */
      last = NULL;
      size_t i;
      json_t *it;
      json_array_foreach(a, i, it) if (json_integer_value(json_object_get(it, "_b")) == b &&
                                       !strcmp(json_string_value(json_object_get(it, "currency")), cur)) last = it;
      if (!last) {
        if (json_array_size(a) >= 100) break;
        last = json_pack("{s:I,s:o,s:s,s:I,s:I,s:I}", "_b", (json_int_t)b, "start", vz_json_time(b * 86400000), "currency", cur,
                         "sales", (json_int_t)0, "refunds", (json_int_t)0, "net", (json_int_t)0);
        if (jpush(a, last)) { bad = 1; break; }
      }
      last_b = b;
      last_cur = json_string_value(json_object_get(last, "currency"));
    }
    const char *k = !strcmp(kind, "charge") ? "sales" : "refunds";
    json_int_t add = !strcmp(kind, "charge") ? v : -v;
    bad |= jset(last, k, json_integer(json_integer_value(json_object_get(last, k)) + add));
    bad |= jset(last, "net", json_integer(json_integer_value(json_object_get(last, "net")) + v));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (bad) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
  size_t i;
  json_t *it;
  json_array_foreach(a, i, it) json_object_del(it, "_b");
  return vz_reply_item(req, 200, json_pack("{s:s,s:O}", "period", period, "buckets", a));
}

/* GET /v1/admin/ledger/summary: what the ledger says per currency, each a sum over its
 * account: the platform's earnings (fees net of refunds), what the processors kept, the
 * cash held, what is owed to sellers and to buyers. */
int ledger_h_summary(vz_req *req) {
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, "SELECT currency, account, sum(amount) FROM ledger_entries GROUP BY currency, account"
                  " ORDER BY currency, account", "");
  json_t *a = vz_arena_json(req, json_array()), *cur = NULL;
  int bad = !a;
  char last[4] = "";
  while (rc == DB_ROW && !bad) {
    const char *c = db_col_text(st, 0), *acct = db_col_text(st, 1);
    int64_t sum = db_col_int(st, 2);
    if (!cur || strcmp(c, last)) {
      cur = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "currency", c, "platform_earnings", (json_int_t)0, "processor_fees",
                      (json_int_t)0, "cash", (json_int_t)0, "owed_to_sellers", (json_int_t)0, "due_to_buyers", (json_int_t)0);
      bad |= jpush(a, cur);
      snprintf(last, sizeof last, "%s", c);
    }
    const char *k = !strcmp(acct, "platform_fees") ? "platform_earnings" : !strcmp(acct, "processor_fees") ? "processor_fees"
                    : !strcmp(acct, "cash") ? "cash" : !strcmp(acct, "seller_payable") ? "owed_to_sellers" : "due_to_buyers";
    /* credits are negative: earnings and debts read as positive amounts */
    if (!bad) bad |= jset(cur, k, json_integer(strcmp(k, "cash") && strcmp(k, "processor_fees") ? -sum : sum));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (bad) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
  return vz_reply_item(req, 200, json_pack("{s:O}", "currencies", a));
}
