/* Invariant: jwt_verify accepts a token only when its signature verifies under the key its
 * kid names, with that key's own algorithm, and its exp/nbf/iss/aud/nonce claims hold;
 * "none", HS/RS confusion, tampering, unknown kids and expired tokens are all refused. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "../../test.h"
#include "services/auth/jwt.h"

static const unsigned char secret1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char secret2[32] = "fedcba9876543210fedcba9876543210";

static jwt_ring *hs_ring(void) {
  jwt_ring *r = jwt_ring_new();
  jwt_ring_add_hs256(r, "k1", secret1, sizeof secret1);
  return r;
}

static char *sign_claims(const jwt_ring *r, const char *json) {
  json_error_t e;
  json_t *c = json_loads(json, 0, &e);
  char *tok = NULL;
  if (jwt_sign(r, c, &tok) != JWT_OK) tok = NULL;
  json_decref(c);
  return tok;
}

/* Hand-builds header.payload.HMAC(secret) so tests can forge what a library never emits. */
static void forge_hs(const char *hdr, const char *body, const unsigned char *key, size_t klen,
                     char *out, size_t cap) {
  char h[512], b[512], s[128];
  unsigned char mac[32];
  unsigned int ml = 0;
  b64url_encode((const unsigned char *)hdr, strlen(hdr), h, sizeof h);
  b64url_encode((const unsigned char *)body, strlen(body), b, sizeof b);
  snprintf(out, cap, "%s.%s", h, b);
  HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)out, strlen(out), mac, &ml);
  b64url_encode(mac, ml, s, sizeof s);
  size_t n = strlen(out);
  snprintf(out + n, cap - n, ".%s", s);
}

TEST(jwt_hs256_roundtrip) {
  jwt_ring *r = hs_ring();
  char *tok = sign_claims(r, "{\"sub\":\"42\",\"exp\":4000000000,\"role\":\"user\"}");
  json_t *c = NULL;
  CHECK(tok != NULL);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, &c), JWT_OK);
  CHECK_EQ_STR(json_string_value(json_object_get(c, "sub")), "42");
  json_decref(c);
  free(tok);
  jwt_ring_free(r);
}

/* RFC 7515 appendix A.1: the HS256 example, verified byte for byte. */
TEST(jwt_rfc7515_a1_vector) {
  const char *tok =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const char *k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
  unsigned char key[64];
  long kl = b64url_decode(k, strlen(k), key, sizeof key);
  CHECK_EQ_INT(kl, 64);
  jwt_ring *r = jwt_ring_new();
  CHECK_EQ_INT(jwt_ring_add_hs256(r, "rfc", key, (size_t)kl), JWT_OK);
  const char *iss[] = {"joe", NULL};
  jwt_expect ex = {.iss = iss, .now = 1300819300};
  CHECK_EQ_INT(jwt_verify(r, tok, &ex, NULL), JWT_OK);
  ex.now = 1300819380; /* at exp: expired */
  CHECK_EQ_INT(jwt_verify(r, tok, &ex, NULL), JWT_EEXPIRED);
  ex.leeway = 30;
  CHECK_EQ_INT(jwt_verify(r, tok, &ex, NULL), JWT_OK);
  jwt_ring_free(r);
}

TEST(jwt_expired_and_not_yet_valid) {
  jwt_ring *r = hs_ring();
  char *a = sign_claims(r, "{\"sub\":\"1\",\"exp\":1000}");
  char *b = sign_claims(r, "{\"sub\":\"1\",\"exp\":4000000000,\"nbf\":3999999999}");
  char *c = sign_claims(r, "{\"sub\":\"1\"}");
  char *d = sign_claims(r, "{\"sub\":\"1\",\"exp\":\"4000000000\"}");
  CHECK_EQ_INT(jwt_verify(r, a, NULL, NULL), JWT_EEXPIRED);
  CHECK_EQ_INT(jwt_verify(r, b, NULL, NULL), JWT_ENBF);
  CHECK_EQ_INT(jwt_verify(r, c, NULL, NULL), JWT_EEXPIRED); /* exp is required */
  jwt_expect ex = {.allow_no_exp = 1};
  CHECK_EQ_INT(jwt_verify(r, c, &ex, NULL), JWT_OK);
  CHECK_EQ_INT(jwt_verify(r, d, NULL, NULL), JWT_EFORMAT);
  free(a), free(b), free(c), free(d);
  jwt_ring_free(r);
}

