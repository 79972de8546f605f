/* payments/service.c: the descriptor: settings, routes, job queues, and the start-up that
 * opens the sandbox processor's connection and schedules the first reconciliation and
 * payout runs (each run schedules the next: one job per time slot, de-duplicated by its
 * key across instances). */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/service.h"
#include "jobs/jobs.h"
#include "services/payments/internal.h"
#include "services/payments/payments.h"

int pay_fee_bps = 1000;
char pay_default_provider[32] = "sandbox";
char pay_sandbox_secret[128] = "";
int pay_payout_minimum = 1000;
int pay_payout_interval = 86400;
int pay_reconcile_interval = 60;

static const vz_opt payments_opts[] = {
  VZ_OPT("platform-fee-bps", "VIDZO_PLATFORM_FEE_BPS", VZ_OPT_INT, pay_fee_bps, 0, 10000,
         "platform fee in basis points of each order total (1000 = 10%)"),
  VZ_OPT("payment-provider", "VIDZO_PAYMENT_PROVIDER", VZ_OPT_STR, pay_default_provider, 0, 0,
         "provider used when a payment names none: sandbox, stripe or paypal (sandbox)"),
  VZ_OPT("sandbox-webhook-secret", "VIDZO_SANDBOX_WEBHOOK_SECRET", VZ_OPT_STR, pay_sandbox_secret, 0, 0,
         "signing secret of the sandbox provider's webhooks; instances behind one balancer share it (random)"),
  VZ_OPT("payout-minimum", "VIDZO_PAYOUT_MINIMUM", VZ_OPT_INT, pay_payout_minimum, 1, 1000000000,
         "smallest seller balance paid out, minor units (1000)"),
  VZ_OPT("payout-interval-seconds", "VIDZO_PAYOUT_INTERVAL_SECONDS", VZ_OPT_INT, pay_payout_interval, 10, 31 * 86400,
         "seconds between scheduled payout runs (86400)"),
  VZ_OPT("payments-reconcile-seconds", "VIDZO_PAYMENTS_RECONCILE_SECONDS", VZ_OPT_INT, pay_reconcile_interval, 5, 86400,
         "seconds between reconciliation passes over open payments (60)"),
  { 0 },
};

static int payments_init(void) {
  if (!pay_sandbox_secret[0]) {
    unsigned char r[24];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f ? fread(r, 1, sizeof r, f) : 0;
    if (f) fclose(f);
    if (n != sizeof r) return -1;
    for (size_t i = 0; i < sizeof r; i++) snprintf(pay_sandbox_secret + 2 * i, 3, "%02x", r[i]);
  }
  return pay_provider_register(&pay_sandbox_provider);
}

static int payments_start(void) {
  const pay_provider *p = pay_provider_find(pay_default_provider);
  if (!p) {
    vz_log_error("--payment-provider names no registered provider", "provider", pay_default_provider);
    return -1;
  }
  if (!p->ready()) vz_log_warn("the default payment provider is not configured: checkout cannot be paid", "provider", p->name);
  if (sandbox_start() < 0) return -1;
  vz_db *db = NULL;
  char err[160];
  if (db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) return -1;
  char key[48];
  int64_t now_s = db_now_ms() / 1000;
  snprintf(key, sizeof key, "reconcile-%lld", (long long)(now_s / pay_reconcile_interval + 1));
  jobs_enqueue(db, "payments.reconcile", "{}", (now_s / pay_reconcile_interval + 1) * pay_reconcile_interval * 1000, key, NULL);
  snprintf(key, sizeof key, "payouts-%lld", (long long)(now_s / pay_payout_interval + 1));
  jobs_enqueue(db, "payments.payouts", "{}", (now_s / pay_payout_interval + 1) * pay_payout_interval * 1000, key, NULL);
  db_close(db);
  return 0;
}

static void payments_stop(void) { sandbox_stop(); }

