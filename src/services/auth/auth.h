/* auth: everything other modules may use of authentication (STYLE.md: a service exports
 * only its header). Roles, the access-token verifier the HTTP auth hook and the Socket.IO
 * CONNECT handler call, and start-up configuration. */
#ifndef VZ_AUTH_H
#define VZ_AUTH_H
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"

/* The core's role enum (core/http.h) under auth's names; tokens carry these values. */
enum { AUTH_ROLE_NONE = VZ_R_NONE, AUTH_ROLE_USER = VZ_R_USER, AUTH_ROLE_SELLER = VZ_R_SELLER,
       AUTH_ROLE_MODERATOR = VZ_R_MODERATOR, AUTH_ROLE_ADMIN = VZ_R_ADMIN };

typedef struct auth_config {
  /* Master secret (>= 32 bytes of text, e.g. 64 hex characters). Sub-keys for HS256
   * access tokens and OTP hashes are derived from it with BLAKE2b (crypto_kdf), so one
   * setting suffices. Required. */
  const char *secret;
  /* Optional explicit signing keys, newest first: "kid:base64url-key,kid2:key2". With
   * jwt_alg "EdDSA" each key is a 32-byte Ed25519 seed; with "HS256" a >= 32-byte secret.
   * The first key signs, all verify: rotate by prepending a key and, one access-token
   * lifetime later, dropping the old one. NULL: one key derived from secret. */
  const char *jwt_keys;
  const char *jwt_alg;   /* "HS256" (default) or "EdDSA" */
  const char *issuer;    /* iss of access tokens; default "vidzo" */
  int access_ttl_s;      /* default 900 */
  /* Password hashing cost (0: libsodium INTERACTIVE); tests use 1 and 8192. */
  unsigned long long pw_ops;
  size_t pw_mem;
  /* Where the log OTP sender appends codes (one JSON line each; auth_init passes
   * DATA_DIR/outbox/otp.jsonl, as no mail/SMS sender exists yet); NULL: codes are not
   * delivered anywhere (set a real sender with otp_set_sender). */
  const char *otp_log_path;
  /* OAuth: accepted audiences (comma-separated client ids) and JWKS source: an https://
   * URL (fetched with libcurl, cached per Cache-Control max-age, default 1 h) or a file
   * path (tests). NULL client ids disable that provider. */
  const char *google_client_ids, *google_jwks;
  const char *apple_client_ids, *apple_jwks;
} auth_config;

/* Call once at start-up, before any worker runs. 0, or <0 with a message in err. */
int auth_setup(const auth_config *cfg, char *err, size_t errlen);
void auth_shutdown(void);
/* Reads vz_cfg, installs the bearer and audit hooks, registers /v1/auth routes. */
int auth_init(void);

/* Access tokens. sid is the session (refresh family) id, 0 if none. *out malloc'ed. */
int auth_issue_access(int64_t uid, int role, int64_t sid, char **out, int64_t *expires_in);
/* Verifies "Authorization: Bearer <jwt>" material (the jwt alone). 0 and the subject and
 * role on success; <0 for any invalid, expired or forged token, and for one whose
 * session was signed out or revoked since (denylist.h). Thread-safe, no I/O: suitable on
 * the event loop (HTTP auth hook, Socket.IO CONNECT). */
int auth_verify_access(const char *jwt, int64_t *uid, int *role);
/* Same, also returning the session id (0 when absent). */
int auth_verify_access_sid(const char *jwt, int64_t *uid, int *role, int64_t *sid);
/* fn(sid) runs for every session revoked from now on (here or on another instance), on
 * any thread, without blocking: the real-time gateway ends that session's sockets. */
void auth_on_session_revoked(void (*fn)(int64_t sid));
/* How long an access token can be accepted after it was issued (lifetime + leeway). */
int64_t auth_access_ttl_s(void);

const char *auth_role_name(int role);
int auth_role_from_name(const char *name); /* AUTH_ROLE_NONE if unknown */
/* Whether a user with role `have` may use a route that requires `need`: admin passes
 * every check, moderator passes moderator and user, seller passes seller and user. */
int auth_role_allows(int have, int need);
extern const struct vz_service auth_service;
#endif