TEST(jwt_tampered_rejected) {
  jwt_ring *r = hs_ring();
  char *tok = sign_claims(r, "{\"sub\":\"42\",\"exp\":4000000000}");
  CHECK(tok != NULL);
  char *dot = strchr(tok, '.');
  /* same header and signature, payload swapped for sub 43: valid JSON, bad signature */
  char swapped[1024], b[256];
  const char *body43 = "{\"sub\":\"43\",\"exp\":4000000000}";
  b64url_encode((const unsigned char *)body43, strlen(body43), b, sizeof b);
  snprintf(swapped, sizeof swapped, "%.*s.%s%s", (int)(dot - tok), tok, b, strrchr(tok, '.'));
  CHECK_EQ_INT(jwt_verify(r, swapped, NULL, NULL), JWT_ESIG);
  /* one flipped payload character: refused either as bad JSON or bad signature */
  char orig = dot[2];
  dot[2] = orig == 'A' ? 'B' : 'A';
  CHECK(jwt_verify(r, tok, NULL, NULL) != JWT_OK);
  dot[2] = orig;
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_OK);
  /* a payload re-encoded with a different sub keeps the old signature: refused */
  char forged[1024];
  forge_hs("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{\"sub\":\"1\",\"exp\":4000000000}", secret2,
           sizeof secret2, forged, sizeof forged);
  CHECK_EQ_INT(jwt_verify(r, forged, NULL, NULL), JWT_ESIG);
  forge_hs("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{\"sub\":\"1\",\"exp\":4000000000}", secret1,
           sizeof secret1, forged, sizeof forged);
  CHECK_EQ_INT(jwt_verify(r, forged, NULL, NULL), JWT_OK);
  /* signature truncated, extra segment, padding, garbage */
  size_t n = strlen(tok);
  tok[n - 1] = 0;
  CHECK(jwt_verify(r, tok, NULL, NULL) != JWT_OK);
  CHECK_EQ_INT(jwt_verify(r, "a.b", NULL, NULL), JWT_EFORMAT);
  CHECK_EQ_INT(jwt_verify(r, "a.b.c.d", NULL, NULL), JWT_EFORMAT);
  CHECK_EQ_INT(jwt_verify(r, "", NULL, NULL), JWT_EFORMAT);
  free(tok);
  jwt_ring_free(r);
}

TEST(jwt_alg_none_rejected) {
  jwt_ring *r = hs_ring();
  char h[128], b[128], tok[512];
  const char *hdr = "{\"alg\":\"none\",\"kid\":\"k1\"}", *body = "{\"sub\":\"1\",\"exp\":4000000000}";
  b64url_encode((const unsigned char *)hdr, strlen(hdr), h, sizeof h);
  b64url_encode((const unsigned char *)body, strlen(body), b, sizeof b);
  snprintf(tok, sizeof tok, "%s.%s.", h, b);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EALG);
  snprintf(tok, sizeof tok, "%s.%s.AAAA", h, b);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EALG);
  /* "None", "HS512" and a missing alg are no better */
  forge_hs("{\"alg\":\"None\",\"kid\":\"k1\"}", body, secret1, 32, tok, sizeof tok);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EALG);
  forge_hs("{\"alg\":\"HS512\",\"kid\":\"k1\"}", body, secret1, 32, tok, sizeof tok);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EALG);
  forge_hs("{\"kid\":\"k1\"}", body, secret1, 32, tok, sizeof tok);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EALG);
  forge_hs("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", body, secret1, 32, tok,
           sizeof tok);
  CHECK_EQ_INT(jwt_verify(r, tok, NULL, NULL), JWT_EFORMAT);
  jwt_ring_free(r);
}

