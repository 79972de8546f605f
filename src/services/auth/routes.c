/* auth/routes.c: the /v1/auth HTTP table and auth_init, which installs the bearer-token
 * hook and the audit hook. Handlers live in handlers.c. Every reply that could tell an
 * attacker whether an account exists is the same for "no account" and "wrong secret". */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "services/auth/denylist.h"
#include "services/auth/internal.h"
#include "services/auth/otp.h"

static const vz_field signup_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { "password", VZ_STR, VZ_REQUIRED, 1, 1024, 0 }, /* rules checked in the handler, with messages */
  { "handle", VZ_STR, 0, 3, 30, 0 },
  { "display_name", VZ_STR, 0, 1, 60, 0 },
  { 0 } };
static const vz_field verify_email_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { "device", VZ_STR, 0, 1, 100, 0 },
  { 0 } };
static const vz_field signin_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { "password", VZ_STR, VZ_REQUIRED, 1, 1024, 0 },
  { "totp", VZ_STR, 0, 6, 6, 0 },
  { "device", VZ_STR, 0, 1, 100, 0 },
  { 0 } };
static const vz_field refresh_in[] = {
  { "refresh_token", VZ_STR, VZ_REQUIRED, 1, 100, 0 },
  { 0 } };
static const vz_field otp_request_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { 0 } };
static const vz_field otp_verify_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { "totp", VZ_STR, 0, 6, 6, 0 },
  { "device", VZ_STR, 0, 1, 100, 0 },
  { 0 } };
static const vz_field sms_verify_in[] = {
  { "phone", VZ_STR, VZ_REQUIRED, 1, 20, 0 },
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { "totp", VZ_STR, 0, 6, 6, 0 },
  { "device", VZ_STR, 0, 1, 100, 0 },
  { 0 } };
static const vz_field reset_in[] = {
  { "email", VZ_EMAIL, VZ_REQUIRED, 3, 254, 0 },
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { "password", VZ_STR, VZ_REQUIRED, 1, 1024, 0 },
  { 0 } };
static const vz_field oauth_in[] = {
  { "id_token", VZ_STR, VZ_REQUIRED, 10, 8000, 0 },
  { "nonce", VZ_STR, 0, 1, 200, 0 },
  { "totp", VZ_STR, 0, 6, 6, 0 },
  { "device", VZ_STR, 0, 1, 100, 0 },
  { 0 } };
static const vz_field phone_in[] = {
  { "phone", VZ_STR, VZ_REQUIRED, 1, 20, 0 },
  { 0 } };
static const vz_field phone_verify_in[] = {
  { "phone", VZ_STR, VZ_REQUIRED, 1, 20, 0 },
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { 0 } };
static const vz_field totp_in[] = {
  { "code", VZ_STR, VZ_REQUIRED, 6, 6, 0 },
  { 0 } };

static const vz_field provider_param[] = {
  { "provider", VZ_ENUM, VZ_REQUIRED, 0, 0, "google|apple" },
  { 0 } };