static const vz_field create_in[] = {
  { "checkout_id", VZ_ID, VZ_REQUIRED }, { "provider", VZ_STR, 0, 1, 31 }, { 0 },
};
static const vz_field settle_in[] = { { "outcome", VZ_ENUM, VZ_REQUIRED, 0, 10, "succeed|fail" }, { 0 } };
static const vz_field reconcile_in[] = { { "min_age_seconds", VZ_INT, 0, 0, 86400 }, { 0 } };
static const vz_field account_in[] = {
  { "provider", VZ_STR, VZ_REQUIRED, 1, 31 }, { "destination", VZ_STR, VZ_REQUIRED, 1, 127 }, { 0 },
};
static const vz_field earnings_query[] = { { "period", VZ_ENUM, 0, 0, 10, "day|week|month" }, { 0 } };

static vz_route payments_routes[] = {
  VZ_POST("/v1/payments", pay_h_create, .op = "createPayment", .summary = "Pay a checkout through a provider", .res = "Payment", .ok = 201, .errors = "200 404 409 502", .body = create_in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 120),
  VZ_GET("/v1/payments/:id", pay_h_show, .op = "getPayment", .summary = "A payment (its buyer or an admin)", .res = "Payment", .errors = "404", .flags = VZ_AUTH),
  VZ_POST("/v1/sandbox/payments/:id/settle", sandbox_h_settle, .op = "settleSandboxPayment", .summary = "Sandbox: succeed or fail a pending payment", .res = "SandboxSettlement", .errors = "404 409", .body = settle_in, .flags = VZ_AUTH),
  VZ_POST("/v1/payments/webhooks/:provider", pay_h_webhook, .op = "receivePaymentWebhook", .summary = "Provider webhook: verified, each event applied once", .res = "WebhookAck", .errors = "404", .flags = VZ_RAW_BODY, .max_body = 262144, .rate_per_min = 6000),
  VZ_POST("/v1/admin/payments/reconcile", pay_h_reconcile, .op = "reconcilePayments", .summary = "Run a reconciliation pass now", .res = "ReconcileResult", .body = reconcile_in, .flags = VZ_ROLE_ADMIN),
  VZ_GET("/v1/admin/ledger/check", ledger_h_check, .op = "checkLedger", .summary = "Ledger invariants against orders, refunds and payouts", .res = "LedgerCheck", .flags = VZ_ROLE_ADMIN),
  VZ_GET("/v1/admin/ledger/summary", ledger_h_summary, .op = "getLedgerSummary", .summary = "Platform earnings and balances per currency, summed over the ledger", .res = "LedgerSummary", .flags = VZ_ROLE_ADMIN),
  VZ_POST("/v1/admin/payouts/run", payout_h_run, .op = "runPayouts", .summary = "Run the payout schedule now", .res = "PayoutRunResult", .flags = VZ_ROLE_ADMIN),
  VZ_GET("/v1/sellers/me/balance", ledger_h_balance, .op = "getMyBalance", .summary = "The seller's balances", .res = "Balances", .flags = VZ_ROLE_SELLER),
  VZ_GET("/v1/sellers/me/earnings", ledger_h_earnings, .op = "getMyEarnings", .summary = "Sales, refunds and net per day, week or month", .res = "Earnings", .query = earnings_query, .flags = VZ_ROLE_SELLER),
  VZ_PUT("/v1/sellers/me/payout-account", payout_h_account, .op = "setPayoutAccount", .summary = "Where payouts go", .res = "PayoutAccount", .body = account_in, .flags = VZ_ROLE_SELLER),
  VZ_GET("/v1/sellers/me/payouts", payout_h_list, .op = "listMyPayouts", .summary = "The seller's payouts", .res = "Payout[]", .flags = VZ_ROLE_SELLER),
  { 0 },
};

static const vz_queue payments_queues[] = {
  { "payments.refund", pay_job_refund, 60000 },
  { "payments.orphan_refund", pay_job_orphan, 60000 },
  { "payments.capture", pay_job_capture, 60000 },
  { "payments.reconcile", pay_job_reconcile, 300000 },
  { "payments.payouts", payout_job_run, 300000 },
  { 0 },
};

const vz_service payments_service = {
  .name = "payments", .about = "Payments through a provider (sandbox, Stripe, PayPal), webhooks applied once, the double-entry ledger, seller balances and payouts",
  .opts = payments_opts, .routes = payments_routes, .queues = payments_queues,
  .init = payments_init, .start = payments_start, .stop = payments_stop,
};