static char *jwk_b64_bn(EVP_PKEY *pk, const char *param, int width) {
  BIGNUM *bn = NULL;
  unsigned char buf[600];
  char *out = malloc(1024);
  EVP_PKEY_get_bn_param(pk, param, &bn);
  int n = width ? BN_bn2binpad(bn, buf, width) : BN_bn2bin(bn, buf);
  b64url_encode(buf, (size_t)n, out, 1024);
  BN_free(bn);
  return out;
}

/* Builds a one-key JWKS for pk, as Google or Apple would publish it. */
static char *jwks_for(EVP_PKEY *pk, const char *kid) {
  char *doc = malloc(4096);
  if (EVP_PKEY_is_a(pk, "RSA")) {
    char *n = jwk_b64_bn(pk, OSSL_PKEY_PARAM_RSA_N, 0), *e = jwk_b64_bn(pk, OSSL_PKEY_PARAM_RSA_E, 0);
    snprintf(doc, 4096,
             "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
             "\"n\":\"%s\",\"e\":\"%s\"},{\"kty\":\"oct\",\"kid\":\"x\",\"k\":\"AAAA\"}]}",
             kid, n, e);
    free(n), free(e);
  } else {
    char *x = jwk_b64_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, 32), *y = jwk_b64_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    snprintf(doc, 4096,
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"%s\","
             "\"x\":\"%s\",\"y\":\"%s\"}]}",
             kid, x, y);
    free(x), free(y);
  }
  return doc;
}

static void jwks_case(int *vz_failed, EVP_PKEY *pk, int alg) {
  jwt_ring *signer = jwt_ring_new(), *verifier = jwt_ring_new();
  CHECK_EQ_INT(jwt_ring_add_pkey(signer, "g1", alg, pk), JWT_OK);
  char *doc = jwks_for(pk, "g1");
  CHECK_EQ_INT(jwt_ring_load_jwks(verifier, doc, strlen(doc)), 1);
  char *tok = sign_claims(signer,
                          "{\"iss\":\"https://accounts.google.com\",\"aud\":[\"other\",\"app-1\"],"
                          "\"sub\":\"g-123\",\"email\":\"a@b.c\",\"email_verified\":true,"
                          "\"nonce\":\"n-0S6\",\"exp\":4000000000,\"iat\":1700000000}");
  CHECK(tok != NULL);
  const char *iss[] = {"accounts.google.com", "https://accounts.google.com", NULL};
  jwt_expect ex = {.iss = iss, .aud = "app-1", .nonce = "n-0S6"};
  json_t *c = NULL;
  CHECK_EQ_INT(jwt_verify(verifier, tok, &ex, &c), JWT_OK);
  CHECK_EQ_STR(json_string_value(json_object_get(c, "sub")), "g-123");
  json_decref(c);
  ex.aud = "app-2";
  CHECK_EQ_INT(jwt_verify(verifier, tok, &ex, NULL), JWT_EAUD);
  ex.aud = "app-1", ex.nonce = "n-other";
  CHECK_EQ_INT(jwt_verify(verifier, tok, &ex, NULL), JWT_ENONCE);
  const char *iss2[] = {"https://appleid.apple.com", NULL};
  ex.nonce = NULL, ex.iss = iss2;
  CHECK_EQ_INT(jwt_verify(verifier, tok, &ex, NULL), JWT_EISS);
  /* a JWKS ring never signs */
  CHECK(sign_claims(verifier, "{\"exp\":1}") == NULL);

  /* HS/RS confusion: an HS256 token keyed with the public key's own bytes, naming g1 */
  unsigned char *spki = NULL;
  int spki_len = i2d_PUBKEY(pk, &spki);
  char forged[1024];
  forge_hs("{\"alg\":\"HS256\",\"kid\":\"g1\"}", "{\"sub\":\"admin\",\"exp\":4000000000}", spki,
           (size_t)spki_len, forged, sizeof forged);
  CHECK_EQ_INT(jwt_verify(verifier, forged, NULL, NULL), JWT_EALG);
  OPENSSL_free(spki);
  free(tok), free(doc);
  jwt_ring_free(signer);
  jwt_ring_free(verifier);
}

TEST(jwt_jwks_rs256) {
  EVP_PKEY *pk = EVP_RSA_gen(2048);
  CHECK(pk != NULL);
  jwks_case(vz_failed, pk, JWT_RS256);
  EVP_PKEY_free(pk);
}