/* rate_per_min: per client IP, production values (see internal.h); auth_init scales them. */
vz_route auth_routes[] = {
  VZ_POST("/v1/auth/signup", auth_h_signup, .op = "signUp",
          .summary = "Create an account; a verification code is emailed",
          .desc = "Same answer whether or not the email is taken. The code is bound to this sign-up's password: a later sign-up gets its own code and retires this one.",
          .res = "CodeSent", .ok = 202, .errors = "409", .body = signup_in, .rate_per_min = 20),
  VZ_POST("/v1/auth/verify-email", auth_h_verify_email, .op = "verifyEmail",
          .summary = "Confirm the email with its code and start a session", .res = "Tokens", .errors = "401 403",
          .body = verify_email_in, .rate_per_min = 60),
  VZ_POST("/v1/auth/signin", auth_h_signin, .op = "signIn",
          .summary = "Sign in with email and password (and TOTP when enabled)",
          .desc = "401 invalid_credentials, totp_required or invalid_totp; 403 email_not_verified or account_suspended.",
          .res = "Tokens", .errors = "401 403", .body = signin_in, .rate_per_min = 60),
  VZ_POST("/v1/auth/refresh", auth_h_refresh, .op = "refreshSession",
          .summary = "Rotate a refresh token for a new access token",
          .desc = "Reusing a rotated token signs the whole session out (401 token_reused).", .res = "Tokens",
          .errors = "401 403 500", .body = refresh_in, .rate_per_min = 120),
  VZ_POST("/v1/auth/signout", auth_h_signout, .op = "signOut", .summary = "End the session of a refresh token",
          .res = "-", .errors = "404", .body = refresh_in, .flags = VZ_AUTH),
  VZ_GET("/v1/auth/sessions", auth_h_sessions, .op = "listSessions",
         .summary = "The caller's live sessions, most recently used first", .res = "Session[]", .flags = VZ_AUTH),
  VZ_DELETE("/v1/auth/sessions/:id", auth_h_session_revoke, .op = "revokeSession",
            .summary = "Sign one of the caller's sessions out", .res = "-", .flags = VZ_AUTH),
  VZ_POST("/v1/auth/otp/request", auth_h_otp_request, .op = "requestSigninCode",
          .summary = "Email a sign-in code to a verified account", .res = "CodeSent", .ok = 202,
          .body = otp_request_in, .rate_per_min = 20),
  VZ_POST("/v1/auth/otp/verify", auth_h_otp_verify, .op = "verifySigninCode",
          .summary = "Sign in with an emailed code (and TOTP when enabled)", .res = "Tokens", .errors = "401 403",
          .body = otp_verify_in, .rate_per_min = 60),
  VZ_POST("/v1/auth/password/forgot", auth_h_forgot, .op = "forgotPassword", .summary = "Email a password-reset code",
          .res = "CodeSent", .ok = 202, .body = otp_request_in, .rate_per_min = 20),
  VZ_POST("/v1/auth/password/reset", auth_h_reset, .op = "resetPassword",
          .summary = "Set a new password with the emailed code; every session ends", .res = "-", .body = reset_in,
          .rate_per_min = 60),
  VZ_POST("/v1/auth/oauth/:provider", auth_h_oauth, .op = "signInWithProvider",
          .summary = "Sign in with a Google or Apple ID token",
          .desc = "Links by verified email; linking an account nobody had verified drops its password and sessions.",
          .res = "Tokens", .errors = "401 403 500", .params = provider_param, .body = oauth_in, .rate_per_min = 60),
  VZ_POST("/v1/auth/totp/setup", auth_h_totp_setup, .op = "setupTotp",
          .summary = "Start two-factor sign-in: a new authenticator secret", .res = "TotpSetup", .errors = "409",
          .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 10),
  VZ_POST("/v1/auth/totp/enable", auth_h_totp_enable, .op = "enableTotp",
          .summary = "Turn two-factor sign-in on with a code from the app", .res = "-", .errors = "409",
          .body = totp_in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 10),
  VZ_POST("/v1/auth/sms/request", auth_h_sms_signin_request, .op = "requestSmsCode",
          .summary = "Text a sign-in code to a verified phone number", .res = "CodeSent", .ok = 202, .body = phone_in,
          .rate_per_min = 20),
  VZ_POST("/v1/auth/sms/verify", auth_h_sms_signin_verify, .op = "verifySmsCode",
          .summary = "Sign in with a texted code (and TOTP when enabled)", .res = "Tokens", .errors = "401 403",
          .body = sms_verify_in, .rate_per_min = 60),
  VZ_POST("/v1/me/phone", auth_h_phone_request, .op = "requestPhoneCode",
          .summary = "Text a code to a phone number (E.164) to verify it", .res = "CodeSent", .ok = 202,
          .body = phone_in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 10),
  VZ_POST("/v1/me/phone/verify", auth_h_phone_verify, .op = "verifyPhone",
          .summary = "Verify the phone number with the texted code", .res = "PhoneVerified", .errors = "409",
          .body = phone_verify_in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 30),
  { 0 } };


static int hook_authenticate(const char *token, int64_t *uid, int *role, int64_t *sid) {
  return auth_verify_access_sid(token, uid, role, sid);
}

/* No --jwt-secret: one instance on a laptop keeps a random secret in DATA_DIR/jwt.secret
 * (mode 0600) so sessions survive a restart; several instances must share a configured
 * one. If the file cannot be kept, the secret lives only as long as the process. */
