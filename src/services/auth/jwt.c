/* jwt.c: compact JWS sign/verify for the four algorithms VidZo meets (see jwt.h).
 *
 * Shape of verification, in the order the RFCs imply and attacks demand:
 *   1. length cap, exactly two dots, each segment canonical base64url (RFC 7515 2);
 *   2. header is a JSON object without duplicate members, "crit" is refused
 *      (RFC 7515 4.1.11: we understand no extension, so we must reject it);
 *   3. the key is chosen by kid, and the header alg must equal the key's alg: this one
 *      comparison is what defeats "alg":"none" and HS256/RS256 confusion;
 *   4. signature over ASCII(header "." payload) (RFC 7515 5.2 step 8);
 *   5. claims: exp/nbf/iat with leeway (RFC 7519 4.1.4-4.1.6), iss, aud, nonce. */
#include "services/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"

typedef struct jwt_key {
  char kid[JWT_KID_MAX];
  int alg;
  int can_sign;
  unsigned char *secret; /* HS256 */
  size_t secret_len;
  unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES]; /* EdDSA */
  unsigned char ed_sk[crypto_sign_SECRETKEYBYTES];
  EVP_PKEY *pkey; /* RS256, ES256 */
} jwt_key;

struct jwt_ring {
  jwt_key *keys;
  int n, cap;
  int signer; /* index of the signing key, -1 none */
};

static const struct { int alg; const char *name; } alg_names[] = {
    {JWT_HS256, "HS256"}, {JWT_EDDSA, "EdDSA"}, {JWT_RS256, "RS256"}, {JWT_ES256, "ES256"}};

int jwt_alg_from_name(const char *name) {
  if (!name) return JWT_NONE;
  for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
    if (strcmp(name, alg_names[i].name) == 0) return alg_names[i].alg;
  return JWT_NONE; /* "none", "HS512", "hs256", anything else */
}

const char *jwt_alg_name(int alg) {
  for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
    if (alg_names[i].alg == alg) return alg_names[i].name;
  return "none";
}

const char *jwt_strerror(int err) {
  switch (err) {
    case JWT_OK: return "ok";
    case JWT_EFORMAT: return "malformed token";
    case JWT_EALG: return "algorithm not allowed";
    case JWT_EKEY: return "unknown key";
    case JWT_ESIG: return "bad signature";
    case JWT_EEXPIRED: return "token expired";
    case JWT_ENBF: return "token not yet valid";
    case JWT_EISS: return "wrong issuer";
    case JWT_EAUD: return "wrong audience";
    case JWT_ENONCE: return "wrong nonce";
    case JWT_ENOMEM: return "out of memory";
    default: return "invalid argument";
  }
}

int b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen) {
  const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  if (outlen < sodium_base64_ENCODED_LEN(len, v)) return -1;
  sodium_bin2base64(out, outlen, in, len, v);
  return (int)strlen(out);
}

