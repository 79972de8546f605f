/* Stripe client pieces that need no network. Invariants: a form field's key and value
 * can never spill into another field (every byte outside ALPHA DIGIT -._~ is escaped,
 * nested keys included); a webhook is accepted only when one of its v1 signatures is
 * HMAC-SHA256(secret, "t.body") and t is within 300 s of now; anything malformed in the
 * header is refused, never half-read. The signature vector below was made with the npm
 * stripe package's webhooks.generateTestHeaderString (23.2.0), not with this code. */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "integrations/stripe.h"

#define SECRET "whsec_test_secret"
#define BODY "{\"id\":\"evt_1\"}"
#define V1 "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
#define OTHER "00000000000000000000000000000000000000000000000000000000000000ff"
#define T0 1700000000

static int verify(const char *h, const char *body, const char *secret, long long now) {
  return stripe_sig_verify(h, strlen(h), body, strlen(body), secret, now, STRIPE_SIG_TOLERANCE_S);
}

TEST(stripe_form_escapes_keys_and_values) {
  stripe_form f = { 0 };
  stripe_form_add(&f, "metadata[order_id]", "o 1&amount=1");
  stripe_form_add_int(&f, "amount", 1999);
  stripe_form_add(&f, "description", "caf\xc3\xa9 ~-._+/");
  CHECK(!f.oom);
  CHECK_EQ_STR(f.buf, "metadata%5Border_id%5D=o%201%26amount%3D1&amount=1999&description=caf%C3%A9%20~-._%2B%2F");
  CHECK_EQ_INT(f.len, strlen(f.buf));
  stripe_form_free(&f);
  CHECK(f.buf == NULL && f.len == 0);
  /* an empty value is still a field; a NULL one makes the form unusable (caller bug) */
  stripe_form_add(&f, "a", "");
  CHECK_EQ_STR(f.buf, "a=");
  stripe_form_add(&f, "b", NULL);
  CHECK(f.oom);
  stripe_form_free(&f);
  /* growth past the first buffer */
  char big[2000];
  memset(big, '&', sizeof big - 1);
  big[sizeof big - 1] = 0;
  stripe_form_add(&f, "k", big);
  CHECK(!f.oom);
  CHECK_EQ_INT(f.len, 2 + 3 * (sizeof big - 1));
  stripe_form_free(&f);
}

TEST(stripe_sig_parse_forms) {
  stripe_sig s;
  CHECK_EQ_INT(stripe_sig_parse("t=1700000000,v1=" V1 ",v1=" OTHER ",v0=" OTHER, 16 + 64 + 4 + 64 + 4 + 64, &s), 0);
  CHECK_EQ_INT(s.t, T0);
  CHECK_EQ_INT(s.nv1, 2);
  CHECK_EQ_INT(s.v1[1][31], 0xff);
  /* spaces around items, upper-case hex, unknown schemes */
  const char *h = " t=5 , v1=" "248A374F50F943A28B0F6AB50FAF9A7E7E29B710FA26DF9FB1618B9BF8EA9C9A" " ,x=1,junk";
  CHECK_EQ_INT(stripe_sig_parse(h, strlen(h), &s), 0);
  CHECK_EQ_INT(s.t, 5);
  CHECK_EQ_INT(s.v1[0][0], 0x24);
  /* bad hex: counted, refused; with no good v1 left the header is refused */
  h = "t=5,v1=zz8a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a,v1=abc";
  CHECK_EQ_INT(stripe_sig_parse(h, strlen(h), &s), STRIPE_SIG_EHEADER);
  CHECK_EQ_INT(s.bad_v1, 2);
  h = "t=5,v1=zz,v1=" V1;
  CHECK_EQ_INT(stripe_sig_parse(h, strlen(h), &s), 0);
  CHECK_EQ_INT(s.nv1, 1);
  CHECK_EQ_INT(s.bad_v1, 1);
  const char *bad[] = { "", "v1=" V1, "t=,v1=" V1, "t=12a,v1=" V1, "t=-5,v1=" V1, "t=1,t=2,v1=" V1,
                        "t=1", "t=1,v0=" V1, "t=1234567890123,v1=" V1, "t=1;v1=" V1, NULL };
  for (int i = 0; bad[i]; i++) {
    if (stripe_sig_parse(bad[i], strlen(bad[i]), &s) != STRIPE_SIG_EHEADER) {
      fprintf(stderr, "  accepted: %s\n", bad[i]);
      CHECK(0);
    }
  }
  CHECK_EQ_INT(stripe_sig_parse(NULL, 0, &s), STRIPE_SIG_EHEADER);
  /* more v1 than kept: the first STRIPE_SIG_MAX_V1 */
  char many[2048];
  size_t ml = (size_t)snprintf(many, sizeof many, "t=1");
  for (int i = 0; i < 12; i++) ml += (size_t)snprintf(many + ml, sizeof many - ml, ",v1=" OTHER);
  CHECK_EQ_INT(stripe_sig_parse(many, strlen(many), &s), 0);
  CHECK_EQ_INT(s.nv1, STRIPE_SIG_MAX_V1);
  /* an oversized header is refused before it is read */
  char *huge = malloc(5000);
  memset(huge, ' ', 4999);
  memcpy(huge, "t=1,v1=" V1, 7 + 64);
  huge[4999] = 0;
  CHECK_EQ_INT(stripe_sig_parse(huge, 4999, &s), STRIPE_SIG_EHEADER);
  free(huge);
}

