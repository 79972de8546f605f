/* integrations/paypal: the PayPal REST client (OAuth2 client-credentials token, Orders v2
 * create / capture / get, capture refunds) and offline webhook verification, on top of
 * integrations/http.h. Used by services/payments/provider_paypal.c only.
 *
 * Calls block (integ_call_sync): worker threads and job workers only. Every POST but the
 * token's carries PayPal-Request-Id (PayPal's idempotency key). The token is cached until
 * a minute before it expires and shared by all threads; a 401 drops it and the call is
 * made once more with a fresh one. Client secret and tokens are never logged.
 *
 * Webhooks are verified without calling PayPal's verify API: the signature in
 * PAYPAL-TRANSMISSION-SIG is RSA-SHA256 over
 *     transmission_id|transmission_time|webhook_id|crc32(body)
 * (crc32 in decimal), checked with the certificate PAYPAL-CERT-URL points at. That URL
 * must be on the allow-list (https and *.paypal.com or the API's own host, or a host of
 * VIDZO_PAYPAL_CERT_HOSTS); the certificate is fetched through integrations/http (its own
 * "paypal_certs" breaker), verified against the trust store (system CAs, or
 * VIDZO_PAYPAL_CERT_CA), checked for its validity dates at every use, and cached in
 * memory. docs/internals/payments.md, "PayPal". */
#ifndef VZ_INTEG_PAYPAL_H
#define VZ_INTEG_PAYPAL_H
#include <stddef.h>
#include <stdint.h>

typedef struct paypal_conf {
  const char *client_id, *client_secret;
  const char *webhook_id;     /* the id PayPal gave our webhook: part of the signed message */
  const char *api_base;       /* "https://api-m.paypal.com" (sandbox: api-m.sandbox...) */
  const char *cert_hosts;     /* extra allowed cert hosts, "host[:port],..." (tests: the fake) */
  const char *cert_ca;        /* PEM file of trusted roots; NULL/"": the system's */
  int timeout_ms;             /* per attempt [10000] */
} paypal_conf;
/* Copies conf, registers the "paypal" and "paypal_certs" breakers. 0 or -1. */
int paypal_configure(const paypal_conf *conf);
int paypal_configured(void);
/* Frees the cached token and certificates (stop; tests). */
void paypal_reset(void);

enum {
  PAYPAL_OK = 0,
  PAYPAL_EINVAL = -1,        /* our bad argument, nothing sent */
  PAYPAL_EUNAVAILABLE = -2,  /* breaker open, could not connect, 5xx, 429 */
  PAYPAL_EREFUSED = -3,      /* PayPal answered 4xx (422 UNPROCESSABLE_ENTITY, declined ...) */
  PAYPAL_EAUTH = -4,         /* the client credentials are refused */
  PAYPAL_EPROTO = -5,        /* an answer we cannot read */
  PAYPAL_ENOTFOUND = -6,
  PAYPAL_EUNKNOWN = -7,      /* a POST left and no answer came: repeat with the same
                                PayPal-Request-Id, or look the order up */
};
typedef struct paypal_err {
  int http_status;
  int retry_after_s;
  char name[64];             /* PayPal's "name": UNPROCESSABLE_ENTITY, RESOURCE_NOT_FOUND ... */
  char issue[64];            /* details[0].issue: ORDER_NOT_APPROVED, INSTRUMENT_DECLINED ... */
  char message[200];
} paypal_err;

/* Minor units <-> PayPal's decimal strings. PayPal has 2 decimals, or none for HUF, JPY
 * and TWD; other currencies are refused (-1). */
int paypal_amount_format(int64_t minor, const char *currency, char *out, size_t cap);
int paypal_amount_parse(const char *value, const char *currency, int64_t *minor);

