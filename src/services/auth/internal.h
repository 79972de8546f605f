/* Shared by the auth route files only. */
#ifndef VZ_AUTH_INTERNAL_H
#define VZ_AUTH_INTERNAL_H
#include "core/events.h"
#include "core/http.h"
#include "services/auth/otp.h"

/* Admin and moderator accounts must have TOTP on before their token carries the role
 * (VIDZO_TOTP_OPTIONAL=1 turns this enrolment rule off for development; it never skips
 * the TOTP step of an account that has TOTP on). */
extern int auth_totp_required;

/* The auth service's settings (rows in service.c: flags and VIDZO_* variables). */
typedef struct auth_settings_t {
  char google_client_ids[1024], google_jwks[512], apple_client_ids[1024], apple_jwks[512];
  char jwt_keys[2048], jwt_alg[16];
  int password_cost_fast, totp_optional, ip_limit_scale;
} auth_settings_t;
extern auth_settings_t auth_settings;
extern vz_route auth_routes[];
/* Deletion and suspension of an account (on_user.c). */
extern const vz_subscription auth_on[];
int auth_start(void);

/* Per-IP limits are sized for many honest people behind one NAT address (an office, a
 * campus, a mobile carrier): they stop spraying, not guessing. Guessing one account's
 * secret is stopped by the per-account limits (10 sign-in failures per email, 5 guesses
 * per OTP, 5 codes per destination and hour), which are never scaled.
 * VIDZO_AUTH_IP_LIMIT_SCALE=N (1..1000) multiplies every per-IP limit; with --dev it
 * defaults to 100, because a development or test server sees every client as 127.0.0.1
 * (and --dev already writes sign-in codes to disk, so it is never a production mode). */
#define AUTH_FAIL_PER_IP 100 /* failed sign-ins per IP per 15 minutes */
extern int auth_fail_per_ip;

int auth_h_signup(vz_req *req);
int auth_h_verify_email(vz_req *req);
int auth_h_signin(vz_req *req);
int auth_h_refresh(vz_req *req);
int auth_h_signout(vz_req *req);
int auth_h_sessions(vz_req *req);
int auth_h_session_revoke(vz_req *req);
int auth_h_otp_request(vz_req *req);
int auth_h_otp_verify(vz_req *req);
int auth_h_forgot(vz_req *req);
int auth_h_reset(vz_req *req);
int auth_h_oauth(vz_req *req);
int auth_h_totp_setup(vz_req *req);
int auth_h_totp_enable(vz_req *req);
int auth_h_phone_request(vz_req *req);
int auth_h_phone_verify(vz_req *req);
int auth_h_sms_signin_request(vz_req *req);
int auth_h_sms_signin_verify(vz_req *req);
/* Starts a session for the account and replies with both tokens (handlers.c). */
struct users_account;
int auth_reply_session(vz_req *req, const struct users_account *a, int status);
/* The TOTP step of a sign-in when the account has TOTP on: 0 passed (or not needed), else
 * replied; a wrong code counts as a failed sign-in against key (handlers.c). */
int auth_totp_or_fail(vz_req *req, const struct users_account *a, const char *key);
/* Sign-in by an emailed or texted code, as steps of one transaction (handlers.c): the
 * guess for purpose "signin" at dest (0 matched, 1 replied and to be committed, or a db.h
 * error), then, for the account it signs in, the TOTP step when the account has it on,
 * the code spent and the session with the reply (0 replied, DB_EABORT or a db.h error). */
/* The db_tx context of a request that spends a one-time code sent to dest. */
typedef struct auth_code_ctx {
  vz_req *req;
  const char *dest;  /* the email or phone number the code went to */
  otp_hit hit;
} auth_code_ctx;
/* The reply for a code that did not match: 429 when locked, 503 for OTP_EDB, else 400. */
int auth_otp_fail(vz_req *req, int rc);
int auth_code_match_tx(vz_req *req, vz_db *db, const char *dest, otp_hit *hit);
int auth_code_signin_tx(vz_req *req, vz_db *db, const struct users_account *a,
                        const otp_hit *hit, const char *key);
#endif
