/* auth.c: process-wide auth state (signing ring, issuer, TTL) built once by auth_setup
 * and read-only afterwards, so io threads and workers share it without locks. */
#include "services/auth/auth.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "services/auth/denylist.h"
#include "services/auth/jwt.h"
#include "services/auth/oauth.h"
#include "services/auth/otp.h"
#include "services/auth/password.h"

static jwt_ring *ring;
static char issuer[128] = "vidzo";
static int access_ttl = 900;
#define ACCESS_LEEWAY_S 30 /* clock skew allowed on exp/iat */

static const char *const role_names[] = {"none", "user", "seller", "moderator", "admin"};

const char *auth_role_name(int role) {
  return role >= AUTH_ROLE_USER && role <= AUTH_ROLE_ADMIN ? role_names[role] : "none";
}

int auth_role_from_name(const char *name) {
  for (int i = AUTH_ROLE_USER; name && i <= AUTH_ROLE_ADMIN; i++)
    if (strcmp(name, role_names[i]) == 0) return i;
  return AUTH_ROLE_NONE;
}

/* The core's policy (vz_role_allows), asked with a role instead of route flags. */
int auth_role_allows(int have, int need) {
  return vz_role_allows(have, need <= AUTH_ROLE_USER ? VZ_AUTH : vz_role_flag(need));
}

/* Sub-key i for context ctx (8 chars) from the master secret. */
static void derive(const char *secret, uint64_t id, const char ctx[8], unsigned char out[32]) {
  unsigned char master[crypto_kdf_KEYBYTES];
  crypto_generichash(master, sizeof master, (const unsigned char *)secret, strlen(secret), NULL, 0);
  crypto_kdf_derive_from_key(out, 32, id, ctx, master);
  sodium_memzero(master, sizeof master);
}

static int load_keys(const char *spec, int alg, char *err, size_t errlen) {
  char *copy = strdup(spec), *save = NULL;
  int rc = 0;
  if (!copy) return -1;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *colon = strchr(item, ':');
    unsigned char key[256];
    long kl;
    if (!colon || colon == item ||
        (kl = b64url_decode(colon + 1, strlen(colon + 1), key, sizeof key)) < 32) {
      snprintf(err, errlen, "auth: jwt key \"%.20s\" must be kid:base64url (>= 32 bytes)", item);
      rc = -1;
      break;
    }
    *colon = 0;
    rc = alg == JWT_EDDSA ? (kl == 32 ? jwt_ring_add_ed25519(ring, item, key) : JWT_EINVAL)
                          : jwt_ring_add_hs256(ring, item, key, (size_t)kl);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
      snprintf(err, errlen, "auth: jwt key %s: %s", item, jwt_strerror(rc));
      break;
    }
  }
  free(copy);
  return rc;
}

int auth_setup(const auth_config *cfg, char *err, size_t errlen) {
  unsigned char k[32];
  if (sodium_init() < 0) {
    snprintf(err, errlen, "auth: libsodium failed to initialise");
    return -1;
  }
  if (!cfg || !cfg->secret || strlen(cfg->secret) < 32) {
    snprintf(err, errlen, "auth: the server secret must be at least 32 characters");
    return -1;
  }
  auth_shutdown();
  int alg = cfg->jwt_alg ? jwt_alg_from_name(cfg->jwt_alg) : JWT_HS256;
  if (alg != JWT_HS256 && alg != JWT_EDDSA) {
    snprintf(err, errlen, "auth: jwt_alg must be HS256 or EdDSA");
    return -1;
  }
  if (!(ring = jwt_ring_new())) return -1;
  if (cfg->jwt_keys && *cfg->jwt_keys) {
    if (load_keys(cfg->jwt_keys, alg, err, errlen) != 0) goto fail;
  } else {
    derive(cfg->secret, 1, "vzjwtkey", k);
    int rc = alg == JWT_EDDSA ? jwt_ring_add_ed25519(ring, "d1", k)
                              : jwt_ring_add_hs256(ring, "d1", k, sizeof k);
    sodium_memzero(k, sizeof k);
    if (rc != 0) goto fail;
  }
  derive(cfg->secret, 2, "vzotpkey", k);
  otp_set_key(k);
  sodium_memzero(k, sizeof k);
  if (cfg->issuer) snprintf(issuer, sizeof issuer, "%s", cfg->issuer);
  access_ttl = cfg->access_ttl_s > 0 ? cfg->access_ttl_s : 900;
  password_set_cost(cfg->pw_ops, cfg->pw_mem);
  if (cfg->otp_log_path && otp_log_sender_init(cfg->otp_log_path) != 0) {
    snprintf(err, errlen, "auth: bad OTP log path");
    goto fail;
  }
  if (oauth_setup(cfg, err, errlen) != 0) goto fail;
  return 0;
fail:
  jwt_ring_free(ring);
  ring = NULL;
  return -1;
}

