/* payments/provider_paypal: the "paypal" payment provider (provider.h) over the PayPal
 * client (integrations/paypal.h), and the service that owns its settings. Stateless like
 * every provider; the token and certificate caches live in the client.
 *
 * Mapping (docs/internals/payments.md, "PayPal"):
 *   create  -> Orders v2 order, intent CAPTURE, custom_id = payment_ref; the buyer
 *              approves at approval_url (needs_capture)
 *   capture -> capture of the approved order; a repeat after ORDER_ALREADY_CAPTURED
 *              answers with the capture that exists (we may have lost the first answer)
 *   refund  -> refund of the capture (provider_charge_id)
 *   lookup  -> the order, with its first capture
 *   webhook -> transmission signature checked offline, then CHECKOUT.ORDER.APPROVED,
 *              CHECKOUT.ORDER.VOIDED, PAYMENT.CAPTURE.COMPLETED / DENIED / REFUNDED;
 *              the rest PAY_EIGNORED. A REFUNDED event names the capture, not the order
 *              (PayPal's refund resource has no order id): provider_payment_id is "".
 *   payout  -> none (issue 20 pays sellers with Stripe Connect). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/service.h"
#include "integrations/paypal.h"
#include "services/payments/provider.h"
#include "services/payments/provider_services.h"

/* a string into a char array, cut to fit (ids fit; messages may be cut) */
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(dst) - 1, (src))

static struct {
  char client_id[256], client_secret[256], webhook_id[128], api_base[256];
  char cert_hosts[512], cert_ca[512];
  int timeout_ms;
} pp_set = { .timeout_ms = 10000 };

static const vz_opt paypal_opts[] = {
  VZ_OPT("paypal-client-id", "VIDZO_PAYPAL_CLIENT_ID", VZ_OPT_STR, pp_set.client_id, 0, 0,
         "PayPal REST app client id (none: the paypal provider is off)"),
  VZ_OPT("paypal-secret", "VIDZO_PAYPAL_SECRET", VZ_OPT_STR, pp_set.client_secret, 0, 0,
         "PayPal REST app secret; never logged"),
  VZ_OPT("paypal-webhook-id", "VIDZO_PAYPAL_WEBHOOK_ID", VZ_OPT_STR, pp_set.webhook_id, 0, 0,
         "the id PayPal gave the webhook /v1/payments/webhooks/paypal (part of what it signs)"),
  VZ_OPT("paypal-api-base", "VIDZO_PAYPAL_API_BASE", VZ_OPT_STR, pp_set.api_base, 0, 0,
         "PayPal API base URL (https://api-m.paypal.com; https://api-m.sandbox.paypal.com; a fake in tests)"),
  VZ_OPT("paypal-cert-hosts", "VIDZO_PAYPAL_CERT_HOSTS", VZ_OPT_STR, pp_set.cert_hosts, 0, 0,
         "extra host:port list allowed to serve webhook signing certificates, http included (tests only)"),
  VZ_OPT("paypal-cert-ca", "VIDZO_PAYPAL_CERT_CA", VZ_OPT_STR, pp_set.cert_ca, 0, 0,
         "PEM file of roots trusted for webhook signing certificates (the system's)"),
  VZ_OPT("paypal-timeout-ms", "VIDZO_PAYPAL_TIMEOUT_MS", VZ_OPT_INT, pp_set.timeout_ms, 100, 60000,
         "ms per attempt of a PayPal call (10000)"),
  { 0 },
};

static void to_pay_err(int rc, const paypal_err *pe, pay_err *err) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  snprintf(err->message, sizeof err->message, "paypal: %.180s", pe->message[0] ? pe->message : "failed");
  err->http_status = pe->http_status;
  err->retry_after_s = rc == PAYPAL_EUNAVAILABLE ? (pe->retry_after_s > 0 ? pe->retry_after_s : 5) : 0;
  COPY(err->code, pe->issue[0] ? pe->issue : pe->name);
}

static int to_pay_rc(int rc) {
  switch (rc) {
  case PAYPAL_OK: return PAY_OK;
  case PAYPAL_EUNAVAILABLE: return PAY_EUNAVAILABLE;
  case PAYPAL_EUNKNOWN: return PAY_EUNKNOWN;
  case PAYPAL_EAUTH: return PAY_EAUTH;
  case PAYPAL_ENOTFOUND: return PAY_ENOTFOUND;
  case PAYPAL_EPROTO: return PAY_EUNKNOWN;
  }
  return PAY_EINVAL;
}

