/* Invariant: applying a provider event never stores an empty provider payment id.
 * PayPal's PAYMENT.CAPTURE.REFUNDED names no payment id (its refund resource has none),
 * only our payment reference (custom_id). apply_tx finds the row by that reference; it
 * used to copy the event's "" into a row whose id was still NULL (a 'creating' row whose
 * provider answer we never stored), and the second such row then broke the
 * (provider, provider_payment_id) unique index, so the webhook failed forever. A known id
 * is never replaced, by "" or by another id. */
#include <stdio.h>
#include <string.h>

#include "../../db/dbtest.h"
#include "services/payments/internal.h"

static void pay_row(vz_db *db, int64_t id, int64_t checkout, const char *ppid, const char *status) {
  db_run(db, NULL, "INSERT INTO payments (id, checkout_id, buyer_id, provider, provider_payment_id, status, amount, currency,"
         " created_at, updated_at) VALUES ($1, $2, 77, 'paypal', $3, $4, 1000, 'EUR', 1, 1)", "iiss", id, checkout, ppid, status);
}

/* the row's provider_payment_id: "<null>" for NULL */
static void ppid_of(vz_db *db, int64_t id, char *out, size_t n) {
  vz_stmt *st = NULL;
  snprintf(out, n, "<none>");
  if (db_run(db, &st, "SELECT provider_payment_id FROM payments WHERE id = $1", "i", id) == DB_ROW)
    snprintf(out, n, "%s", db_col_is_null(st, 0) ? "<null>" : db_col_text(st, 0));
  db_finalize(st);
}

static void refund_event(pay_event *ev, const char *event_id, int64_t ref) {
  memset(ev, 0, sizeof *ev);
  ev->type = PAY_EV_REFUNDED;
  snprintf(ev->event_id, sizeof ev->event_id, "%s", event_id);
  snprintf(ev->provider_refund_id, sizeof ev->provider_refund_id, "RF-%s", event_id);
  snprintf(ev->provider_charge_id, sizeof ev->provider_charge_id, "CAP-%s", event_id);
  snprintf(ev->payment_ref, sizeof ev->payment_ref, "%lld", (long long)ref);
  snprintf(ev->currency, sizeof ev->currency, "EUR");
  ev->amount = 500;
}

static void apply_body(vz_db *db, const char *url, int *vz_failed) {
  (void)url;
  char err[256], got[PAY_ID_MAX];
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  CHECK(db_run(db, NULL, "INSERT INTO users (id, created_at, updated_at) VALUES (77, 1, 1)", "") >= 0);
  pay_row(db, 101, 1, NULL, "creating");
  pay_row(db, 102, 2, NULL, "creating");
  pay_row(db, 103, 3, "PP-ORDER-3", "succeeded");
  pay_event ev;
  int dup = -1;
  /* two refund events naming only our reference, for two rows with no id yet */
  refund_event(&ev, "WH-1", 101);
  CHECK_EQ_INT(pay_event_apply(db, "paypal", &ev, "refunded", &dup), 0);
  CHECK_EQ_INT(dup, 0);
  ppid_of(db, 101, got, sizeof got);
  CHECK_EQ_STR(got, "<null>");
  refund_event(&ev, "WH-2", 102);
  CHECK_EQ_INT(pay_event_apply(db, "paypal", &ev, "refunded", &dup), 0); /* was a unique violation */
  ppid_of(db, 102, got, sizeof got);
  CHECK_EQ_STR(got, "<null>");
  /* a row with a known id keeps it */
  refund_event(&ev, "WH-3", 103);
  CHECK_EQ_INT(pay_event_apply(db, "paypal", &ev, "refunded", &dup), 0);
  ppid_of(db, 103, got, sizeof got);
  CHECK_EQ_STR(got, "PP-ORDER-3");
  /* an event that does name an id fills a NULL one (crash after the provider answered) */
  refund_event(&ev, "WH-4", 101);
  ev.type = PAY_EV_FAILED;
  snprintf(ev.provider_payment_id, sizeof ev.provider_payment_id, "PP-ORDER-1");
  CHECK_EQ_INT(pay_event_apply(db, "paypal", &ev, "failed", &dup), 0);
  ppid_of(db, 101, got, sizeof got);
  CHECK_EQ_STR(got, "PP-ORDER-1");
  /* and never replaces a known one with another */
  refund_event(&ev, "WH-5", 103);
  ev.type = PAY_EV_FAILED;
  snprintf(ev.provider_payment_id, sizeof ev.provider_payment_id, "PP-OTHER");
  CHECK_EQ_INT(pay_event_apply(db, "paypal", &ev, "failed", &dup), 0);
  ppid_of(db, 103, got, sizeof got);
  CHECK_EQ_STR(got, "PP-ORDER-3");
  /* nothing anywhere holds "" */
  vz_stmt *st = NULL;
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM payments WHERE provider_payment_id = ''", ""), DB_ROW);
  CHECK_EQ_INT((int)db_col_int(st, 0), 0);
  db_finalize(st);
}

TEST(payments_apply_never_stores_empty_payment_id) { dbt_each(vz_failed, apply_body); }
