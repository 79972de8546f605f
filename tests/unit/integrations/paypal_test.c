/* PayPal client pieces that need no network. Invariants: the signed message is exactly
 * "transmission_id|transmission_time|webhook_id|crc32(body)" with the CRC in decimal
 * (vectors from Node's zlib.crc32, not from this code); a signature verifies only with
 * the certificate's key over that message, within the certificate's validity dates;
 * a certificate URL is allowed only for https *.paypal.com, the API host, or a listed
 * test host, and user-info or look-alike hosts never pass; amounts are exact integers. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "integrations/paypal.h"
#include "lib/base64.h"

TEST(paypal_message_and_crc32) {
  char m[256];
  /* zlib.crc32('{"id":"WH-1"}') == 838965618; crc32("123456789") == 0xCBF43926 */
  CHECK_EQ_INT(paypal_webhook_message("tid-1", "2026-12-03T16:00:00Z", "WHID", "{\"id\":\"WH-1\"}", 13, m, sizeof m) > 0, 1);
  CHECK_EQ_STR(m, "tid-1|2026-12-03T16:00:00Z|WHID|838965618");
  paypal_webhook_message("a", "b", "c", "123456789", 9, m, sizeof m);
  CHECK_EQ_STR(m, "a|b|c|3421780262");
  paypal_webhook_message("a", "b", "c", "", 0, m, sizeof m);
  CHECK_EQ_STR(m, "a|b|c|0");
  CHECK_EQ_INT(paypal_webhook_message("a", "b", "c", "x", 1, m, 8), -1);
}

TEST(paypal_cert_url_allow_list) {
  const char *api = "https://api-m.sandbox.paypal.com";
  const char *ok[] = { "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
                       "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
                       "https://API.PayPal.com/c", "https://api.paypal.com:443/c",
                       "https://api-m.sandbox.paypal.com/x", NULL };
  const char *no[] = { "http://api.paypal.com/c", "https://paypal.com/c", "https://evil.com/api.paypal.com",
                       "https://api.paypal.com.evil.com/c", "https://evilpaypal.com/c",
                       "https://api.paypal.com@evil.com/c", "https://api.paypal.com:8443/c",
                       "ftp://api.paypal.com/c", "https:///c", "https://.paypal.com/c", "", "file:///etc/passwd",
                       "https://127.0.0.1:9000/cert", NULL };
  for (int i = 0; ok[i]; i++) if (!paypal_cert_url_allowed(ok[i], api, NULL)) { fprintf(stderr, "  refused %s\n", ok[i]); CHECK(0); }
  for (int i = 0; no[i]; i++) if (paypal_cert_url_allowed(no[i], api, NULL)) { fprintf(stderr, "  allowed %s\n", no[i]); CHECK(0); }
  /* the test setting: exactly the listed host:port, http allowed for it */
  CHECK(paypal_cert_url_allowed("http://127.0.0.1:9000/cert", api, "localhost:1,127.0.0.1:9000"));
  CHECK(!paypal_cert_url_allowed("http://127.0.0.1:9001/cert", api, "127.0.0.1:9000"));
  CHECK(!paypal_cert_url_allowed("http://127.0.0.1/cert", api, "127.0.0.1:9000"));
  CHECK(!paypal_cert_url_allowed("http://127.0.0.1:90000/cert", api, "127.0.0.1:9000"));
  /* an http API base does not make its host a cert host */
  CHECK(!paypal_cert_url_allowed("http://127.0.0.1:9000/cert", "http://127.0.0.1:9000", NULL));
  CHECK(!paypal_cert_url_allowed(NULL, api, NULL));
}

TEST(paypal_configure_refuses_clear_text_bases) {
  CHECK_EQ_INT(paypal_configure(&(paypal_conf){ .client_id = "c", .client_secret = "s", .api_base = "http://api-m.paypal.com" }), -1);
  CHECK(!paypal_configured());
  CHECK_EQ_INT(paypal_configure(&(paypal_conf){ .client_id = "c", .client_secret = "s", .api_base = "http://127.0.0.1:9/" }), 0);
  CHECK(paypal_configured());
  CHECK_EQ_INT(paypal_configure(&(paypal_conf){ .client_id = "c", .client_secret = "s" }), 0);
  paypal_configure(&(paypal_conf){ 0 });
  CHECK(!paypal_configured());
  paypal_reset();
}

