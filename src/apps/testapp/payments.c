/* testapp/payments: drives a payment provider (services/payments/provider.h) directly,
 * so the e2e stories can hold the Stripe and PayPal adapters against their fakes
 * (tests/support/fake-*.mjs) without the checkout around them: each route is one
 * provider call and answers what the provider answered, normalised. Debug builds with
 * --test-app only; a normal server has none of these routes (and `vidzo routes` lists
 * none, so they are not API). */
#ifdef VZ_DEBUG
#include <stdio.h>
#include <string.h>

#include "apps/testapp/testapp.h"
#include "core/config.h"
#include "core/http.h"
#include "core/json.h"
#include "lib/clock.h"
#include "services/payments/provider.h"

static const char *rc_name(int rc) {
  switch (rc) {
  case PAY_OK: return "ok";
  case PAY_EINVAL: return "invalid";
  case PAY_EUNAVAILABLE: return "unavailable";
  case PAY_EUNKNOWN: return "unknown";
  case PAY_ESIGNATURE: return "signature";
  case PAY_EIGNORED: return "ignored";
  case PAY_ENOTFOUND: return "not_found";
  case PAY_ECONFIG: return "config";
  case PAY_EAUTH: return "auth";
  }
  return "?";
}

static const pay_provider *provider_or_fail(vz_req *req) {
  const pay_provider *p = pay_provider_find(vz_req_param(req, "provider"));
  if (!p) vz_fail(req, 404, "not_found", "provider", "no such provider");
  return p;
}

/* {rc, error{message, code, status, retry_after_s}, ...result} */
static int answer(vz_req *req, int rc, const pay_err *e, json_t *res) {
  json_t *o = res ? res : json_object();
  json_object_set_new(o, "rc", json_string(rc_name(rc)));
  if (rc != PAY_OK)
    json_object_set_new(o, "error", json_pack("{s:s, s:s, s:I, s:i}", "message", e->message, "code", e->code,
                                              "status", (json_int_t)e->http_status, "retry_after_s", e->retry_after_s));
  return vz_reply_item(req, 200, o);
}

static const char *jstr(vz_req *req, const char *k) { return json_string_value(json_object_get(req->json, k)); }
static int64_t jint(vz_req *req, const char *k) { return (int64_t)json_integer_value(json_object_get(req->json, k)); }

static int h_create(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  pay_create_req in = { .amount = jint(req, "amount"), .currency = jstr(req, "currency"),
                        .payment_ref = jstr(req, "payment_ref"), .order_ref = jstr(req, "order_ref"),
                        .idempotency_key = jstr(req, "key"), .description = jstr(req, "description"),
                        .return_url = jstr(req, "return_url"), .cancel_url = jstr(req, "cancel_url") };
  pay_create_res out;
  pay_err e = { 0 };
  int rc = p->create(&in, &out, &e);
  json_t *o = rc ? NULL : json_pack("{s:s, s:s, s:s, s:i}", "provider_payment_id", out.provider_payment_id,
                                    "client_secret", out.client_secret, "approval_url", out.approval_url,
                                    "status", (int)out.status);
  return answer(req, rc, &e, o);
}

static int h_capture(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  if (!p->capture) return vz_fail(req, 400, "invalid_argument", "provider", "no capture step");
  pay_capture_res out;
  pay_err e = { 0 };
  int rc = p->capture(jstr(req, "id"), jstr(req, "key"), &out, &e);
  json_t *o = rc ? NULL : json_pack("{s:i, s:s, s:I, s:s}", "status", (int)out.status, "provider_charge_id",
                                    out.provider_charge_id, "amount", (json_int_t)out.amount, "currency", out.currency);
  return answer(req, rc, &e, o);
}

static int h_refund(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  pay_refund_req in = { .provider_payment_id = jstr(req, "payment_id"), .provider_charge_id = jstr(req, "charge_id"),
                        .amount = jint(req, "amount"), .currency = jstr(req, "currency"),
                        .idempotency_key = jstr(req, "key"), .refund_ref = jstr(req, "refund_ref") };
  pay_refund_res out;
  pay_err e = { 0 };
  int rc = p->refund(&in, &out, &e);
  json_t *o = rc ? NULL : json_pack("{s:s, s:i}", "provider_refund_id", out.provider_refund_id, "status", (int)out.status);
  return answer(req, rc, &e, o);
}

static int h_lookup(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  pay_lookup_res out;
  pay_err e = { 0 };
  int rc = p->lookup(vz_req_param(req, "id"), &out, &e);
  json_t *o = rc ? NULL : json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "status", (int)out.status,
                                    "provider_charge_id", out.provider_charge_id, "payment_ref", out.payment_ref,
                                    "amount", (json_int_t)out.amount, "amount_captured", (json_int_t)out.amount_captured,
                                    "amount_refunded", (json_int_t)out.amount_refunded, "currency", out.currency,
                                    "processor_fee", (json_int_t)out.processor_fee);
  return answer(req, rc, &e, o);
}