static pay_status order_status(const paypal_order *o) {
  if (o->capture_id[0]) {
    const char *c = o->capture_status;
    if (!strcmp(c, "COMPLETED") || !strcmp(c, "PARTIALLY_REFUNDED") || !strcmp(c, "REFUNDED")) return PAY_ST_SUCCEEDED;
    if (!strcmp(c, "DECLINED") || !strcmp(c, "FAILED")) return PAY_ST_FAILED;
    return PAY_ST_PENDING; /* PENDING: an eCheck, a review; a webhook settles it */
  }
  const char *s = o->status;
  if (!strcmp(s, "CREATED") || !strcmp(s, "SAVED")) return PAY_ST_PENDING;
  if (!strcmp(s, "PAYER_ACTION_REQUIRED")) return PAY_ST_REQUIRES_ACTION;
  if (!strcmp(s, "APPROVED")) return PAY_ST_APPROVED;
  if (!strcmp(s, "VOIDED")) return PAY_ST_CANCELED;
  return PAY_ST_UNKNOWN;
}

static int pp_ready(void) { return paypal_configured() && pp_set.webhook_id[0]; }

static int pp_create(const pay_create_req *in, pay_create_res *out, pay_err *err) {
  paypal_order o;
  paypal_err pe;
  memset(out, 0, sizeof *out);
  int rc = paypal_order_create(in->amount, in->currency, in->payment_ref, in->return_url, in->cancel_url,
                               in->idempotency_key, &o, &pe);
  if (rc) { to_pay_err(rc, &pe, err); return to_pay_rc(rc); }
  COPY(out->provider_payment_id, o.id);
  COPY(out->approval_url, o.approve_url);
  out->status = order_status(&o);
  return PAY_OK;
}

static void capture_out(const paypal_order *o, pay_capture_res *out) {
  out->status = order_status(o);
  COPY(out->provider_charge_id, o->capture_id);
  out->amount = o->amount;
  memcpy(out->currency, o->currency, sizeof out->currency);
}

static int pp_capture(const char *id, const char *idem, pay_capture_res *out, pay_err *err) {
  paypal_order o;
  paypal_err pe;
  memset(out, 0, sizeof *out);
  int rc = paypal_order_capture(id, idem, &o, &pe);
  if (rc == PAYPAL_EREFUSED && !strcmp(pe.issue, "ORDER_ALREADY_CAPTURED")) {
    /* captured before, under another key or by a call whose answer we lost: the
     * order tells which capture it was */
    rc = paypal_order_get(id, &o, &pe);
  }
  if (rc) { to_pay_err(rc, &pe, err); return to_pay_rc(rc); }
  capture_out(&o, out);
  return PAY_OK;
}

static int pp_refund(const pay_refund_req *in, pay_refund_res *out, pay_err *err) {
  paypal_err pe;
  paypal_refund_res r;
  memset(out, 0, sizeof *out);
  int rc = paypal_refund(in->provider_charge_id, in->amount, in->currency, in->idempotency_key, &r, &pe);
  if (rc) { to_pay_err(rc, &pe, err); return to_pay_rc(rc); }
  COPY(out->provider_refund_id, r.id);
  /* PENDING (an eCheck capture): PAYMENT.CAPTURE.REFUNDED settles it later */
  out->status = !strcmp(r.status, "COMPLETED") ? PAY_ST_SUCCEEDED
              : !strcmp(r.status, "CANCELLED") || !strcmp(r.status, "FAILED") ? PAY_ST_FAILED : PAY_ST_PENDING;
  return PAY_OK;
}

static int pp_lookup(const char *id, pay_lookup_res *out, pay_err *err) {
  paypal_order o;
  paypal_err pe;
  memset(out, 0, sizeof *out);
  int rc = paypal_order_get(id, &o, &pe);
  if (rc) { to_pay_err(rc, &pe, err); return to_pay_rc(rc); }
  out->status = order_status(&o);
  COPY(out->provider_charge_id, o.capture_id);
  COPY(out->payment_ref, o.order_ref);
  out->amount = o.amount;
  out->amount_captured = out->status == PAY_ST_SUCCEEDED ? o.amount : 0;
  memcpy(out->currency, o.currency, sizeof out->currency);
  out->processor_fee = o.fee;
  return PAY_OK;
}