TEST(jwt_jwks_es256) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  CHECK(pk != NULL);
  jwks_case(vz_failed, pk, JWT_ES256);
  EVP_PKEY_free(pk);
}

TEST(jwt_rsa_key_too_small_refused) {
  EVP_PKEY *pk = EVP_RSA_gen(1024);
  jwt_ring *r = jwt_ring_new();
  CHECK_EQ_INT(jwt_ring_add_pkey(r, "small", JWT_RS256, pk), JWT_EINVAL);
  CHECK_EQ_INT(jwt_ring_add_pkey(r, "wrong", JWT_ES256, pk), JWT_EINVAL);
  EVP_PKEY_free(pk);
  jwt_ring_free(r);
}

TEST(jwt_eddsa_and_kid_rotation) {
  unsigned char seed[32] = {1, 2, 3};
  jwt_ring *r = jwt_ring_new();
  CHECK_EQ_INT(jwt_ring_add_ed25519(r, "ed-2026-10", seed), JWT_OK);
  seed[0] = 9;
  CHECK_EQ_INT(jwt_ring_add_ed25519(r, "ed-2026-11", seed), JWT_OK);
  CHECK_EQ_INT(jwt_ring_add_hs256(r, "hs-old", secret1, 32), JWT_OK);
  char *old = sign_claims(r, "{\"sub\":\"7\",\"exp\":4000000000}");
  CHECK_EQ_INT(jwt_ring_use(r, "ed-2026-11"), JWT_OK);
  char *cur = sign_claims(r, "{\"sub\":\"7\",\"exp\":4000000000}");
  CHECK_EQ_INT(jwt_ring_use(r, "hs-old"), JWT_OK);
  char *hs = sign_claims(r, "{\"sub\":\"7\",\"exp\":4000000000}");
  CHECK_EQ_INT(jwt_ring_use(r, "nope"), JWT_EKEY);
  CHECK_EQ_INT(jwt_verify(r, old, NULL, NULL), JWT_OK);
  CHECK_EQ_INT(jwt_verify(r, cur, NULL, NULL), JWT_OK);
  CHECK_EQ_INT(jwt_verify(r, hs, NULL, NULL), JWT_OK);
  /* after the old key is retired, its tokens no longer verify */
  jwt_ring *r2 = jwt_ring_new();
  CHECK_EQ_INT(jwt_ring_add_ed25519(r2, "ed-2026-11", seed), JWT_OK);
  CHECK_EQ_INT(jwt_verify(r2, old, NULL, NULL), JWT_EKEY);
  CHECK_EQ_INT(jwt_verify(r2, cur, NULL, NULL), JWT_OK);
  /* an EdDSA token relabelled HS256 is refused by the key's own alg */
  char *dot = strchr(cur, '.');
  char hdr[128], tok[1024];
  const char *relabel = "{\"alg\":\"HS256\",\"kid\":\"ed-2026-11\"}";
  b64url_encode((const unsigned char *)relabel, strlen(relabel), hdr, sizeof hdr);
  snprintf(tok, sizeof tok, "%s%s", hdr, dot);
  CHECK_EQ_INT(jwt_verify(r2, tok, NULL, NULL), JWT_EALG);
  free(old), free(cur), free(hs);
  jwt_ring_free(r);
  jwt_ring_free(r2);
}

TEST(jwt_b64url_strict) {
  unsigned char out[16];
  CHECK_EQ_INT(b64url_decode("YWJj", 4, out, sizeof out), 3);
  CHECK_EQ_INT(b64url_decode("YWI", 3, out, sizeof out), 2);
  CHECK_EQ_INT(b64url_decode("YWI=", 4, out, sizeof out), -1); /* padding */
  CHECK_EQ_INT(b64url_decode("YWJ", 3, out, sizeof out), -1);  /* non-zero trailing bits */
  CHECK_EQ_INT(b64url_decode("+/+/", 4, out, sizeof out), -1); /* standard alphabet */
  CHECK_EQ_INT(b64url_decode("-_-_", 4, out, sizeof out), 3);
}