TEST(paypal_amounts_exact) {
  char b[32];
  int64_t v;
  CHECK_EQ_INT(paypal_amount_format(1234, "usd", b, sizeof b), 0);
  CHECK_EQ_STR(b, "12.34");
  CHECK_EQ_INT(paypal_amount_format(5, "EUR", b, sizeof b), 0);
  CHECK_EQ_STR(b, "0.05");
  CHECK_EQ_INT(paypal_amount_format(500, "JPY", b, sizeof b), 0);
  CHECK_EQ_STR(b, "500");
  CHECK_EQ_INT(paypal_amount_format(1, "KWD", b, sizeof b), -1); /* 3 decimals: PayPal has none */
  CHECK_EQ_INT(paypal_amount_format(-1, "USD", b, sizeof b), -1);
  CHECK_EQ_INT(paypal_amount_parse("12.34", "USD", &v), 0); CHECK_EQ_INT(v, 1234);
  CHECK_EQ_INT(paypal_amount_parse("12.3", "USD", &v), 0);  CHECK_EQ_INT(v, 1230);
  CHECK_EQ_INT(paypal_amount_parse("12", "USD", &v), 0);    CHECK_EQ_INT(v, 1200);
  CHECK_EQ_INT(paypal_amount_parse("500", "JPY", &v), 0);   CHECK_EQ_INT(v, 500);
  const char *bad[] = { "", ".5", "5.", "1.234", "-1.00", "1e3", "1,00", " 1.00", "1.0.0", "0x10",
                        "1234567890123456", NULL };
  for (int i = 0; bad[i]; i++) if (paypal_amount_parse(bad[i], "USD", &v) == 0) { fprintf(stderr, "  took %s\n", bad[i]); CHECK(0); }
  CHECK_EQ_INT(paypal_amount_parse("5.0", "JPY", &v), -1);
}

/* A fresh RSA key and a self-signed certificate valid from now+from_s to now+to_s. */
static char *make_cert(EVP_PKEY **key, long from_s, long to_s, size_t *len) {
  *key = EVP_RSA_gen(2048);
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), to_s);
  X509_set_pubkey(x, *key);
  X509_NAME *n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"messageverificationcerts.test", -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_sign(x, *key, EVP_sha256());
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char *p;
  long n2 = BIO_get_mem_data(b, &p);
  char *out = malloc((size_t)n2 + 1);
  memcpy(out, p, (size_t)n2);
  out[n2] = 0;
  *len = (size_t)n2;
  BIO_free(b);
  X509_free(x);
  return out;
}

static void sign(EVP_PKEY *key, const char *msg, char *b64, size_t cap) {
  unsigned char sig[512];
  size_t sl = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
  EVP_DigestSign(md, sig, &sl, (const unsigned char *)msg, strlen(msg));
  EVP_MD_CTX_free(md);
  vz_b64_encode(sig, sl, b64, cap, VZ_B64_STD);
}

TEST(paypal_webhook_signature) {
  EVP_PKEY *key, *other;
  size_t pl, ol, xl;
  char *pem = make_cert(&key, -60, 3600, &pl);
  char *opem = make_cert(&other, -60, 3600, &ol);
  const char *body = "{\"id\":\"WH-1\"}";
  char msg[256], sig[1024];
  paypal_webhook_message("tid-1", "2026-12-03T16:00:00Z", "WHID", body, strlen(body), msg, sizeof msg);
  sign(key, msg, sig, sizeof sig);
  paypal_wh_headers h = { "tid-1", "2026-12-03T16:00:00Z", sig, "https://api.paypal.com/c", "SHA256withRSA" };
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_OK);
  /* another webhook id, body, transmission id or time, or another key: no */
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID2", body, strlen(body), pem, pl), PAYPAL_WH_EMISMATCH);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", "{\"id\":\"WH-2\"}", 13, pem, pl), PAYPAL_WH_EMISMATCH);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", body, strlen(body), opem, ol), PAYPAL_WH_EMISMATCH);
  paypal_wh_headers h2 = h;
  h2.transmission_id = "tid-2";
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h2, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_EMISMATCH);
  /* '|' in a field would let one message stand for another */
  h2.transmission_id = "tid|1";
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h2, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_EHEADER);
  h2 = h; h2.auth_algo = "SHA1withRSA";
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h2, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_EHEADER);
  h2 = h; h2.transmission_sig = "not base64!";
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h2, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_EHEADER);
  h2 = h; h2.cert_url = NULL;
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h2, "WHID", body, strlen(body), pem, pl), PAYPAL_WH_EHEADER);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "", body, strlen(body), pem, pl), PAYPAL_WH_ENOCONFIG);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", body, strlen(body), "junk", 4), PAYPAL_WH_ECERT);
  /* the right key, but the certificate expired or is not yet valid */
  EVP_PKEY *k2;
  char *exp = make_cert(&k2, -7200, -3600, &xl);
  paypal_webhook_message("tid-1", "2026-12-03T16:00:00Z", "WHID", body, strlen(body), msg, sizeof msg);
  sign(k2, msg, sig, sizeof sig);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", body, strlen(body), exp, xl), PAYPAL_WH_ECERT);
  free(exp);
  EVP_PKEY_free(k2);
  exp = make_cert(&k2, 3600, 7200, &xl);
  sign(k2, msg, sig, sizeof sig);
  CHECK_EQ_INT(paypal_webhook_verify_pem(&h, "WHID", body, strlen(body), exp, xl), PAYPAL_WH_ECERT);
  free(exp);
  EVP_PKEY_free(k2);
  free(pem);
  free(opem);
  EVP_PKEY_free(key);
  EVP_PKEY_free(other);
}