long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen) {
  size_t bin_len = 0;
  const char *end = NULL;
  if (len == 0) return 0;
  if (sodium_base642bin(out, outlen, in, len, NULL, &bin_len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return -1;
  if (end != in + len) return -1; /* trailing junk */
  return (long)bin_len;
}

/* ---- key ring ---------------------------------------------------------------------- */

jwt_ring *jwt_ring_new(void) {
  if (sodium_init() < 0) return NULL;
  jwt_ring *r = calloc(1, sizeof *r);
  if (r) r->signer = -1;
  return r;
}

void jwt_ring_free(jwt_ring *r) {
  if (!r) return;
  for (int i = 0; i < r->n; i++) {
    jwt_key *k = &r->keys[i];
    if (k->secret) {
      sodium_memzero(k->secret, k->secret_len);
      free(k->secret);
    }
    sodium_memzero(k->ed_sk, sizeof k->ed_sk);
    EVP_PKEY_free(k->pkey);
  }
  free(r->keys);
  free(r);
}

int jwt_ring_count(const jwt_ring *r) { return r ? r->n : 0; }

static jwt_key *ring_push(jwt_ring *r, const char *kid, int alg) {
  if (!r || !kid || !*kid || strlen(kid) >= JWT_KID_MAX) return NULL;
  if (r->n == r->cap) {
    int cap = r->cap ? r->cap * 2 : 4;
    jwt_key *k = realloc(r->keys, (size_t)cap * sizeof *k);
    if (!k) return NULL;
    r->keys = k;
    r->cap = cap;
  }
  jwt_key *k = &r->keys[r->n];
  memset(k, 0, sizeof *k);
  snprintf(k->kid, sizeof k->kid, "%s", kid);
  k->alg = alg;
  return k;
}

/* Called once the key at r->n is complete. */
static void ring_commit(jwt_ring *r) {
  if (r->signer < 0 && r->keys[r->n].can_sign) r->signer = r->n;
  r->n++;
}

int jwt_ring_add_hs256(jwt_ring *r, const char *kid, const unsigned char *secret, size_t len) {
  if (!secret || len < 32 || len > 1024) return JWT_EINVAL;
  jwt_key *k = ring_push(r, kid, JWT_HS256);
  if (!k) return JWT_EINVAL;
  k->secret = malloc(len);
  if (!k->secret) return JWT_ENOMEM;
  memcpy(k->secret, secret, len);
  k->secret_len = len;
  k->can_sign = 1;
  ring_commit(r);
  return JWT_OK;
}

int jwt_ring_add_ed25519(jwt_ring *r, const char *kid, const unsigned char seed[32]) {
  jwt_key *k = ring_push(r, kid, JWT_EDDSA);
  if (!k) return JWT_EINVAL;
  if (crypto_sign_seed_keypair(k->ed_pk, k->ed_sk, seed) != 0) return JWT_EINVAL;
  k->can_sign = 1;
  ring_commit(r);
  return JWT_OK;
}

static int pkey_is_private(EVP_PKEY *pkey) {
  BIGNUM *d = NULL;
  /* RSA private exponent and EC private scalar are both published as "priv" / "d". */
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 ||
      EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) == 1) {
    BN_clear_free(d);
    return 1;
  }
  return 0;
}

int jwt_ring_add_pkey(jwt_ring *r, const char *kid, int alg, EVP_PKEY *pkey) {
  if (!pkey) return JWT_EINVAL;
  if (alg == JWT_RS256) {
    /* RFC 7518 3.3: a key of size 2048 bits or larger MUST be used. */
    if (!EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) < 2048) return JWT_EINVAL;
  } else if (alg == JWT_ES256) {
    char group[64];
    size_t glen = 0;
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) != 1 ||
        strcmp(group, "prime256v1") != 0)
      return JWT_EINVAL;
  } else {
    return JWT_EINVAL;
  }
  jwt_key *k = ring_push(r, kid, alg);
  if (!k) return JWT_EINVAL;
  if (EVP_PKEY_up_ref(pkey) != 1) return JWT_ENOMEM;
  k->pkey = pkey;
  k->can_sign = pkey_is_private(pkey);
  ring_commit(r);
  return JWT_OK;
}

int jwt_ring_use(jwt_ring *r, const char *kid) {
  for (int i = 0; r && i < r->n; i++)
    if (strcmp(r->keys[i].kid, kid) == 0 && r->keys[i].can_sign) {
      r->signer = i;
      return JWT_OK;
    }
  return JWT_EKEY;
}

/* Decodes a base64url JWK member into buf; returns its length or -1. */
static long jwk_bytes(json_t *jwk, const char *name, unsigned char *buf, size_t cap) {
  const char *s = json_string_value(json_object_get(jwk, name));
  if (!s) return -1;
  return b64url_decode(s, strlen(s), buf, cap);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM *params) {
  EVP_PKEY *pkey = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pkey = NULL;
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

static EVP_PKEY *jwk_rsa(json_t *jwk) {
  unsigned char n[1024], e[16];
  long nl = jwk_bytes(jwk, "n", n, sizeof n), el = jwk_bytes(jwk, "e", e, sizeof e);
  EVP_PKEY *pkey = NULL;
  if (nl <= 0 || el <= 0) return NULL;
  BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
    pkey = pkey_from_params("RSA", params);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  return pkey;
}

static EVP_PKEY *jwk_ec(json_t *jwk) {
  unsigned char pub[65];
  const char *crv = json_string_value(json_object_get(jwk, "crv"));
  if (!crv || strcmp(crv, "P-256") != 0) return NULL;
  pub[0] = 0x04; /* SEC 1 2.3.3: uncompressed point 04 || X || Y */
  if (jwk_bytes(jwk, "x", pub + 1, 32) != 32 || jwk_bytes(jwk, "y", pub + 33, 32) != 32)
    return NULL;
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub),
      OSSL_PARAM_construct_end()};
  return pkey_from_params("EC", params); /* import rejects points not on the curve */
}