typedef struct paypal_order {
  char id[64];               /* PayPal's order id */
  char status[32];           /* CREATED, APPROVED, COMPLETED, VOIDED ... */
  char order_ref[64];        /* purchase_units[0].custom_id: our payment reference */
  int64_t amount;
  char currency[4];
  int64_t fee;               /* the capture's seller_receivable_breakdown.paypal_fee, 0 unknown */
  char approve_url[512];     /* links[rel=approve|payer-action]: where the buyer goes */
  char capture_id[64];       /* purchase_units[0].payments.captures[0] */
  char capture_status[32];   /* COMPLETED, PENDING, DECLINED ... */
} paypal_order;

/* custom_id = payment_ref (our payment, [A-Za-z0-9_-]); return/cancel URLs may be NULL. */
int paypal_order_create(int64_t amount, const char *currency, const char *payment_ref,
                        const char *return_url, const char *cancel_url,
                        const char *request_id, paypal_order *out, paypal_err *err);
int paypal_order_capture(const char *order_id, const char *request_id, paypal_order *out, paypal_err *err);
int paypal_order_get(const char *order_id, paypal_order *out, paypal_err *err);
typedef struct paypal_refund_res {
  char id[64];
  char status[32];           /* COMPLETED, PENDING, CANCELLED, FAILED */
} paypal_refund_res;
int paypal_refund(const char *capture_id, int64_t amount, const char *currency, const char *request_id,
                  paypal_refund_res *out, paypal_err *err);

/* ---- webhooks --------------------------------------------------------------------- */
enum {
  PAYPAL_WH_OK = 0,
  PAYPAL_WH_EHEADER = -1,    /* a header missing or malformed, or not SHA256withRSA */
  PAYPAL_WH_ECERTURL = -2,   /* PAYPAL-CERT-URL not on the allow-list */
  PAYPAL_WH_ECERT = -3,      /* the certificate could not be fetched, read or trusted, or
                                is outside its validity dates */
  PAYPAL_WH_EMISMATCH = -4,  /* the signature does not verify */
  PAYPAL_WH_ENOCONFIG = -5,  /* no webhook id configured */
  PAYPAL_WH_EUNAVAILABLE = -6, /* the certificate host could not be reached: try later */
};
const char *paypal_wh_strerror(int rc);

/* The signed message: "tid|time|webhook_id|crc32". Its length, or -1 if cap is short. */
long paypal_webhook_message(const char *transmission_id, const char *transmission_time,
                            const char *webhook_id, const void *body, size_t blen,
                            char *out, size_t cap);
/* 1 when url may serve a PayPal signing certificate: https (or http for a host listed
 * in extra_hosts, the tests' fake), no user info, and a host that is *.paypal.com, the
 * host of api_base, or in extra_hosts ("host[:port]" comma list). */
int paypal_cert_url_allowed(const char *url, const char *api_base, const char *extra_hosts);

typedef struct paypal_wh_headers {
  const char *transmission_id, *transmission_time, *transmission_sig, *cert_url, *auth_algo;
} paypal_wh_headers;
/* Verifies with the configured webhook id and the (cached) certificate. */
int paypal_webhook_verify(const paypal_wh_headers *h, const void *body, size_t blen);
/* The same with a certificate in hand (PEM): unit tests and the fuzz target. */
int paypal_webhook_verify_pem(const paypal_wh_headers *h, const char *webhook_id,
                              const void *body, size_t blen, const char *pem, size_t pemlen);

typedef struct paypal_event {
  char id[64];               /* WH-...: processed exactly once */
  char event_type[64];       /* CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED ... */
  char resource_type[32];    /* checkout-order, capture, refund */
  char resource_id[64];
  char status[32];
  char order_ref[64];        /* custom_id: our order */
  char paypal_order_id[64];  /* the order (resource id, or related_ids.order_id) */
  char capture_id[64];       /* the capture (resource id, or the refund's "up" link) */
  int64_t amount;            /* minor units; 0 when the resource has none */
  char currency[4];
  int64_t fee;               /* capture: seller_receivable_breakdown.paypal_fee, else 0 */
  int64_t created_ms;        /* create_time, 0 when absent or unreadable */
} paypal_event;
/* 0, or -1 when the body is not a PayPal event we can read. */
int paypal_event_parse(const char *body, size_t len, paypal_event *ev);
#endif
