/* integrations/stripe: the Stripe REST client (PaymentIntents, refunds, Connect
 * transfers, lookups) and the webhook side (Stripe-Signature, event parsing), on top of
 * integrations/http.h. The payments provider adapter (services/payments/provider_stripe.c)
 * is its only user; nothing here knows about orders or the ledger.
 *
 * Calls block (integ_call_sync): worker threads and job workers only. Every POST carries
 * the caller's Idempotency-Key, so the layer may retry it after a timeout or 5xx and
 * Stripe answers a repeat with the first response. Bodies are form-encoded (stripe_form).
 * The secret key only ever goes into the Authorization header; nothing here logs it.
 * docs/internals/payments.md, "Stripe". */
#ifndef VZ_INTEG_STRIPE_H
#define VZ_INTEG_STRIPE_H
#include <stddef.h>
#include <stdint.h>

/* ---- settings (stripe_configure; the adapter owns the VIDZO_STRIPE_* rows) ---------- */
typedef struct stripe_conf {
  const char *secret_key;      /* sk_live_... / sk_test_...: Bearer auth */
  const char *webhook_secret;  /* whsec_...: the endpoint's signing secret */
  const char *api_base;        /* "https://api.stripe.com" (no trailing slash); a fake in tests */
  int timeout_ms;              /* per attempt [10000] */
} stripe_conf;
/* Copies conf and registers the "stripe" breaker. Call once before any call; 0 or -1. */
int stripe_configure(const stripe_conf *conf);
int stripe_configured(void);   /* a secret key was given */

/* ---- errors ---------------------------------------------------------------------- */
enum {
  STRIPE_OK = 0,
  STRIPE_EINVAL = -1,        /* our own bad argument (nothing was sent) */
  STRIPE_EUNAVAILABLE = -2,  /* breaker open, could not connect, 5xx, 429: try later */
  STRIPE_EREFUSED = -3,      /* Stripe answered 4xx: card declined, bad request, idempotency */
  STRIPE_EAUTH = -4,         /* 401/403: our key is wrong (an operator problem) */
  STRIPE_EPROTO = -5,        /* an answer we cannot read */
  STRIPE_ENOTFOUND = -6,     /* 404 on a lookup */
  STRIPE_EUNKNOWN = -7,      /* a POST left and no answer came: it may have taken effect;
                                repeat it with the same Idempotency-Key */
};
typedef struct stripe_err {
  int http_status;           /* 0 when no answer */
  int retry_after_s;         /* for EUNAVAILABLE: when to try again (>= 1) */
  char type[48];             /* Stripe's error.type: card_error, idempotency_error ... */
  char code[48];             /* Stripe's error.code, when given */
  char message[200];         /* Stripe's error.message, or ours */
} stripe_err;

/* ---- form encoding (application/x-www-form-urlencoded, Stripe's nested keys) -------- */
/* Keys and values are percent-encoded byte by byte: only ALPHA DIGIT - . _ ~ stay as
 * they are, so "metadata[order_id]" goes out as "metadata%5Border_id%5D" (what Stripe's
 * own libraries send) and a value with '&' or '=' cannot forge another field. */
typedef struct stripe_form {
  char *buf;
  size_t len, cap;
  int oom;                   /* an append failed: the form is unusable */
} stripe_form;
void stripe_form_add(stripe_form *f, const char *key, const char *value);
void stripe_form_add_int(stripe_form *f, const char *key, int64_t value);
void stripe_form_free(stripe_form *f);

/* ---- objects ---------------------------------------------------------------------- */
typedef struct stripe_pi {
  char id[96];               /* pi_... */
  char status[32];           /* requires_payment_method, processing, succeeded, canceled ... */
  int64_t amount, amount_received;
  char currency[4];          /* upper case, as we store it */
  char client_secret[160];   /* for the browser's confirmation (Stripe.js) */
  char payment_ref[64];      /* metadata[payment_ref]: our payment row */
  char latest_charge[96];    /* ch_..., for refunds and fees */
  int64_t amount_refunded;   /* from the expanded latest_charge (stripe_pi_get) */
  int64_t fee;               /* latest_charge.balance_transaction.fee (stripe_pi_get), 0 unknown */
  int has_error;             /* last_payment_error set: the last attempt was declined */
  int64_t created;
} stripe_pi;

/* Creates a PaymentIntent for amount (minor units, > 0) in currency (ISO 4217, any case)
 * with metadata[payment_ref] (our payment, [A-Za-z0-9_-]{1,63}), metadata[order_id]
 * (free text for the dashboard, may be NULL) and automatic payment methods. */