int jwt_ring_load_jwks(jwt_ring *r, const char *json, size_t len) {
  json_error_t jerr;
  json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *keys = json_object_get(doc, "keys");
  size_t i;
  json_t *jwk;
  int added = 0;
  if (!r || !json_is_array(keys)) {
    json_decref(doc);
    return JWT_EFORMAT;
  }
  json_array_foreach(keys, i, jwk) {
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    if (!kty || !kid || (use && strcmp(use, "sig") != 0)) continue;
    if (strcmp(kty, "RSA") == 0 && (!alg || strcmp(alg, "RS256") == 0)) {
      EVP_PKEY *pk = jwk_rsa(jwk);
      if (pk && jwt_ring_add_pkey(r, kid, JWT_RS256, pk) == JWT_OK) added++;
      EVP_PKEY_free(pk);
    } else if (strcmp(kty, "EC") == 0 && (!alg || strcmp(alg, "ES256") == 0)) {
      EVP_PKEY *pk = jwk_ec(jwk);
      if (pk && jwt_ring_add_pkey(r, kid, JWT_ES256, pk) == JWT_OK) added++;
      EVP_PKEY_free(pk);
    } else if (strcmp(kty, "OKP") == 0) {
      const char *crv = json_string_value(json_object_get(jwk, "crv"));
      jwt_key *k;
      if (!crv || strcmp(crv, "Ed25519") != 0 || !(k = ring_push(r, kid, JWT_EDDSA))) continue;
      if (jwk_bytes(jwk, "x", k->ed_pk, sizeof k->ed_pk) != (long)sizeof k->ed_pk) continue;
      ring_commit(r);
      added++;
    }
  }
  json_decref(doc);
  return added;
}

/* ---- signing ----------------------------------------------------------------------- */

/* ECDSA signatures are DER in OpenSSL and fixed-width R || S in JWS (RFC 7518 3.4). */
static int ecdsa_der_to_raw(const unsigned char *der, size_t dlen, unsigned char raw[64]) {
  const unsigned char *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
  int ok = 0;
  if (!sig) return -1;
  const BIGNUM *rr, *ss;
  ECDSA_SIG_get0(sig, &rr, &ss);
  ok = BN_bn2binpad(rr, raw, 32) == 32 && BN_bn2binpad(ss, raw + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  return ok ? 0 : -1;
}

static int ecdsa_raw_to_der(const unsigned char raw[64], unsigned char **der, int *dlen) {
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *rr = BN_bin2bn(raw, 32, NULL), *ss = BN_bin2bn(raw + 32, 32, NULL);
  *der = NULL;
  if (!sig || !rr || !ss || ECDSA_SIG_set0(sig, rr, ss) != 1) {
    BN_free(rr);
    BN_free(ss);
    ECDSA_SIG_free(sig);
    return -1;
  }
  *dlen = i2d_ECDSA_SIG(sig, der);
  ECDSA_SIG_free(sig);
  return *dlen > 0 ? 0 : -1;
}

static int pkey_sign(EVP_PKEY *pkey, const char *in, size_t len, unsigned char *sig,
                     size_t *slen) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
           EVP_DigestSign(md, sig, slen, (const unsigned char *)in, len) == 1;
  EVP_MD_CTX_free(md);
  return ok ? 0 : -1;
}

static int pkey_verify(EVP_PKEY *pkey, const char *in, size_t len, const unsigned char *sig,
                       size_t slen) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
           EVP_DigestVerify(md, sig, slen, (const unsigned char *)in, len) == 1;
  EVP_MD_CTX_free(md);
  return ok ? 0 : -1;
}

/* Produces the raw signature of in[0..len) with key k; returns its length or -1. */
static long key_sign(const jwt_key *k, const char *in, size_t len, unsigned char *sig,
                     size_t cap) {
  unsigned int ml = 0;
  size_t sl = cap;
  switch (k->alg) {
    case JWT_HS256:
      if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)in, len,
                sig, &ml))
        return -1;
      return ml;
    case JWT_EDDSA:
      return crypto_sign_detached(sig, NULL, (const unsigned char *)in, len, k->ed_sk) == 0
                 ? (long)crypto_sign_BYTES
                 : -1;
    case JWT_RS256:
      return pkey_sign(k->pkey, in, len, sig, &sl) == 0 ? (long)sl : -1;
    case JWT_ES256: {
      unsigned char der[128];
      size_t dl = sizeof der;
      if (cap < 64 || pkey_sign(k->pkey, in, len, der, &dl) != 0) return -1;
      return ecdsa_der_to_raw(der, dl, sig) == 0 ? 64 : -1;
    }
  }
  return -1;
}

