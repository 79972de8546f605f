/* Invariant: auth_verify_access accepts exactly the access tokens auth_issue_access made
 * under the configured keys and issuer (any role), and nothing else; Google/Apple ID tokens
 * verify against a JWKS file only with our audience, their issuer and the nonce. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../test.h"
#include "services/auth/auth.h"
#include "services/auth/jwt.h"
#include "services/auth/oauth.h"

static const char *secret = "unit-test-secret-unit-test-secret-0123456789";

TEST(auth_access_roundtrip) {
  char err[256];
  auth_config cfg = {.secret = secret};
  CHECK_EQ_INT(auth_setup(&cfg, err, sizeof err), 0);
  char *tok = NULL;
  int64_t ttl = 0, uid = 0, sid = 0;
  int role = 0;
  CHECK_EQ_INT(auth_issue_access(123456789012345LL, AUTH_ROLE_MODERATOR, 77, &tok, &ttl), 0);
  CHECK_EQ_INT(ttl, 900);
  CHECK_EQ_INT(auth_verify_access_sid(tok, &uid, &role, &sid), 0);
  CHECK_EQ_INT(uid, 123456789012345LL);
  CHECK_EQ_INT(role, AUTH_ROLE_MODERATOR);
  CHECK_EQ_INT(sid, 77);
  /* a different secret (another deployment) does not accept it */
  auth_config other = {.secret = "another-secret-another-secret-another-secret"};
  CHECK_EQ_INT(auth_setup(&other, err, sizeof err), 0);
  CHECK_EQ_INT(auth_verify_access(tok, &uid, &role), -1);
  CHECK_EQ_INT(uid, 0);
  /* EdDSA with explicit rotating keys */
  auth_config ed = {.secret = secret, .jwt_alg = "EdDSA",
                    .jwt_keys = "new:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA,"
                                "old:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"};
  CHECK_EQ_INT(auth_setup(&ed, err, sizeof err), 0);
  free(tok);
  CHECK_EQ_INT(auth_issue_access(5, AUTH_ROLE_USER, 0, &tok, NULL), 0);
  CHECK(strstr(tok, "eyJhbGciOiJFZERTQSIs") == tok); /* {"alg":"EdDSA", */
  CHECK_EQ_INT(auth_verify_access(tok, &uid, &role), 0);
  CHECK_EQ_INT(uid, 5);
  free(tok);
  auth_config bad = {.secret = "short"};
  CHECK_EQ_INT(auth_setup(&bad, err, sizeof err), -1);
  CHECK(strstr(err, "32"));
  auth_shutdown();
  CHECK_EQ_INT(auth_verify_access("x.y.z", &uid, &role), -1);
}

TEST(auth_roles) {
  CHECK_EQ_INT(auth_role_from_name("admin"), AUTH_ROLE_ADMIN);
  CHECK_EQ_INT(auth_role_from_name("root"), AUTH_ROLE_NONE);
  CHECK_EQ_STR(auth_role_name(AUTH_ROLE_SELLER), "seller");
  CHECK(auth_role_allows(AUTH_ROLE_USER, AUTH_ROLE_USER));
  CHECK(!auth_role_allows(AUTH_ROLE_NONE, AUTH_ROLE_USER));
  CHECK(!auth_role_allows(AUTH_ROLE_USER, AUTH_ROLE_SELLER));
  CHECK(auth_role_allows(AUTH_ROLE_SELLER, AUTH_ROLE_SELLER));
  CHECK(!auth_role_allows(AUTH_ROLE_SELLER, AUTH_ROLE_MODERATOR));
  CHECK(!auth_role_allows(AUTH_ROLE_MODERATOR, AUTH_ROLE_ADMIN));
  CHECK(auth_role_allows(AUTH_ROLE_ADMIN, AUTH_ROLE_MODERATOR));
  CHECK(auth_role_allows(AUTH_ROLE_ADMIN, AUTH_ROLE_SELLER));
}

static char *b64bn(EVP_PKEY *pk, const char *param) {
  BIGNUM *bn = NULL;
  unsigned char raw[32];
  char *s = malloc(64);
  EVP_PKEY_get_bn_param(pk, param, &bn);
  BN_bn2binpad(bn, raw, 32);
  b64url_encode(raw, 32, s, 64);
  BN_free(bn);
  return s;
}

TEST(auth_oauth_id_token_from_jwks_file) {
  char path[] = "/tmp/vz-jwks-XXXXXX", err[256];
  int fd = mkstemp(path);
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  char *x = b64bn(pk, OSSL_PKEY_PARAM_EC_PUB_X), *y = b64bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y);
  dprintf(fd, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ak1\",\"x\":\"%s\",\"y\":\"%s\"}]}", x, y);
  close(fd);
  auth_config cfg = {.secret = secret, .apple_client_ids = "com.vidzo.app,com.vidzo.web",
                     .apple_jwks = path};
  CHECK_EQ_INT(auth_setup(&cfg, err, sizeof err), 0);
  jwt_ring *signer = jwt_ring_new();
  jwt_ring_add_pkey(signer, "ak1", JWT_ES256, pk);
  json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss",
                        "https://appleid.apple.com", "aud", "com.vidzo.web", "sub", "001234.abc",
                        "email", "ann@privaterelay.appleid.com", "email_verified", "true", "nonce",
                        "nonce-1", "iat", (json_int_t)time(NULL), "exp",
                        (json_int_t)time(NULL) + 600);
  char *tok = NULL;
  CHECK_EQ_INT(jwt_sign(signer, c, &tok), JWT_OK);
  oauth_identity id;
  CHECK_EQ_INT(oauth_verify_id_token("apple", tok, "nonce-1", &id), OAUTH_OK);
  CHECK_EQ_STR(id.subject, "001234.abc");
  CHECK_EQ_INT(id.email_verified, 1);
  CHECK_EQ_INT(oauth_verify_id_token("apple", tok, "nonce-2", &id), OAUTH_EINVALID);
  CHECK_EQ_INT(oauth_verify_id_token("google", tok, NULL, &id), OAUTH_EPROVIDER);
  free(tok);
  json_object_set_new(c, "aud", json_string("com.evil.app"));
  CHECK_EQ_INT(jwt_sign(signer, c, &tok), JWT_OK);
  CHECK_EQ_INT(oauth_verify_id_token("apple", tok, NULL, &id), OAUTH_EINVALID);
  free(tok);
  json_decref(c);
  jwt_ring_free(signer);
  EVP_PKEY_free(pk);
  free(x), free(y);
  unlink(path);
  auth_shutdown();
}