void auth_shutdown(void) {
  denylist_free();
  jwt_ring_free(ring);
  ring = NULL;
  oauth_shutdown();
}

int auth_issue_access(int64_t uid, int role, int64_t sid, char **out, int64_t *expires_in) {
  char sub[24], sids[24];
  *out = NULL;
  if (!ring) return -1;
  json_int_t now = (json_int_t)time(NULL);
  snprintf(sub, sizeof sub, "%lld", (long long)uid);
  snprintf(sids, sizeof sids, "%lld", (long long)sid);
  json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", issuer, "sub", sub, "role",
                        auth_role_name(role), "iat", now, "exp", now + access_ttl, "typ",
                        "access");
  if (!c) return -1;
  /* a token missing its sid would escape the session's revocation (denylist) */
  if (sid && json_object_set_new(c, "sid", json_string(sids)) != 0) {
    json_decref(c);
    return -1;
  }
  int rc = jwt_sign(ring, c, out);
  json_decref(c);
  if (expires_in) *expires_in = access_ttl;
  return rc == JWT_OK ? 0 : -1;
}

static int parse_id(const char *s, int64_t *out) {
  char *end = NULL;
  if (!s || !*s) return -1;
  long long v = strtoll(s, &end, 10);
  if (*end || v <= 0) return -1;
  *out = v;
  return 0;
}

void auth_on_session_revoked(void (*fn)(int64_t sid)) { denylist_on_revoke(fn); }

int64_t auth_access_ttl_s(void) { return access_ttl + ACCESS_LEEWAY_S; }

int auth_verify_access_sid(const char *token, int64_t *uid, int *role, int64_t *sid) {
  const char *iss[] = {issuer, NULL};
  jwt_expect ex = {.iss = iss, .leeway = ACCESS_LEEWAY_S};
  int64_t session = 0;
  json_t *c = NULL;
  int rc = -1;
  *uid = 0, *role = AUTH_ROLE_NONE;
  if (sid) *sid = 0;
  if (!ring || jwt_verify(ring, token, &ex, &c) != JWT_OK) return -1;
  const char *typ = json_string_value(json_object_get(c, "typ"));
  int r = auth_role_from_name(json_string_value(json_object_get(c, "role")));
  /* typ separates access tokens from any other token we might sign with the same ring */
  if (typ && strcmp(typ, "access") == 0 && r != AUTH_ROLE_NONE &&
      parse_id(json_string_value(json_object_get(c, "sub")), uid) == 0) {
    parse_id(json_string_value(json_object_get(c, "sid")), &session);
    if (denylist_rejects(session)) { /* signed out, revoked or reset since */
      *uid = 0;
      json_decref(c);
      return -1;
    }
    *role = r;
    if (sid) *sid = session;
    rc = 0;
  } else {
    *uid = 0;
  }
  json_decref(c);
  return rc;
}

int auth_verify_access(const char *token, int64_t *uid, int *role) {
  return auth_verify_access_sid(token, uid, role, NULL);
}