int stripe_pi_create(int64_t amount, const char *currency, const char *payment_ref, const char *order_ref,
                     const char *description, const char *idem_key, stripe_pi *out, stripe_err *err);
/* With latest_charge and its balance_transaction expanded: amount_refunded and the fee. */
int stripe_pi_get(const char *pi_id, stripe_pi *out, stripe_err *err);
/* The PaymentIntent whose metadata[payment_ref] is payment_ref (search API; a succeeded
 * one first, else the newest): finds an intent whose id we never stored. ENOTFOUND: none. */
int stripe_pi_find_by_ref(const char *payment_ref, stripe_pi *out, stripe_err *err);
int stripe_pi_cancel(const char *pi_id, const char *idem_key, stripe_pi *out, stripe_err *err);
typedef struct stripe_obj {
  char id[96];               /* re_..., tr_... */
  char status[32];           /* refunds: succeeded, pending, failed, canceled; transfers: "" */
} stripe_obj;
/* Refunds amount (> 0; partial allowed) of the PaymentIntent, metadata[refund_ref]. */
int stripe_refund_create(const char *pi_id, int64_t amount, const char *refund_ref,
                         const char *idem_key, stripe_obj *out, stripe_err *err);
/* Connect transfer to a connected account (acct_...), metadata[payout_ref]. */
int stripe_transfer_create(int64_t amount, const char *currency, const char *destination,
                           const char *payout_ref, const char *idem_key, stripe_obj *out, stripe_err *err);

/* ---- webhooks --------------------------------------------------------------------- */
#define STRIPE_SIG_MAX_V1 8        /* more v1 entries than this: the rest are ignored */
#define STRIPE_SIG_TOLERANCE_S 300
enum {
  STRIPE_SIG_OK = 0,
  STRIPE_SIG_EHEADER = -1,     /* missing, too long, no t, t not a number, no v1 */
  STRIPE_SIG_EMISMATCH = -2,   /* no v1 matches HMAC-SHA256(secret, t "." body) */
  STRIPE_SIG_ESTALE = -3,      /* matches, but t is more than the tolerance from now */
  STRIPE_SIG_ENOSECRET = -4,   /* no webhook secret configured */
};
typedef struct stripe_sig {
  int64_t t;
  int nv1;                             /* well-formed v1 signatures kept */
  int bad_v1;                          /* v1 entries refused (not 64 hex digits) */
  unsigned char v1[STRIPE_SIG_MAX_V1][32];
} stripe_sig;
/* Parses "t=...,v1=...,v1=...,v0=..." (other schemes ignored). 0 or STRIPE_SIG_EHEADER. */
int stripe_sig_parse(const char *header, size_t len, stripe_sig *out);
/* Verifies a webhook: header is Stripe-Signature's value, secret the endpoint secret,
 * now_s the wall clock in seconds. Any one v1 may match (a rotated secret signs with
 * both); the compare is constant-time. */
int stripe_sig_verify(const char *header, size_t hlen, const void *body, size_t blen,
                      const char *secret, int64_t now_s, int tolerance_s);
/* The same with the configured secret and the clock. */
int stripe_webhook_verify(const char *header, size_t hlen, const void *body, size_t blen);
const char *stripe_sig_strerror(int rc);

/* A webhook event, reduced to what payments acts on. */
typedef struct stripe_event {
  char id[96];               /* evt_...: processed exactly once */
  char type[64];             /* payment_intent.succeeded, charge.refunded ... */
  int64_t created;
  int livemode;
  char object[32];           /* data.object.object: payment_intent, charge, refund, transfer */
  char object_id[96];        /* data.object.id */
  char payment_intent[96];   /* the PaymentIntent it concerns ("" if none) */
  int64_t amount;            /* pi: amount_received (or amount); charge: amount_refunded;
                                refund / transfer: amount */
  char currency[4];          /* upper case */
  char status[32];
  char charge[96];           /* pi: latest_charge; charge: its id; refund: its charge */
  char payment_ref[64];      /* metadata.payment_ref (pi, charge) */
  char refund_ref[64];       /* metadata.refund_ref (refund) */
  char payout_ref[64];       /* metadata.payout_ref (transfer) */
  char failure[200];         /* last_payment_error.message / failure_message */
} stripe_event;
/* 0, or -1 when the body is not a Stripe event (not JSON, no id/type/data.object). */
int stripe_event_parse(const char *body, size_t len, stripe_event *ev);
#endif