static const char *local_secret(char *secret, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/jwt.secret", vz_cfg.data_dir);
  FILE *f = fopen(path, "r");
  if (f) {
    size_t n = fread(secret, 1, cap - 1, f);
    fclose(f);
    secret[n] = 0;
    secret[strcspn(secret, "\r\n")] = 0;
    if (strlen(secret) >= 32) return secret;
  }
  unsigned char r[32];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(secret, cap, r, sizeof r);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret) && close(fd) == 0) {
    vz_log_info("no jwt secret configured: generated one", "file", path);
  } else {
    if (fd >= 0) close(fd);
    vz_log_warn("no jwt secret configured and none could be saved: tokens will not survive a restart");
  }
  return secret;
}

/* A revoked session ends everywhere: the core hook says what hangs on it (realtime's
 * sockets), without auth knowing who installed it. */
static void revoked(int64_t sid) {
  if (vz_hook.session_revoked) vz_hook.session_revoked(sid);
}

/* No side effects (`vidzo routes` runs only this): settings into limits and hooks. The
 * per-IP limits scale for NAT and tests: --auth-ip-limit-scale, else 100 with --dev. */
int auth_init(void) {
  int scale = auth_settings.ip_limit_scale ? auth_settings.ip_limit_scale : vz_cfg.dev ? 100 : 1;
  static int scaled; /* init may run twice in one process (tests): scale the table once */
  if (!scaled)
    for (vz_route *r = auth_routes; r->method; r++)
      if (!(r->flags & VZ_RATE_USER)) r->rate_per_min *= scale; /* per-user limits never scale */
  scaled = 1;
  auth_fail_per_ip = AUTH_FAIL_PER_IP * scale;
  otp_set_ip_limit(OTP_PER_IP_HOUR * scale);
  auth_totp_required = !auth_settings.totp_optional;
  vz_hook.authenticate = hook_authenticate;
  auth_on_session_revoked(revoked); /* sockets and whatever else hangs on a session */
  return 0;
}

/* `vidzo serve` only: the secret file, the outbox, key material, revocations. */
int auth_start(void) {
  char err[256], path[512], secret[80];
  const char *s = vz_cfg.jwt_secret;
  if (!s[0]) s = local_secret(secret, sizeof secret);
  auth_config cfg = { .secret = s };
  const auth_settings_t *o = &auth_settings;
  cfg.google_client_ids = o->google_client_ids[0] ? o->google_client_ids : NULL;
  cfg.google_jwks = o->google_jwks[0] ? o->google_jwks : NULL;
  cfg.apple_client_ids = o->apple_client_ids[0] ? o->apple_client_ids : NULL;
  cfg.apple_jwks = o->apple_jwks[0] ? o->apple_jwks : NULL;
  cfg.jwt_keys = o->jwt_keys[0] ? o->jwt_keys : NULL;
  cfg.jwt_alg = o->jwt_alg[0] ? o->jwt_alg : NULL;
  if (o->password_cost_fast) cfg.pw_ops = 1, cfg.pw_mem = 8192;
  /* No SMTP or SMS sender is built in yet, so one-time codes are written to
   * DATA_DIR/outbox (private to the server's user). Without it a new server would accept
   * sign-ups whose codes go nowhere: 202, then email_not_verified forever. --dev only
   * says this is intended; otherwise the operator is told once, at start. */
  snprintf(path, sizeof path, "%s/outbox", vz_cfg.data_dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/outbox/otp.jsonl", vz_cfg.data_dir);
  cfg.otp_log_path = path;
  if (auth_setup(&cfg, err, sizeof err) != 0) {
    vz_log_error("auth setup failed", "error", err);
    return -1;
  }
  if (!vz_cfg.dev)
    vz_log_warn("no mail/SMS sender configured: one-time codes are written to DATA_DIR/outbox",
                "dir", vz_cfg.data_dir);
  /* sessions revoked within a token lifetime stay refused after a restart */
  vz_db *db = NULL;
  if (db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) db = NULL;
  int rc = denylist_init(db, auth_access_ttl_s());
  if (db) db_close(db);
  return rc < 0 ? -1 : 0;
}