TEST(stripe_sig_verify_official_vector) {
  const char *h = "t=1700000000,v1=" V1;
  CHECK_EQ_INT(verify(h, BODY, SECRET, T0), STRIPE_SIG_OK);
  CHECK_EQ_INT(verify(h, BODY, SECRET, T0 + 300), STRIPE_SIG_OK);
  CHECK_EQ_INT(verify(h, BODY, SECRET, T0 - 300), STRIPE_SIG_OK);
  /* stale, or too far ahead */
  CHECK_EQ_INT(verify(h, BODY, SECRET, T0 + 301), STRIPE_SIG_ESTALE);
  CHECK_EQ_INT(verify(h, BODY, SECRET, T0 - 301), STRIPE_SIG_ESTALE);
  /* any v1 may match (secret rotation signs with both) */
  CHECK_EQ_INT(verify("t=1700000000,v1=" OTHER ",v1=" V1, BODY, SECRET, T0), STRIPE_SIG_OK);
  CHECK_EQ_INT(verify("t=1700000000,v1=" V1 ",v1=" OTHER, BODY, SECRET, T0), STRIPE_SIG_OK);
  /* the body, the secret, or t changed: no match */
  CHECK_EQ_INT(verify(h, "{\"id\":\"evt_2\"}", SECRET, T0), STRIPE_SIG_EMISMATCH);
  CHECK_EQ_INT(verify(h, BODY, "whsec_other", T0), STRIPE_SIG_EMISMATCH);
  CHECK_EQ_INT(verify("t=1700000001,v1=" V1, BODY, SECRET, T0), STRIPE_SIG_EMISMATCH);
  CHECK_EQ_INT(verify("t=1700000000,v1=" OTHER, BODY, SECRET, T0), STRIPE_SIG_EMISMATCH);
  /* a stale but otherwise wrong signature says mismatch: nothing about the secret leaks
   * through the order of the checks, and the clock is not an oracle */
  CHECK_EQ_INT(verify("t=1,v1=" V1, BODY, SECRET, T0), STRIPE_SIG_EMISMATCH);
  CHECK_EQ_INT(verify(h, BODY, "", T0), STRIPE_SIG_ENOSECRET);
  CHECK_EQ_INT(verify("garbage", BODY, SECRET, T0), STRIPE_SIG_EHEADER);
}

TEST(stripe_event_parse_payment_intent) {
  const char *b =
      "{\"id\":\"evt_9\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"created\":1700000001,"
      "\"livemode\":false,\"data\":{\"object\":{\"id\":\"pi_123\",\"object\":\"payment_intent\",\"amount\":2500,"
      "\"amount_received\":2500,\"currency\":\"eur\",\"status\":\"succeeded\",\"metadata\":{\"payment_ref\":\"42\"},"
      "\"latest_charge\":\"ch_1\"}}}";
  stripe_event ev;
  CHECK_EQ_INT(stripe_event_parse(b, strlen(b), &ev), 0);
  CHECK_EQ_STR(ev.id, "evt_9");
  CHECK_EQ_STR(ev.type, "payment_intent.succeeded");
  CHECK_EQ_STR(ev.object, "payment_intent");
  CHECK_EQ_STR(ev.payment_intent, "pi_123");
  CHECK_EQ_STR(ev.currency, "EUR");
  CHECK_EQ_STR(ev.payment_ref, "42");
  CHECK_EQ_STR(ev.status, "succeeded");
  CHECK_EQ_INT(ev.amount, 2500);
  CHECK_EQ_INT(ev.created, 1700000001);
}

