/* payments/provider_stripe: the "stripe" payment provider (provider.h) over the Stripe
 * client (integrations/stripe.h), and the service that owns its settings. It translates
 * and keeps no state: the payments service owns rows, orders, the ledger and the
 * exactly-once processing of events.
 *
 * Mapping (docs/internals/payments.md, "Stripe"):
 *   create  -> PaymentIntent (metadata payment_ref, order_id), client_secret to the buyer
 *   refund  -> Refund of the PaymentIntent (metadata refund_ref)
 *   payout  -> Connect Transfer to acct_... (metadata payout_ref, transfer_group)
 *   lookup  -> PaymentIntent with latest_charge expanded (amount_refunded)
 *   webhook -> Stripe-Signature checked, then payment_intent.succeeded / payment_failed /
 *              canceled, refund.created|updated|failed, transfer.created|reversed;
 *              anything else PAY_EIGNORED. charge.refunded is ignored on purpose: it
 *              carries the cumulative amount_refunded, and each refund.* event already
 *              carries its own amount (counting both would refund twice). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/service.h"
#include "integrations/stripe.h"
#include "services/payments/provider.h"
#include "services/payments/provider_services.h"

/* a string into a char array, cut to fit (ids fit; messages may be cut) */
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(dst) - 1, (src))

static struct {
  char secret_key[256];
  char webhook_secret[256];
  char api_base[256];
  int timeout_ms;
} st_set = { .timeout_ms = 10000 };

static const vz_opt stripe_opts[] = {
  VZ_OPT("stripe-secret-key", "VIDZO_STRIPE_SECRET_KEY", VZ_OPT_STR, st_set.secret_key, 0, 0,
         "Stripe secret key sk_... (none: the stripe provider is off); never logged"),
  VZ_OPT("stripe-webhook-secret", "VIDZO_STRIPE_WEBHOOK_SECRET", VZ_OPT_STR, st_set.webhook_secret, 0, 0,
         "signing secret whsec_... of the webhook endpoint /v1/payments/webhooks/stripe"),
  VZ_OPT("stripe-api-base", "VIDZO_STRIPE_API_BASE", VZ_OPT_STR, st_set.api_base, 0, 0,
         "Stripe API base URL (https://api.stripe.com; a fake in tests)"),
  VZ_OPT("stripe-timeout-ms", "VIDZO_STRIPE_TIMEOUT_MS", VZ_OPT_INT, st_set.timeout_ms, 100, 60000,
         "ms per attempt of a Stripe call (10000)"),
  { 0 },
};

static void to_pay_err(int rc, const stripe_err *se, pay_err *err) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  snprintf(err->message, sizeof err->message, "stripe: %.180s", se->message[0] ? se->message : "failed");
  err->http_status = se->http_status;
  err->retry_after_s = rc == STRIPE_EUNAVAILABLE ? (se->retry_after_s > 0 ? se->retry_after_s : 5) : 0;
  COPY(err->code, se->code[0] ? se->code : se->type);
}

static int to_pay_rc(int rc) {
  switch (rc) {
  case STRIPE_OK: return PAY_OK;
  case STRIPE_EUNAVAILABLE: return PAY_EUNAVAILABLE;
  case STRIPE_EUNKNOWN: return PAY_EUNKNOWN;
  case STRIPE_EAUTH: return PAY_EAUTH;
  case STRIPE_ENOTFOUND: return PAY_ENOTFOUND;
  /* an answer we could not read came after the call took effect, maybe */
  case STRIPE_EPROTO: return PAY_EUNKNOWN;
  }
  return PAY_EINVAL;
}

static pay_status pi_status(const stripe_pi *pi) {
  const char *s = pi->status;
  if (!strcmp(s, "succeeded")) return PAY_ST_SUCCEEDED;
  if (!strcmp(s, "canceled")) return PAY_ST_CANCELED;
  if (!strcmp(s, "requires_action")) return PAY_ST_REQUIRES_ACTION;
  /* after a decline the intent goes back to requires_payment_method, with the error */
  if (!strcmp(s, "requires_payment_method") && pi->has_error) return PAY_ST_FAILED;
  if (!strcmp(s, "requires_payment_method") || !strcmp(s, "requires_confirmation") ||
      !strcmp(s, "processing") || !strcmp(s, "requires_capture"))
    return PAY_ST_PENDING;
  return PAY_ST_UNKNOWN;
}

