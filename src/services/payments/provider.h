/* payments/provider: the one interface every payment processor implements (sandbox here;
 * stripe and paypal in src/integrations/). The payments service owns the money logic:
 * payment rows, orders' state, the ledger, exactly-once webhook processing, reconciliation
 * and payouts. A provider only talks to its processor and translates: it keeps no
 * database state and never touches orders or the ledger.
 *
 * Threads: every call is synchronous and is made from a worker-pool request handler or a
 * job worker, never an io loop, so a provider calls its remote through
 * integ_call_sync (integrations/http.h: timeouts, retries of idempotent calls, one breaker
 * per integration). All functions must be thread-safe (a token cache needs its own lock).
 *
 * Idempotency: every mutating call carries the caller's idempotency_key; the provider
 * sends it to its processor (Stripe: Idempotency-Key header; PayPal: PayPal-Request-Id),
 * so the payments service may repeat a call whose outcome it never learnt.
 *
 * Registration: a provider's own vz_service (its settings rows: keys, webhook secret...)
 * calls pay_provider_register() from its .init; the payments service resolves providers by
 * name at .start, so the order of services in services.c does not matter. A provider
 * whose settings are missing still registers and answers ready() == 0: checkout refuses it
 * with 400 field "provider", and its webhooks answer 404.
 *
 * Stable API: changes are announced in /work/wt/NEWS.md. */
#ifndef VZ_PAYMENTS_PROVIDER_H
#define VZ_PAYMENTS_PROVIDER_H
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"   /* vz_header */

/* Return codes of every provider call. */
enum {
  PAY_OK = 0,
  PAY_EINVAL = -1,       /* the processor refused the request (4xx other than 401/409/429:
                          * bad amount, unknown id...): do not retry, nothing happened */
  PAY_EUNAVAILABLE = -2, /* nothing was done and it is known: breaker open (INTEG_EOPEN),
                          * connect failure, 429/5xx answered before any effect. Retry
                          * later; checkout answers 503 + Retry-After (err.retry_after_s) */
  PAY_EUNKNOWN = -3,     /* the request left and no answer came (timeout, broken
                          * connection after send): the effect may or may not exist.
                          * Repeat with the same idempotency key, or let reconciliation
                          * look it up */
  PAY_ESIGNATURE = -4,   /* webhook: missing, bad or stale signature (answer 400) */
  PAY_EIGNORED = -5,     /* webhook: verified, but an event type we do not act on (answer
                          * 200 so the processor stops resending; nothing changes) */
  PAY_ENOTFOUND = -6,    /* lookup: the processor does not know this id */
  PAY_ECONFIG = -7,      /* not configured (keys missing), or the operation is not
                          * supported by this provider */
  PAY_EAUTH = -8,        /* the processor refused our credentials (401/403): an operator
                          * problem, logged loudly; treated like EUNAVAILABLE by callers */
};

/* Where an error is explained (never containing secrets: it is logged and may be shown). */
typedef struct pay_err {
  char message[200];
  int retry_after_s;     /* EUNAVAILABLE: seconds to wait (breaker cool-down, Retry-After) */
  long http_status;      /* the processor's status when it answered, else 0 */
  char code[48];         /* the processor's error code ("card_declined"), "" when none */
} pay_err;

/* A payment's state at the processor, normalised. */
typedef enum pay_status {
  PAY_ST_UNKNOWN = 0,
  PAY_ST_PENDING = 1,           /* created, buyer has not paid yet (Stripe requires_payment_method
                                 * / requires_confirmation / processing; PayPal CREATED/SAVED) */
  PAY_ST_REQUIRES_ACTION = 2,   /* buyer must act (3-D Secure) or approve (PayPal PAYER_ACTION_REQUIRED) */
  PAY_ST_APPROVED = 3,          /* PayPal APPROVED: buyer approved, we must capture() */
  PAY_ST_SUCCEEDED = 4,         /* money captured (Stripe succeeded; PayPal COMPLETED capture) */
  PAY_ST_FAILED = 5,            /* declined / payment failed; may be retried by a new payment */
  PAY_ST_CANCELED = 6,          /* canceled or voided, never charged */
} pay_status;