TEST(stripe_event_parse_charge_refund_and_refusals) {
  const char *b =
      "{\"id\":\"evt_r\",\"type\":\"charge.refunded\",\"data\":{\"object\":{\"id\":\"ch_1\",\"object\":\"charge\","
      "\"amount\":2500,\"amount_refunded\":700,\"currency\":\"usd\",\"payment_intent\":\"pi_123\",\"status\":\"succeeded\","
      "\"metadata\":{}}}}";
  stripe_event ev;
  CHECK_EQ_INT(stripe_event_parse(b, strlen(b), &ev), 0);
  CHECK_EQ_STR(ev.payment_intent, "pi_123");
  CHECK_EQ_INT(ev.amount, 700);
  CHECK_EQ_STR(ev.payment_ref, "");
  const char *bad[] = {
    "", "null", "[]", "{\"id\":\"e\",\"type\":\"t\"}",
    "{\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"charge\"}}}",
    "{\"id\":\"\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"charge\"}}}",
    "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"payment_intent\",\"amount\":1.5}}}",
    "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"payment_intent\",\"amount\":-1}}}",
    "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"payment_intent\",\"currency\":\"euro\"}}}",
    "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":{\"id\":7,\"object\":\"charge\"}}}",
    "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"charge\",\"metadata\":{\"payment_ref\":5}}}}",
    NULL };
  for (int i = 0; bad[i]; i++) {
    if (stripe_event_parse(bad[i], strlen(bad[i]), &ev) != -1) {
      fprintf(stderr, "  accepted: %s\n", bad[i]);
      CHECK(0);
    }
    CHECK_EQ_STR(ev.id, "");
  }
  /* an id longer than the field is refused, never truncated */
  char big[400];
  int n = snprintf(big, sizeof big, "{\"id\":\"evt_%0200d\",\"type\":\"t\",\"data\":{\"object\":{\"id\":\"x\",\"object\":\"charge\"}}}", 0);
  CHECK_EQ_INT(stripe_event_parse(big, (size_t)n, &ev), -1);
}

TEST(stripe_configure_refuses_clear_text_bases) {
  /* the key must never travel in clear text beyond this machine */
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x", .api_base = "http://api.stripe.com" }), -1);
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x", .api_base = "http://127.0.0.1.evil.example" }), -1);
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x", .api_base = "ftp://127.0.0.1" }), -1);
  CHECK(!stripe_configured());
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x", .api_base = "http://127.0.0.1:4242/" }), 0);
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x", .api_base = "http://localhost" }), 0);
  CHECK_EQ_INT(stripe_configure(&(stripe_conf){ .secret_key = "sk_x" }), 0); /* https://api.stripe.com */
  CHECK(stripe_configured());
  stripe_configure(&(stripe_conf){ 0 });
  CHECK(!stripe_configured());
}

TEST(stripe_calls_refuse_bad_arguments_unsent) {
  /* not configured, and bad arguments: nothing reaches the network layer */
  stripe_pi pi;
  stripe_err e;
  CHECK_EQ_INT(stripe_pi_create(100, "usd", "1", NULL, NULL, "k", &pi, &e), STRIPE_EINVAL);
  CHECK_EQ_INT(stripe_pi_get("pi_1/../../v1/charges", &pi, &e), STRIPE_EINVAL);
  CHECK_EQ_INT(stripe_pi_create(-1, "usd", "1", NULL, NULL, "k", &pi, &e), STRIPE_EINVAL);
  CHECK_EQ_INT(stripe_pi_create(1, "us", "1", NULL, NULL, "k", &pi, &e), STRIPE_EINVAL);
  CHECK_EQ_INT(stripe_pi_find_by_ref("1' OR '1", &pi, &e), STRIPE_EINVAL);
  stripe_obj o;
  CHECK_EQ_INT(stripe_transfer_create(100, "usd", "ba_123", NULL, "k", &o, &e), STRIPE_EINVAL);
  CHECK_EQ_INT(stripe_refund_create("pi_1", 0, NULL, "k", &o, &e), STRIPE_EINVAL);
}
