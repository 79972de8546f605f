/* jwt: JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515), signed and verified
 * against a key ring. Our own access tokens use HS256 or EdDSA (RFC 8037) and always
 * carry a kid so keys can rotate; Google and Apple ID tokens are RS256 / ES256 and are
 * verified against a JWKS document (RFC 7517) loaded into a ring.
 *
 * Verification is strict on purpose: the algorithm a token claims must be the algorithm
 * of the key it selects (no "none", no HS256 token checked with an RSA key's bytes as an
 * HMAC secret), every segment must be canonical base64url, and the time, issuer,
 * audience and nonce checks are done here so a caller cannot forget one.
 *
 * A ring is immutable once built and may be shared by any number of threads. */
#ifndef VZ_AUTH_JWT_H
#define VZ_AUTH_JWT_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evp_pkey_st EVP_PKEY; /* OpenSSL's own typedef; repeating it is valid C11 */

enum { JWT_NONE = 0, JWT_HS256 = 1, JWT_EDDSA = 2, JWT_RS256 = 3, JWT_ES256 = 4 };

enum {
  JWT_OK = 0,
  JWT_EFORMAT = -1,  /* not three canonical base64url segments of JSON objects */
  JWT_EALG = -2,     /* alg missing, "none", unsupported, or not the key's alg */
  JWT_EKEY = -3,     /* no key with that kid */
  JWT_ESIG = -4,     /* signature does not verify */
  JWT_EEXPIRED = -5, /* exp missing (when required) or in the past */
  JWT_ENBF = -6,     /* nbf or iat in the future */
  JWT_EISS = -7,
  JWT_EAUD = -8,
  JWT_ENONCE = -9,
  JWT_ENOMEM = -10,
  JWT_EINVAL = -11, /* bad argument when building a ring or signing */
};

#define JWT_MAX_LEN 8192 /* longer tokens are rejected before any parsing */
#define JWT_KID_MAX 128

typedef struct jwt_ring jwt_ring;

jwt_ring *jwt_ring_new(void);
void jwt_ring_free(jwt_ring *r);
/* HMAC secret: at least 32 bytes (RFC 7518 3.2: a key of the same size as the hash). */
int jwt_ring_add_hs256(jwt_ring *r, const char *kid, const unsigned char *secret, size_t len);
/* Ed25519 signing key from a 32-byte seed (libsodium). */
int jwt_ring_add_ed25519(jwt_ring *r, const char *kid, const unsigned char seed[32]);
/* An OpenSSL RSA or P-256 key (public or private); the ring takes its own reference. */
int jwt_ring_add_pkey(jwt_ring *r, const char *kid, int alg, EVP_PKEY *pkey);
/* Adds every usable key of a JWKS document {"keys":[...]}: RSA (n, e), EC P-256 (x, y)
 * and OKP Ed25519 (x). Keys with "use" other than "sig" or an unknown kty are skipped.
 * Returns the number of keys added, or <0 if the document is not a JWKS. */
int jwt_ring_load_jwks(jwt_ring *r, const char *json, size_t len);
/* Chooses the signing key by kid (default: the first key added that can sign). */
int jwt_ring_use(jwt_ring *r, const char *kid);
int jwt_ring_count(const jwt_ring *r);

/* Signs claims with the ring's signing key; *out is malloc'ed (free it). */
int jwt_sign(const jwt_ring *r, json_t *claims, char **out);

typedef struct jwt_expect {
  const char *const *iss; /* NULL-terminated list of accepted issuers; NULL: not checked */
  const char *aud;        /* must equal aud or be one element of an aud array; NULL: skip */
  const char *nonce;      /* must equal the nonce claim; NULL: not checked */
  int64_t now;            /* unix seconds; 0: time(NULL) */
  int leeway;             /* seconds of clock skew allowed on exp, nbf, iat */
  int allow_no_exp;       /* default (0): a token without exp is rejected */
} jwt_expect;

/* Verifies token against the ring; on success *claims (if non-NULL) gets the payload
 * object (json_decref it). */
int jwt_verify(const jwt_ring *r, const char *token, const jwt_expect *ex, json_t **claims);
const char *jwt_strerror(int err);
int jwt_alg_from_name(const char *name);
const char *jwt_alg_name(int alg);

/* base64url without padding (RFC 7515 section 2). b64url_decode rejects padding, other
 * alphabets and non-zero trailing bits; returns the decoded length or -1. */
int b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen);
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen);
#endif