int jwt_sign(const jwt_ring *r, json_t *claims, char **out) {
  char *hjson = NULL, *pjson = NULL, *tok = NULL;
  unsigned char sig[1024];
  int rc = JWT_ENOMEM;
  *out = NULL;
  if (!r || r->signer < 0 || !json_is_object(claims)) return JWT_EINVAL;
  const jwt_key *k = &r->keys[r->signer];
  json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", jwt_alg_name(k->alg), "typ", "JWT", "kid",
                          k->kid);
  if (!hdr) return JWT_ENOMEM;
  /* vz_json_dumps, not json_dumps: after a failed allocation jansson can skip a key and
   * still return text, which would sign a token without its "sub" or "typ" */
  size_t hl = 0, pl = 0;
  hjson = vz_json_dumps(hdr, &hl);
  pjson = vz_json_dumps(claims, &pl);
  json_decref(hdr);
  if (!hjson || !pjson) goto fail;
  size_t cap = sodium_base64_ENCODED_LEN(hl, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
               sodium_base64_ENCODED_LEN(pl, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
               sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING) + 4;
  tok = malloc(cap);
  if (!tok) goto fail;
  int a = b64url_encode((const unsigned char *)hjson, hl, tok, cap);
  tok[a] = '.';
  int b = b64url_encode((const unsigned char *)pjson, pl, tok + a + 1, cap - (size_t)a - 1);
  size_t signed_len = (size_t)a + 1 + (size_t)b;
  long sl = key_sign(k, tok, signed_len, sig, sizeof sig);
  if (sl < 0) {
    rc = JWT_EINVAL;
    goto fail;
  }
  tok[signed_len] = '.';
  b64url_encode(sig, (size_t)sl, tok + signed_len + 1, cap - signed_len - 1);
  *out = tok;
  tok = NULL;
  rc = JWT_OK;
fail:
  free(tok);
  free(hjson);
  free(pjson);
  return rc;
}

/* ---- verification ------------------------------------------------------------------ */

static int key_verify(const jwt_key *k, const char *in, size_t len, const unsigned char *sig,
                      size_t slen) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int ml = 0;
  switch (k->alg) {
    case JWT_HS256:
      if (slen != 32 || !HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
                              (const unsigned char *)in, len, mac, &ml))
        return -1;
      return CRYPTO_memcmp(mac, sig, 32) == 0 ? 0 : -1; /* constant time */
    case JWT_EDDSA:
      if (slen != crypto_sign_BYTES) return -1;
      return crypto_sign_verify_detached(sig, (const unsigned char *)in, len, k->ed_pk);
    case JWT_RS256:
      if (slen != (size_t)EVP_PKEY_get_size(k->pkey)) return -1;
      return pkey_verify(k->pkey, in, len, sig, slen);
    case JWT_ES256: {
      unsigned char *der = NULL;
      int dl = 0, rc;
      if (slen != 64 || ecdsa_raw_to_der(sig, &der, &dl) != 0) return -1;
      rc = pkey_verify(k->pkey, in, len, der, (size_t)dl);
      OPENSSL_free(der);
      return rc;
    }
  }
  return -1;
}

/* vz_json_loadb, not json_loadb: jansson drops a byte it could not store and parses on
 * ("sub":"12345" read as "1235"), which after the signature check would be a claim
 * nobody signed. *oom set when the parse failed for want of memory: not a bad token. */
static json_t *segment_json(const char *s, size_t len, int *oom) {
  unsigned char buf[JWT_MAX_LEN];
  long n = b64url_decode(s, len, buf, sizeof buf);
  json_error_t jerr;
  int failed = 0;
  if (n <= 0) return NULL;
  json_t *j = vz_json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr, &failed);
  if (failed) *oom = 1;
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* A NumericDate claim (RFC 7519 2): absent -> 0 with *present 0; not a number -> -1. */
static int numeric_claim(json_t *claims, const char *name, double *v, int *present) {
  json_t *j = json_object_get(claims, name);
  *present = j != NULL;
  if (!j) return 0;
  if (!json_is_number(j)) return -1;
  *v = json_number_value(j);
  return 0;
}