static int h_payout(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  if (!p->payout) return vz_fail(req, 400, "invalid_argument", "provider", "no payouts");
  pay_payout_req in = { .destination = jstr(req, "destination"), .amount = jint(req, "amount"),
                        .currency = jstr(req, "currency"), .idempotency_key = jstr(req, "key"),
                        .payout_ref = jstr(req, "payout_ref") };
  pay_payout_res out;
  pay_err e = { 0 };
  int rc = p->payout(&in, &out, &e);
  json_t *o = rc ? NULL : json_pack("{s:s, s:i}", "provider_payout_id", out.provider_payout_id, "status", (int)out.status);
  return answer(req, rc, &e, o);
}

/* The webhook as a processor delivers it: raw body, its headers. The answer's HTTP status
 * is what the payments service would answer (400 bad signature, 503 try later). */
static int h_webhook(vz_req *req) {
  const pay_provider *p = provider_or_fail(req);
  if (!p) return 0;
  pay_event ev;
  pay_err e = { 0 };
  int rc = p->webhook(req->headers, req->nheaders, req->body ? req->body : "", req->body_len, vz_wall_ms(), &ev, &e);
  if (rc == PAY_ESIGNATURE) return vz_fail(req, 400, "bad_signature", NULL, "%s", e.message);
  if (rc == PAY_EUNAVAILABLE) return vz_fail(req, 503, "unavailable", NULL, "%s", e.message);
  json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "event_id", ev.event_id,
                        "type", (int)ev.type, "provider_payment_id", ev.provider_payment_id, "provider_charge_id",
                        ev.provider_charge_id, "provider_refund_id", ev.provider_refund_id, "provider_payout_id",
                        ev.provider_payout_id, "payment_ref", ev.payment_ref, "payout_ref", ev.payout_ref,
                        "amount", (json_int_t)ev.amount, "currency", ev.currency, "created_ms",
                        (json_int_t)ev.created_ms, "processor_fee", (json_int_t)ev.processor_fee);
  return answer(req, rc, &e, o);
}

static const vz_field create_in[] = {
  { "amount", VZ_INT, 0, -1000000, 1000000000000LL, 0 }, { "currency", VZ_STR, 0, 0, 8, 0 },
  { "payment_ref", VZ_STR, 0, 0, 100, 0 }, { "order_ref", VZ_STR, 0, 0, 600, 0 },
  { "key", VZ_STR, 0, 0, 300, 0 }, { "description", VZ_STR, 0, 0, 1100, 0 },
  { "return_url", VZ_STR, 0, 0, 500, 0 }, { "cancel_url", VZ_STR, 0, 0, 500, 0 }, { 0 } };
static const vz_field capture_in[] = { { "id", VZ_STR, 0, 0, 200, 0 }, { "key", VZ_STR, 0, 0, 300, 0 }, { 0 } };
static const vz_field refund_in[] = {
  { "payment_id", VZ_STR, 0, 0, 200, 0 }, { "charge_id", VZ_STR, 0, 0, 200, 0 },
  { "amount", VZ_INT, 0, -1000000, 1000000000000LL, 0 }, { "currency", VZ_STR, 0, 0, 8, 0 },
  { "key", VZ_STR, 0, 0, 300, 0 }, { "refund_ref", VZ_STR, 0, 0, 100, 0 }, { 0 } };
static const vz_field payout_in[] = {
  { "destination", VZ_STR, 0, 0, 200, 0 }, { "amount", VZ_INT, 0, -1000000, 1000000000000LL, 0 },
  { "currency", VZ_STR, 0, 0, 8, 0 }, { "key", VZ_STR, 0, 0, 300, 0 }, { "payout_ref", VZ_STR, 0, 0, 100, 0 }, { 0 } };

static vz_route routes[] = {
  VZ_POST("/v1/_test/payments/:provider/create", h_create, .body = create_in, .flags = VZ_UNLISTED),
  VZ_POST("/v1/_test/payments/:provider/capture", h_capture, .body = capture_in, .flags = VZ_UNLISTED),
  VZ_POST("/v1/_test/payments/:provider/refund", h_refund, .body = refund_in, .flags = VZ_UNLISTED),
  VZ_POST("/v1/_test/payments/:provider/payout", h_payout, .body = payout_in, .flags = VZ_UNLISTED),
  VZ_GET("/v1/_test/payments/:provider/lookup/:id", h_lookup, .flags = VZ_UNLISTED),
  VZ_POST("/v1/_test/payments/:provider/webhook", h_webhook, .flags = VZ_RAW_BODY | VZ_UNLISTED),
  { 0 } };

int testapp_payments_routes_add(void) { return vz_routes_add(routes); }
#else
typedef int testapp_payments_release_build; /* ISO C wants a declaration */
#endif
