/* payments/internal.h: shared by the payments service's files only. */
#ifndef VZ_PAYMENTS_INTERNAL_H
#define VZ_PAYMENTS_INTERNAL_H
#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "db/db.h"

/* jansson goes on after a failed allocation, dropping the key or item (testing.md): these
 * say so, 1 on failure (the value is released either way). */
static inline int jset(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v) ? 1 : 0; }
static inline int jpush(json_t *a, json_t *v) { return json_array_append_new(a, v) ? 1 : 0; }
#include "jobs/jobs.h"
#include "services/payments/provider.h"

extern int pay_fee_bps;              /* --platform-fee-bps */
extern char pay_default_provider[32];/* --payment-provider */
extern char pay_sandbox_secret[128]; /* --sandbox-webhook-secret */
extern int pay_payout_minimum;       /* --payout-minimum */
extern int pay_payout_interval;      /* --payout-interval-seconds */
extern int pay_reconcile_interval;   /* --payments-reconcile-seconds */

/* ---- ledger.c ---- */
typedef struct ledger_line {
  const char *account;
  int64_t seller_id, order_id;  /* 0: none */
  int64_t amount;
} ledger_line;
/* Books one balanced transaction under key (unique: a second booking of the same key is
 * a no-op returning 0). The lines must sum to zero (asserted by a check: <0 otherwise);
 * zero amounts are skipped. 1 booked, 0 already booked, <0 db.h. */
int ledger_book(vz_db *db, const char *key, const char *kind, const char *currency, const ledger_line *l, int n);
int ledger_h_check(vz_req *req);
int ledger_h_earnings(vz_req *req);
int ledger_h_balance(vz_req *req);
int ledger_h_summary(vz_req *req);
/* What the seller may be paid in currency: -(sum of seller_payable). 0 or <0. */
int ledger_seller_balance(vz_db *db, int64_t seller, const char *currency, int64_t *out);

/* ---- payments.c ---- */
int pay_h_create(vz_req *req);
int pay_h_show(vz_req *req);
int pay_h_webhook(vz_req *req);
int pay_h_reconcile(vz_req *req);
/* A verified, normalised event from `provider`: applied once (payment_events). *dup = 1
 * when it was seen before. 0 or <0 db.h. Runs its own transaction. */
int pay_event_apply(vz_db *db, const char *provider, const pay_event *ev, const char *type_name, int *dup);
int pay_job_refund(vz_db *db, const jobs_job *job, char *err, size_t errlen);
int pay_job_orphan(vz_db *db, const jobs_job *job, char *err, size_t errlen);
int pay_job_capture(vz_db *db, const jobs_job *job, char *err, size_t errlen);
int pay_job_reconcile(vz_db *db, const jobs_job *job, char *err, size_t errlen);
/* One reconciliation pass over open payments older than min_age_ms: *fixed how many
 * changed. 0 or <0. */
int pay_reconcile(vz_db *db, int64_t min_age_ms, int *fixed);

/* ---- sandbox.c ---- */
int sandbox_h_settle(vz_req *req);
/* The Sandbox-Signature header value for body at now_ms ("t=<s>,v1=<hex>"). 0 or -1. */
int sandbox_sign_header(const char *body, size_t len, int64_t now_ms, char *out, size_t n);
int sandbox_start(void);
void sandbox_stop(void);

/* ---- payouts.c ---- */
int payout_h_account(vz_req *req);
int payout_h_list(vz_req *req);
int payout_h_run(vz_req *req);
/* One payout pass over every seller: *made payouts created. 0 or <0. */
int payout_run(vz_db *db, int *made);
int payout_job_run(vz_db *db, const jobs_job *job, char *err, size_t errlen);
/* A payout the provider settled (or refused): once; a failure books the reversal. */
int payout_settled(vz_db *db, int64_t payout_id, const char *provider_payout_id, int ok, const char *why);
#endif