static int st_ready(void) { return stripe_configured() && st_set.webhook_secret[0]; }

static int st_create(const pay_create_req *in, pay_create_res *out, pay_err *err) {
  stripe_pi pi;
  stripe_err se;
  memset(out, 0, sizeof *out);
  int rc = stripe_pi_create(in->amount, in->currency, in->payment_ref, in->order_ref, in->description,
                            in->idempotency_key, &pi, &se);
  if (rc) { to_pay_err(rc, &se, err); return to_pay_rc(rc); }
  COPY(out->provider_payment_id, pi.id);
  COPY(out->client_secret, pi.client_secret);
  out->status = pi_status(&pi);
  return PAY_OK;
}

static int st_refund(const pay_refund_req *in, pay_refund_res *out, pay_err *err) {
  stripe_obj o;
  stripe_err se;
  memset(out, 0, sizeof *out);
  int rc = stripe_refund_create(in->provider_payment_id, in->amount, in->refund_ref, in->idempotency_key, &o, &se);
  if (rc) { to_pay_err(rc, &se, err); return to_pay_rc(rc); }
  COPY(out->provider_refund_id, o.id);
  out->status = !strcmp(o.status, "succeeded") ? PAY_ST_SUCCEEDED
              : !strcmp(o.status, "failed") || !strcmp(o.status, "canceled") ? PAY_ST_FAILED
              : PAY_ST_PENDING; /* pending, requires_action: a refund.updated will tell */
  return PAY_OK;
}

static int st_lookup(const char *id, pay_lookup_res *out, pay_err *err) {
  stripe_pi pi;
  stripe_err se;
  memset(out, 0, sizeof *out);
  int rc = stripe_pi_get(id, &pi, &se);
  if (rc) { to_pay_err(rc, &se, err); return to_pay_rc(rc); }
  out->status = pi_status(&pi);
  COPY(out->provider_charge_id, pi.latest_charge);
  COPY(out->payment_ref, pi.payment_ref);
  out->amount = pi.amount;
  out->amount_captured = out->status == PAY_ST_SUCCEEDED ? pi.amount_received : 0;
  out->amount_refunded = pi.amount_refunded;
  out->processor_fee = pi.fee;
  memcpy(out->currency, pi.currency, sizeof out->currency);
  return PAY_OK;
}

static int st_payout(const pay_payout_req *in, pay_payout_res *out, pay_err *err) {
  stripe_obj o;
  stripe_err se;
  memset(out, 0, sizeof *out);
  int rc = stripe_transfer_create(in->amount, in->currency, in->destination, in->payout_ref, in->idempotency_key, &o, &se);
  if (rc) { to_pay_err(rc, &se, err); return to_pay_rc(rc); }
  COPY(out->provider_payout_id, o.id);
  out->status = PAY_ST_SUCCEEDED; /* a transfer moves the balance when it is created */
  return PAY_OK;
}

static const char *header(const vz_header *h, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (h[i].name && !strcasecmp(h[i].name, name)) return h[i].value;
  return NULL;
}