/* Normalised webhook event kinds. */
typedef enum pay_event_type {
  PAY_EV_SUCCEEDED = 1,   /* payment captured: Stripe payment_intent.succeeded, PayPal
                           * PAYMENT.CAPTURE.COMPLETED */
  PAY_EV_FAILED = 2,      /* payment_intent.payment_failed, PAYMENT.CAPTURE.DENIED */
  PAY_EV_CANCELED = 3,    /* payment_intent.canceled, CHECKOUT.ORDER.VOIDED */
  PAY_EV_APPROVED = 4,    /* PayPal CHECKOUT.ORDER.APPROVED: the service then calls capture() */
  PAY_EV_REFUNDED = 5,    /* a refund completed: charge.refunded / refund.updated(succeeded),
                           * PAYMENT.CAPTURE.REFUNDED; amount = this refund's amount */
  PAY_EV_REFUND_FAILED = 6,
  PAY_EV_PAYOUT_PAID = 7, /* transfer.created/paid, PAYMENT.PAYOUTS-ITEM.SUCCEEDED */
  PAY_EV_PAYOUT_FAILED = 8,
} pay_event_type;

#define PAY_ID_MAX 128      /* processor ids ("pi_...", PayPal order/capture ids) */
#define PAY_REF_MAX 64      /* our references: decimal ids */

/* A verified webhook, normalised. Strings are NUL-terminated; "" when not applicable. */
typedef struct pay_event {
  char event_id[PAY_ID_MAX];            /* processor's event id: the exactly-once key */
  pay_event_type type;
  char provider_payment_id[PAY_ID_MAX]; /* Stripe PaymentIntent id; PayPal order id */
  char provider_charge_id[PAY_ID_MAX];  /* Stripe latest charge; PayPal capture id ("" if none) */
  char provider_refund_id[PAY_ID_MAX];  /* PAY_EV_REFUNDED / REFUND_FAILED */
  char provider_payout_id[PAY_ID_MAX];  /* PAY_EV_PAYOUT_* */
  char payment_ref[PAY_REF_MAX];        /* our payment reference given at create (Stripe
                                         * metadata[payment_ref], PayPal custom_id), "" when absent */
  char payout_ref[PAY_REF_MAX];         /* our payout reference given at payout() */
  int64_t amount;                       /* minor units, >= 0 (this refund's amount for REFUNDED) */
  char currency[4];                     /* ISO 4217, upper case ("USD") */
  int64_t created_ms;                   /* when the processor says it happened (ordering), 0 unknown */
  int64_t processor_fee;                /* SUCCEEDED: the processor's fee in minor units when the
                                         * event carries it (Stripe balance_transaction.fee, PayPal
                                         * seller_receivable_breakdown.paypal_fee), else 0 */
} pay_event;

/* create: a payment for one of our payment rows. */
typedef struct pay_create_req {
  int64_t amount;                 /* minor units, > 0 */
  const char *currency;           /* ISO 4217 upper case, 3 letters */
  const char *payment_ref;        /* our payment id (decimal): stored at the processor and
                                   * echoed in its webhooks and lookups */
  const char *order_ref;          /* our order id(s), for the processor's dashboard; may be NULL */
  const char *idempotency_key;    /* required */
  const char *description;        /* may be NULL */
  const char *return_url;         /* PayPal approval redirect targets; NULL: provider defaults */
  const char *cancel_url;
} pay_create_req;

typedef struct pay_create_res {
  char provider_payment_id[PAY_ID_MAX];
  char client_secret[256];        /* Stripe PaymentIntent client_secret, "" otherwise. Given to
                                   * the buyer only, never logged */
  char approval_url[512];         /* PayPal rel=approve link, "" otherwise */
  pay_status status;
} pay_create_res;

/* capture (providers with needs_capture): after approval. */
typedef struct pay_capture_res {
  pay_status status;              /* SUCCEEDED when captured */
  char provider_charge_id[PAY_ID_MAX]; /* PayPal capture id (needed for refunds) */
  int64_t amount;
  char currency[4];
} pay_capture_res;