static int check_claims(json_t *c, const jwt_expect *ex) {
  jwt_expect none = {0};
  if (!ex) ex = &none;
  double now = ex->now ? (double)ex->now : (double)time(NULL), v = 0;
  int has = 0;
  if (numeric_claim(c, "exp", &v, &has) != 0) return JWT_EFORMAT;
  if (!has && !ex->allow_no_exp) return JWT_EEXPIRED;
  /* RFC 7519 4.1.4: the current time MUST be before the expiration time. */
  if (has && now >= v + ex->leeway) return JWT_EEXPIRED;
  if (numeric_claim(c, "nbf", &v, &has) != 0) return JWT_EFORMAT;
  if (has && now + ex->leeway < v) return JWT_ENBF;
  if (numeric_claim(c, "iat", &v, &has) != 0) return JWT_EFORMAT;
  if (has && now + ex->leeway < v) return JWT_ENBF;
  if (ex->iss) {
    const char *iss = json_string_value(json_object_get(c, "iss"));
    int ok = 0;
    for (const char *const *p = ex->iss; iss && *p; p++)
      if (strcmp(iss, *p) == 0) ok = 1;
    if (!ok) return JWT_EISS;
  }
  if (ex->aud) {
    /* RFC 7519 4.1.3: aud is a string or an array of strings. */
    json_t *aud = json_object_get(c, "aud"), *e;
    size_t i;
    int ok = 0;
    if (json_is_string(aud)) ok = strcmp(json_string_value(aud), ex->aud) == 0;
    else if (json_is_array(aud))
      json_array_foreach(aud, i, e) if (json_is_string(e) &&
                                        strcmp(json_string_value(e), ex->aud) == 0) ok = 1;
    if (!ok) return JWT_EAUD;
  }
  if (ex->nonce) {
    const char *nonce = json_string_value(json_object_get(c, "nonce"));
    size_t nl = strlen(ex->nonce);
    if (!nonce || strlen(nonce) != nl || sodium_memcmp(nonce, ex->nonce, nl) != 0)
      return JWT_ENONCE;
  }
  return JWT_OK;
}

int jwt_verify(const jwt_ring *r, const char *token, const jwt_expect *ex, json_t **claims) {
  json_t *hdr = NULL, *body = NULL;
  unsigned char sig[1024];
  const jwt_key *k = NULL;
  int rc = JWT_EFORMAT;
  if (claims) *claims = NULL;
  if (!r || !token) return JWT_EINVAL;
  size_t len = strnlen(token, JWT_MAX_LEN + 1);
  if (len > JWT_MAX_LEN) return JWT_EFORMAT;
  const char *d1 = memchr(token, '.', len);
  const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
  if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) return JWT_EFORMAT;
  size_t sig_b64 = len - (size_t)(d2 + 1 - token);
  if (sig_b64 == 0) return JWT_EALG; /* an unsigned JWS is what "none" looks like */
  int oom = 0;
  if (!(hdr = segment_json(token, (size_t)(d1 - token), &oom)) ||
      !(body = segment_json(d1 + 1, (size_t)(d2 - d1 - 1), &oom))) {
    if (oom) rc = JWT_ENOMEM;
    goto fail;
  }
  long sl = b64url_decode(d2 + 1, sig_b64, sig, sizeof sig);
  if (sl <= 0) goto fail;
  if (json_object_get(hdr, "crit")) goto fail;

  int alg = jwt_alg_from_name(json_string_value(json_object_get(hdr, "alg")));
  if (alg == JWT_NONE) {
    rc = JWT_EALG;
    goto fail;
  }
  json_t *jkid = json_object_get(hdr, "kid");
  if (jkid && !json_is_string(jkid)) goto fail;
  rc = JWT_EKEY;
  if (jkid) {
    for (int i = 0; i < r->n && !k; i++)
      if (strcmp(r->keys[i].kid, json_string_value(jkid)) == 0) k = &r->keys[i];
  } else if (r->n == 1) {
    k = &r->keys[0]; /* only for a ring of one key: never guess among several */
  }
  if (!k) goto fail;
  if (k->alg != alg) { /* the confusion check: the key decides the algorithm */
    rc = JWT_EALG;
    goto fail;
  }
  if (key_verify(k, token, (size_t)(d2 - token), sig, (size_t)sl) != 0) {
    rc = JWT_ESIG;
    goto fail;
  }
  if ((rc = check_claims(body, ex)) != JWT_OK) goto fail;
  if (claims) {
    *claims = body;
    body = NULL;
  }
fail:
  json_decref(hdr);
  json_decref(body);
  return rc;
}