TEST(paypal_event_parse_kinds) {
  paypal_event ev;
  const char *cap =
      "{\"id\":\"WH-7\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource_type\":\"capture\","
      "\"create_time\":\"2026-12-03T16:00:00.5Z\","
      "\"resource\":{\"id\":\"CAP1\",\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":\"USD\",\"value\":\"25.00\"},"
      "\"custom_id\":\"42\",\"supplementary_data\":{\"related_ids\":{\"order_id\":\"ORD1\"}},"
      "\"seller_receivable_breakdown\":{\"paypal_fee\":{\"currency_code\":\"USD\",\"value\":\"1.03\"}}}}";
  CHECK_EQ_INT(paypal_event_parse(cap, strlen(cap), &ev), 0);
  CHECK_EQ_STR(ev.id, "WH-7");
  CHECK_EQ_STR(ev.capture_id, "CAP1");
  CHECK_EQ_STR(ev.paypal_order_id, "ORD1");
  CHECK_EQ_STR(ev.order_ref, "42");
  CHECK_EQ_INT(ev.amount, 2500);
  CHECK_EQ_STR(ev.currency, "USD");
  CHECK_EQ_INT(ev.fee, 103);
  CHECK_EQ_INT(ev.created_ms, 1796313600500LL); /* Date.parse in Node */
  const char *appr =
      "{\"id\":\"WH-8\",\"event_type\":\"CHECKOUT.ORDER.APPROVED\",\"resource_type\":\"checkout-order\","
      "\"create_time\":\"2024-02-29T23:59:59Z\","
      "\"resource\":{\"id\":\"ORD1\",\"status\":\"APPROVED\",\"purchase_units\":[{\"custom_id\":\"42\","
      "\"amount\":{\"currency_code\":\"JPY\",\"value\":\"500\"}}]}}";
  CHECK_EQ_INT(paypal_event_parse(appr, strlen(appr), &ev), 0);
  CHECK_EQ_STR(ev.paypal_order_id, "ORD1");
  CHECK_EQ_STR(ev.order_ref, "42");
  CHECK_EQ_INT(ev.amount, 500);
  CHECK_EQ_INT(ev.created_ms, 1709251199000LL);
  const char *ref =
      "{\"id\":\"WH-9\",\"event_type\":\"PAYMENT.CAPTURE.REFUNDED\",\"resource_type\":\"refund\","
      "\"resource\":{\"id\":\"REF1\",\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":\"USD\",\"value\":\"5.5\"},"
      "\"custom_id\":\"42\",\"links\":[{\"rel\":\"self\",\"href\":\"https://x/v2/payments/refunds/REF1\"},"
      "{\"rel\":\"up\",\"href\":\"https://x/v2/payments/captures/CAP1\"}]}}";
  CHECK_EQ_INT(paypal_event_parse(ref, strlen(ref), &ev), 0);
  CHECK_EQ_STR(ev.capture_id, "CAP1");
  CHECK_EQ_INT(ev.amount, 550);
  const char *bad[] = {
    "", "{}", "{\"id\":\"WH\",\"event_type\":\"X\"}",
    "{\"id\":\"WH\",\"event_type\":\"X\",\"resource\":{}}",
    "{\"id\":\"WH\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"C\",\"amount\":{\"currency_code\":\"USD\",\"value\":\"-1\"}}}",
    "{\"id\":\"WH\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"C\",\"amount\":{\"currency_code\":\"USD\",\"value\":1}}}",
    "{\"id\":\"WH\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"C\",\"amount\":{\"currency_code\":\"XXX\",\"value\":\"1\"}}}",
    "{\"event_type\":\"X\",\"resource\":{\"id\":\"C\"}}", NULL };
  for (int i = 0; bad[i]; i++) if (paypal_event_parse(bad[i], strlen(bad[i]), &ev) == 0) { fprintf(stderr, "  took %s\n", bad[i]); CHECK(0); }
}