typedef struct pay_refund_req {
  const char *provider_payment_id;
  const char *provider_charge_id; /* PayPal refunds a capture; Stripe may use the payment id */
  int64_t amount;                 /* minor units, > 0, <= what is left to refund */
  const char *currency;
  const char *idempotency_key;    /* required: one per refund row of ours */
  const char *refund_ref;         /* our refund id (decimal), stored as metadata */
  const char *reason;             /* may be NULL */
} pay_refund_req;

typedef struct pay_refund_res {
  char provider_refund_id[PAY_ID_MAX];
  pay_status status;              /* SUCCEEDED when done now; PENDING: a webhook will tell */
} pay_refund_res;

/* lookup: reconciliation asks what the processor knows of a payment. */
typedef struct pay_lookup_res {
  pay_status status;
  char provider_charge_id[PAY_ID_MAX];
  char payment_ref[PAY_REF_MAX];  /* as given at create */
  int64_t amount;                 /* amount of the payment */
  int64_t amount_captured;        /* 0 unless SUCCEEDED */
  int64_t amount_refunded;
  char currency[4];
  int64_t processor_fee;          /* as in pay_event; 0 when unknown */
} pay_lookup_res;

/* payout: money to a seller's account at the processor (Stripe Connect transfer to
 * acct_..., PayPal Payouts to an email / payer id). */
typedef struct pay_payout_req {
  const char *destination;        /* the seller's account at this processor */
  int64_t amount;                 /* minor units, > 0 */
  const char *currency;
  const char *idempotency_key;    /* required: one per payout row of ours */
  const char *payout_ref;         /* our payout id (decimal) */
} pay_payout_req;

typedef struct pay_payout_res {
  char provider_payout_id[PAY_ID_MAX];
  pay_status status;              /* SUCCEEDED (paid), PENDING (a webhook will tell), FAILED */
} pay_payout_res;

typedef struct pay_provider {
  const char *name;               /* "sandbox", "stripe", "paypal": the API's provider value,
                                   * and the webhook path /v1/payments/webhooks/<name> */
  int needs_capture;              /* 1: a payment is approved first, then capture() (PayPal) */
  /* 1 when configured and usable; 0: checkout refuses it, its webhooks answer 404. */
  int (*ready)(void);
  int (*create)(const pay_create_req *in, pay_create_res *out, pay_err *err);
  /* NULL when needs_capture is 0. */
  int (*capture)(const char *provider_payment_id, const char *idempotency_key, pay_capture_res *out,
                 pay_err *err);
  int (*refund)(const pay_refund_req *in, pay_refund_res *out, pay_err *err);
  int (*lookup)(const char *provider_payment_id, pay_lookup_res *out, pay_err *err);
  /* Verifies and parses one webhook delivery: headers as received (names in any case),
   * the raw body exactly as received, now in ms (the stale check: Stripe's 300 s
   * tolerance). PAY_OK with *ev filled, PAY_ESIGNATURE, PAY_EIGNORED (verified, type we do
   * not act on; ev->event_id still filled when known), PAY_EINVAL (verified, malformed),
   * or PAY_EUNAVAILABLE (could not fetch what verification needs, e.g. PayPal's cert:
   * answer 503 so the processor retries). Never logs the body's secrets. */
  int (*webhook)(const vz_header *headers, int nheaders, const char *body, size_t body_len, int64_t now_ms,
                 pay_event *ev, pay_err *err);
  /* NULL: payouts unsupported by this provider. */
  int (*payout)(const pay_payout_req *in, pay_payout_res *out, pay_err *err);
} pay_provider;

/* Registry (payments/provider.c). Register from a service's .init (single-threaded start
 * up); 0, or -1 when the name is taken or the registry (8) is full. The pointer must stay
 * valid for the process's life (a static const). */
int pay_provider_register(const pay_provider *p);
/* The provider named `name`, or NULL. Any thread after start-up. */
const pay_provider *pay_provider_find(const char *name);

/* The sandbox provider (payments/sandbox.c), registered by the payments service itself.
 * No network: payments are settled by POST /v1/payments/:id/sandbox/{succeed,fail}, which
 * produces a signed webhook delivery through the same webhook path as a real processor. */
extern const pay_provider pay_sandbox_provider;
#endif