static int st_webhook(const vz_header *headers, int nheaders, const char *body, size_t body_len, int64_t now_ms,
                      pay_event *ev, pay_err *err) {
  memset(ev, 0, sizeof *ev);
  if (err) memset(err, 0, sizeof *err);
  const char *sig = header(headers, nheaders, "Stripe-Signature");
  int vr = stripe_sig_verify(sig, sig ? strlen(sig) : 0, body, body_len, st_set.webhook_secret, now_ms / 1000,
                             STRIPE_SIG_TOLERANCE_S);
  if (vr != STRIPE_SIG_OK) {
    if (err) snprintf(err->message, sizeof err->message, "stripe webhook: %s", stripe_sig_strerror(vr));
    return vr == STRIPE_SIG_ENOSECRET ? PAY_ECONFIG : PAY_ESIGNATURE;
  }
  stripe_event se;
  if (stripe_event_parse(body, body_len, &se) < 0) {
    if (err) snprintf(err->message, sizeof err->message, "stripe webhook: not an event we can read");
    return PAY_EINVAL;
  }
  COPY(ev->event_id, se.id);
  ev->created_ms = se.created * 1000;
  ev->amount = se.amount;
  memcpy(ev->currency, se.currency, sizeof ev->currency);
  COPY(ev->provider_payment_id, se.payment_intent);
  COPY(ev->provider_charge_id, se.charge);
  COPY(ev->payment_ref, se.payment_ref);
  const char *t = se.type;
  int pi = !strcmp(se.object, "payment_intent"), re = !strcmp(se.object, "refund"), tr = !strcmp(se.object, "transfer");
  if (pi && !strcmp(t, "payment_intent.succeeded")) ev->type = PAY_EV_SUCCEEDED;
  else if (pi && !strcmp(t, "payment_intent.payment_failed")) ev->type = PAY_EV_FAILED;
  else if (pi && !strcmp(t, "payment_intent.canceled")) ev->type = PAY_EV_CANCELED;
  else if (re && (!strcmp(t, "refund.created") || !strcmp(t, "refund.updated") || !strcmp(t, "refund.failed"))) {
    if (!strcmp(se.status, "succeeded")) ev->type = PAY_EV_REFUNDED;
    else if (!strcmp(se.status, "failed") || !strcmp(se.status, "canceled")) ev->type = PAY_EV_REFUND_FAILED;
    else return PAY_EIGNORED; /* pending: the update that settles it follows */
    COPY(ev->provider_refund_id, se.object_id);
  } else if (tr && (!strcmp(t, "transfer.created") || !strcmp(t, "transfer.reversed"))) {
    ev->type = !strcmp(t, "transfer.created") ? PAY_EV_PAYOUT_PAID : PAY_EV_PAYOUT_FAILED;
    COPY(ev->provider_payout_id, se.object_id);
    COPY(ev->payout_ref, se.payout_ref);
  } else {
    return PAY_EIGNORED;
  }
  /* the events we act on concern a payment or a payout: one without its id is malformed */
  if ((pi || re) && !ev->provider_payment_id[0]) return PAY_EINVAL;
  if (ev->type == PAY_EV_SUCCEEDED) {
    /* The ledger books Stripe's fee with the charge, and the event does not carry it
     * (it is on the charge's balance transaction): ask. If Stripe cannot answer now,
     * 503 makes it deliver the event again later, rather than booking a wrong fee. */
    stripe_pi full;
    stripe_err fe;
    int rc = stripe_pi_get(ev->provider_payment_id, &full, &fe);
    if (rc == STRIPE_EUNAVAILABLE || rc == STRIPE_EUNKNOWN || rc == STRIPE_EPROTO) {
      to_pay_err(STRIPE_EUNAVAILABLE, &fe, err);
      return PAY_EUNAVAILABLE;
    }
    if (rc == STRIPE_OK) ev->processor_fee = full.fee;
  }
  return PAY_OK;
}

static const pay_provider stripe_provider = {
  .name = "stripe", .needs_capture = 0, .ready = st_ready, .create = st_create, .capture = NULL,
  .refund = st_refund, .lookup = st_lookup, .webhook = st_webhook, .payout = st_payout,
};

static int stripe_service_init(void) {
  if (st_set.secret_key[0] &&
      stripe_configure(&(stripe_conf){ .secret_key = st_set.secret_key, .webhook_secret = st_set.webhook_secret,
                                       .api_base = st_set.api_base, .timeout_ms = st_set.timeout_ms }) < 0)
    return -1;
  /* registered even when off: checkout then refuses it by name (400) and its webhooks 404 */
  return pay_provider_register(&stripe_provider);
}

const vz_service payments_stripe_service = { .name = "payments_stripe", .opts = stripe_opts, .init = stripe_service_init };