static const char *header(const vz_header *h, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (h[i].name && !strcasecmp(h[i].name, name)) return h[i].value;
  return NULL;
}

static int pp_webhook(const vz_header *headers, int nheaders, const char *body, size_t body_len, int64_t now_ms,
                      pay_event *ev, pay_err *err) {
  memset(ev, 0, sizeof *ev);
  if (err) memset(err, 0, sizeof *err);
  paypal_wh_headers h = {
    .transmission_id = header(headers, nheaders, "PAYPAL-TRANSMISSION-ID"),
    .transmission_time = header(headers, nheaders, "PAYPAL-TRANSMISSION-TIME"),
    .transmission_sig = header(headers, nheaders, "PAYPAL-TRANSMISSION-SIG"),
    .cert_url = header(headers, nheaders, "PAYPAL-CERT-URL"),
    .auth_algo = header(headers, nheaders, "PAYPAL-AUTH-ALGO"),
  };
  int vr = paypal_webhook_verify(&h, body, body_len);
  if (vr != PAYPAL_WH_OK) {
    if (err) {
      snprintf(err->message, sizeof err->message, "paypal webhook: %s", paypal_wh_strerror(vr));
      if (vr == PAYPAL_WH_EUNAVAILABLE) err->retry_after_s = 30;
    }
    return vr == PAYPAL_WH_EUNAVAILABLE ? PAY_EUNAVAILABLE : vr == PAYPAL_WH_ENOCONFIG ? PAY_ECONFIG : PAY_ESIGNATURE;
  }
  paypal_event pe;
  if (paypal_event_parse(body, body_len, &pe) < 0) {
    if (err) snprintf(err->message, sizeof err->message, "paypal webhook: not an event we can read");
    return PAY_EINVAL;
  }
  COPY(ev->event_id, pe.id);
  ev->created_ms = pe.created_ms;
  ev->amount = pe.amount;
  memcpy(ev->currency, pe.currency, sizeof ev->currency);
  COPY(ev->provider_payment_id, pe.paypal_order_id);
  COPY(ev->provider_charge_id, pe.capture_id);
  COPY(ev->payment_ref, pe.order_ref);
  const char *t = pe.event_type;
  if (!strcmp(t, "CHECKOUT.ORDER.APPROVED")) ev->type = PAY_EV_APPROVED;
  else if (!strcmp(t, "CHECKOUT.ORDER.VOIDED")) ev->type = PAY_EV_CANCELED;
  else if (!strcmp(t, "PAYMENT.CAPTURE.COMPLETED")) ev->type = PAY_EV_SUCCEEDED, ev->processor_fee = pe.fee;
  else if (!strcmp(t, "PAYMENT.CAPTURE.DENIED")) ev->type = PAY_EV_FAILED;
  else if (!strcmp(t, "PAYMENT.CAPTURE.REFUNDED")) {
    ev->type = PAY_EV_REFUNDED;
    COPY(ev->provider_refund_id, pe.resource_id);
  } else {
    return PAY_EIGNORED;
  }
  if (!ev->provider_payment_id[0] && !ev->provider_charge_id[0]) return PAY_EINVAL;
  return PAY_OK;
}

static const pay_provider paypal_provider = {
  .name = "paypal", .needs_capture = 1, .ready = pp_ready, .create = pp_create, .capture = pp_capture,
  .refund = pp_refund, .lookup = pp_lookup, .webhook = pp_webhook, .payout = NULL,
};

static int paypal_service_init(void) {
  if (pp_set.client_id[0] &&
      paypal_configure(&(paypal_conf){ .client_id = pp_set.client_id, .client_secret = pp_set.client_secret,
                                       .webhook_id = pp_set.webhook_id, .api_base = pp_set.api_base,
                                       .cert_hosts = pp_set.cert_hosts, .cert_ca = pp_set.cert_ca,
                                       .timeout_ms = pp_set.timeout_ms }) < 0)
    return -1;
  return pay_provider_register(&paypal_provider);
}

/* the cached token and certificates go with the process (and leak checks see nothing) */
static void paypal_service_stop(void) { paypal_reset(); }

const vz_service payments_paypal_service = {
  .name = "payments_paypal", .opts = paypal_opts, .init = paypal_service_init, .stop = paypal_service_stop,
};
