/* auth/handlers.c: the /v1/auth handlers (worker pool, req->db). Sign-in failures are
 * counted in auth_failures per email and per IP over a 15-minute window; the same
 * "invalid email or password" answers a missing account, a deleted one and a wrong
 * password, and a missing account still spends one argon2id verification. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "services/auth/denylist.h"
#include "services/auth/internal.h"
#include "services/auth/oauth.h"
#include "services/auth/otp.h"
#include "services/auth/password.h"
#include "services/auth/refresh.h"
#include "services/auth/totp.h"
#include "services/users/users.h"

int auth_totp_required = 1;
int auth_fail_per_ip = AUTH_FAIL_PER_IP;

#define WINDOW_MS (15LL * 60 * 1000)
#define FAIL_PER_KEY 10
#define GENERIC_SIGNIN "invalid email or password"

static const char *jstr(vz_req *req, const char *k) {
  return json_string_value(json_object_get(req->json, k));
}

static int fail_users(vz_req *req, const users_err *e) {
  return vz_fail(req, e->status ? e->status : 500, e->code ? e->code : "internal", e->field, "%s",
                 e->message);
}

static int64_t count_failures(vz_db *db, const char *kind, const char *col, const char *v,
                              int64_t since) {
  vz_stmt *st = NULL;
  char sql[160];
  int64_t n = 0;
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM auth_failures WHERE kind = $1 AND %s = $2 AND created_at > $3",
           col);
  if (db_run(db, &st, sql, "ssi", kind, v, since) == DB_ROW) n = db_col_int(st, 0);
  if (st) db_finalize(st);
  return n;
}

/* 0 when under the limits, else replied 429. */
static int failures_ok_or_fail(vz_req *req, const char *kind, const char *key) {
  int64_t since = db_now_ms() - WINDOW_MS;
  if (count_failures(req->db, kind, "key", key, since) >= FAIL_PER_KEY ||
      count_failures(req->db, kind, "ip", req->ip, since) >= auth_fail_per_ip) {
    vz_add_header(req, "Retry-After", "900");
    vz_fail(req, 429, "rate_limited", NULL, "too many failed attempts; try again later");
    return -1;
  }
  return 0;
}

static int record_failure_db(vz_req *req, vz_db *db, const char *kind, const char *key) {
  int rc = db_run(db, NULL,
                  "INSERT INTO auth_failures (id, kind, key, ip, created_at) VALUES ($1, $2, $3, $4, $5)",
                  "isssi", db_id_new(), kind, key, req->ip, db_now_ms());
  return rc < 0 ? rc : 0;
}

static void record_failure(vz_req *req, const char *kind, const char *key) {
  record_failure_db(req, req->db, kind, key);
}

/* Role carried by tokens: admin/moderator only once TOTP is on (when required). */
static int effective_role(const users_account *a, int *setup_needed) {
  *setup_needed = 0;
  if (auth_totp_required && (a->role == AUTH_ROLE_ADMIN || a->role == AUTH_ROLE_MODERATOR) &&
      !a->totp_enabled) {
    *setup_needed = 1;
    return AUTH_ROLE_USER;
  }
  return a->role;
}

static json_t *token_body(int64_t uid, int role, int setup, const char *access, int64_t ttl,
                          const char *refresh) {
  json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:{s:o, s:s}}", "access_token", access,
                        "token_type", "Bearer", "expires_in", (json_int_t)ttl, "refresh_token",
                        refresh, "user", "id", vz_json_id(uid), "role", auth_role_name(role));
  if (setup) json_object_set_new(o, "totp_setup_required", json_true());
  return o;
}

/* A suspended account gets no session (users/suspend.c). Only said to whoever has proven
 * a factor already, so it tells nothing about which accounts exist. 0, or replied 403. */
static int not_suspended_or_fail(vz_req *req, const users_account *a) {
  if (!a->suspended_until) return 0;
  if (a->suspended_until == INT64_MAX)
    return vz_fail(req, 403, "account_suspended", NULL, "this account is suspended");
  char until[40];
  json_t *t = vz_json_time(a->suspended_until);
  snprintf(until, sizeof until, "%s", json_string_value(t) ? json_string_value(t) : "later");
  json_decref(t);
  return vz_fail(req, 403, "account_suspended", NULL, "this account is suspended until %s", until);
}

/* The users and otp helpers say "database error" without the db.h code: answered as an
 * unavailable database (503 + Retry-After), as a lost connection would be. */
#define DB_RC_OF_HELPER DB_EUNAVAILABLE

/* The last step of every sign-in, as a step of the caller's transaction: the session row,
 * the signed access token and the reply, so a token that cannot be signed or a reply that
 * cannot be built leaves no session behind (and rolls back what the caller wrote with
 * it). 0 with the reply sent (a suspended account's 403 included: nothing written here,
 * the caller's writes stand), DB_EABORT after a 5xx of its own, or a db.h error. */
static int session_reply_tx(vz_req *req, vz_db *db, const users_account *a, int status) {
  session_tokens s;
  char *access = NULL;
  int64_t ttl = 0;
  int setup = 0, role = effective_role(a, &setup);
  if (not_suspended_or_fail(req, a)) return 0;
  if (session_create(db, a->id, jstr(req, "device"), vz_req_header(req, "User-Agent"), req->ip,
                     db_now_ms(), &s) != SESSION_OK)
    return DB_RC_OF_HELPER;
  if (auth_issue_access(a->id, role, s.family_id, &access, &ttl) != 0) {
    vz_fail(req, 500, "internal", NULL, "could not sign the token");
    return DB_EABORT;
  }
  json_t *body = token_body(a->id, role, setup, access, ttl, s.token);
  free(access);
  vz_reply_item(req, status, body);
  return req->status >= 400 ? DB_EABORT : 0;
}

typedef struct session_ctx {
  vz_req *req;
  const users_account *a;
  int status;
} session_ctx;

static int session_tx(vz_db *db, void *ctx) {
  session_ctx *c = ctx;
  return session_reply_tx(c->req, db, c->a, c->status);
}

/* Starts a session for account a and replies 200/201 with both tokens. Every sign-in
 * (password, emailed or texted code, provider, email verification) ends here. */
int auth_reply_session(vz_req *req, const users_account *a, int status) {
  session_ctx c = {req, a, status};
  vz_tx_or_fail(req, session_tx, &c);
  return req->status;
}

static int password_ok_or_fail(vz_req *req, const char *pw) {
  const char *msg = NULL;
  if (password_check_rules(pw, &msg) != 0)
    return vz_fail(req, 400, "invalid_argument", "password", "%s", msg);
  return 0;
}

static int email_or_fail(vz_req *req, char out[USERS_EMAIL_MAX + 1]) {
  users_err e = {0};
  if (users_email_normalize(jstr(req, "email"), out, &e) != 0) return fail_users(req, &e);
  return 0;
}

int auth_otp_fail(vz_req *req, int rc) {
  if (rc == OTP_ELOCKED)
    return vz_fail(req, 429, "too_many_attempts", "code", "%s", otp_strerror(rc));
  if (rc == OTP_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  return vz_fail(req, 400, "invalid_code", "code", "the code is invalid or has expired");
}

/* Codes go out only for accounts that exist; the reply is the same either way. Cool-down
 * and per-destination limits are silent for the same reason; only the per-IP cap is
 * reported, since it says nothing about any account. pending: bound to the code (otp.h).
 * A step of the caller's transaction: 0 with the 202 sent, DB_EABORT after a refusal
 * (429, a code that could not be sent: the caller's writes roll back with it), or a db.h
 * error. */
static int otp_accepted_tx(vz_req *req, vz_db *db, const char *purpose, const char *email,
                           int exists, const char *pending) {
  /* the per-IP cap first, for every request: its answer must not depend on `exists` */
  int rc = otp_ip_check(db, req->ip, db_now_ms());
  if (rc == OTP_OK && exists)
    rc = otp_issue(db, purpose, "email", email, req->ip, db_now_ms(), pending);
  if (rc == OTP_EDB) return DB_RC_OF_HELPER;
  if (rc == OTP_ESEND) {
    vz_fail(req, 503, "unavailable", NULL, "%s", otp_strerror(rc));
    return DB_EABORT;
  }
  if (rc == OTP_EIPRATE) {
    vz_add_header(req, "Retry-After", "3600");
    vz_fail(req, 429, "rate_limited", NULL, "%s", otp_strerror(rc));
    return DB_EABORT;
  }
  vz_reply_item(req, 202, json_pack("{s:s, s:i}", "status", "sent_if_account_exists",
                                    "resend_after_s", OTP_RESEND_MS / 1000));
  return req->status >= 400 ? DB_EABORT : 0;
}

typedef struct accept_ctx {
  vz_req *req;
  const char *purpose, *email;
  int need_verified;
} accept_ctx;

/* The account read is a step of the transaction: a failed read is a 503 (vz_fail_db),
 * never taken for "no account", which would answer 202 and send nothing. A real missing
 * account still gets the same 202 as an existing one. */
static int accept_tx(vz_db *db, void *ctx) {
  accept_ctx *c = ctx;
  users_account a;
  int rc = users_account_by_email(db, c->email, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  int exists = rc == USERS_OK && !a.deleted && (!c->need_verified || a.email_verified);
  return otp_accepted_tx(c->req, db, c->purpose, c->email, exists, NULL);
}

static int otp_accepted(vz_req *req, const char *purpose, const char *email, int need_verified) {
  accept_ctx c = {req, purpose, email, need_verified};
  vz_tx_or_fail(req, accept_tx, &c);
  return req->status;
}

typedef struct signup_ctx {
  vz_req *req;
  const char *email, *hash;
} signup_ctx;

/* One transaction: the account (when new), the code and its send, the send being the
 * last step before the commit (otp_issue). A failure anywhere leaves neither an account
 * without a code nor a stored code that never went out (whose resend cool-down would
 * then keep the next sign-up waiting). */
static int signup_tx(vz_db *db, void *ctx) {
  signup_ctx *c = ctx;
  vz_req *req = c->req;
  users_account a;
  users_err e = {0};
  const char *handle = jstr(req, "handle");
  int rc = users_account_by_email(db, c->email, &a);
  if (rc == USERS_ENOTFOUND) {
    /* in a savepoint: a parallel sign-up's row fails the insert, and on PostgreSQL a
     * failed statement spoils the transaction until rolled back to a savepoint */
    int sp = db_begin(db);
    if (sp < 0) return sp;
    rc = users_create(db, jstr(req, "email"), 0, NULL, handle, jstr(req, "display_name"),
                      NULL, &e);
    sp = rc == USERS_OK ? db_commit(db) : db_rollback(db);
    if (sp < 0) {
      db_rollback(db);
      return sp;
    }
    if (rc == USERS_EDB) return DB_RC_OF_HELPER;
    if ((rc == USERS_ECONFLICT && e.field && !strcmp(e.field, "handle")) ||
        (rc != USERS_OK && rc != USERS_ECONFLICT)) {
      fail_users(req, &e);
      return DB_EABORT;
    }
    /* made just now, or by a parallel sign-up: either way read what is there */
    rc = users_account_by_email(db, c->email, &a);
  }
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  /* a taken address gets no code and no change: the reply says nothing more */
  int unclaimed = rc == USERS_OK && !a.email_verified && !a.deleted;
  return otp_accepted_tx(req, db, "verify_email", c->email, unclaimed, unclaimed ? c->hash : NULL);
}

/* An unverified account has no password: each sign-up's password hash waits with the
 * code sent for it, and verifying THAT code makes it the account's (auth_h_verify_email).
 * Whoever signs up with an address they do not own can neither set nor swap the password
 * the owner's code activates; the newest sign-up's code retires the older ones. */
int auth_h_signup(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
  users_err e = {0};
  const char *pw = jstr(req, "password"), *handle = jstr(req, "handle");
  if (email_or_fail(req, email) || password_ok_or_fail(req, pw)) return req->status;
  if (handle && users_handle_check(handle, &e) != 0) return fail_users(req, &e);
  /* hashed before the transaction: argon2id takes a while, the write lock must not */
  if (password_hash(pw, hash) != 0) return vz_fail(req, 500, "internal", NULL, "hashing failed");
  signup_ctx c = {req, email, hash};
  vz_tx_or_fail(req, signup_tx, &c);
  return req->status;
}

/* One transaction: the code spent, the email verified (with the password bound to the
 * code), the session and the reply with its tokens. No failure can burn the code and
 * leave the account unverified, or verified without the session the reply would carry.
 * A wrong, dead or already spent code is answered 400 and committed: the attempt it
 * spent must count against the guesser. */
static int verify_email_tx(vz_db *db, void *ctx) {
  auth_code_ctx *c = ctx;
  vz_req *req = c->req;
  users_account a;
  int64_t now = db_now_ms();
  int changed = 0;
  int rc = otp_match(db, "verify_email", c->dest, jstr(req, "code"), now, &c->hit);
  if (rc == OTP_OK) rc = otp_consume(db, &c->hit, now);
  if (rc == OTP_EDB) return DB_RC_OF_HELPER;
  if (rc != OTP_OK) {
    auth_otp_fail(req, rc);
    return 0;
  }
  rc = users_account_by_email(db, c->dest, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  if (rc != USERS_OK || a.deleted) {
    auth_otp_fail(req, OTP_ENONE);
    return 0;
  }
  /* The password bound to this code becomes the account's, and only while nobody has
   * proven the mailbox yet: after a provider sign-in or a reset, a sign-up code (maybe
   * from someone else's sign-up) must not set a password. Legacy codes carry none. */
  rc = users_verify_email(db, a.id, c->hit.pending[0] ? c->hit.pending : NULL, 0, &changed);
  if (rc < 0) return rc;
  if (changed != 1) {
    auth_otp_fail(req, OTP_ENONE);
    return 0;
  }
  a.email_verified = 1;
  return session_reply_tx(req, db, &a, 200);
}

int auth_h_verify_email(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1];
  if (email_or_fail(req, email)) return req->status;
  auth_code_ctx c = {.req = req, .dest = email};
  vz_tx_or_fail(req, verify_email_tx, &c);
  sodium_memzero(&c.hit, sizeof c.hit);
  return req->status;
}

/* The second factor, whatever the first was (password, emailed or texted code, provider
 * ID token): an account with TOTP on must add a code from its app. VIDZO_TOTP_OPTIONAL
 * relaxes only the enrolment of staff roles (effective_role), never a factor a user
 * turned on. The step is taken atomically (totp_store.c), so parallel sign-ins with one
 * code get one session. key: what a failure counts against. 0, or replied. */
/* The TOTP step as a step of the caller's transaction: 0 passed (or not needed), 1 replied
 * 401 (a wrong code counted against key, to be committed), or a db.h error. */
static int totp_step_tx(vz_req *req, vz_db *db, const users_account *a, const char *key) {
  if (!a->totp_enabled) return 0;
  const char *code = jstr(req, "totp");
  if (!code) {
    vz_fail(req, 401, "totp_required", "totp", "enter the code from your authenticator app");
    return 1;
  }
  int64_t step = a->totp_last_step;
  int rc = totp_verify(a->totp_secret, code, (int64_t)time(NULL), &step) == 0
               ? totp_take_step(db, a->id, step) : TOTP_EUSED;
  if (rc < 0) return rc;
  if (rc != 0) {
    rc = record_failure_db(req, db, "signin", key);
    if (rc < 0) return rc;
    vz_fail(req, 401, "invalid_totp", "totp", "the authenticator code is not correct");
    return 1;
  }
  return 0;
}

int auth_totp_or_fail(vz_req *req, const users_account *a, const char *key) {
  int rc = totp_step_tx(req, req->db, a, key);
  if (rc < 0) return vz_fail_db(req, rc);
  return rc ? req->status : 0;
}

/* Sign-in by an emailed or texted code that matched (otp_match, in the same transaction)
 * and is not spent yet. Asked for the TOTP step, the caller retries with the same code.
 * The code is spent, the TOTP step taken and the session made together: a database
 * failure anywhere rolls all of it back and the code stays good. A wrong TOTP code is
 * committed with the spent code and the counted failure: it burns the code on purpose. */
int auth_code_signin_tx(vz_req *req, vz_db *db, const users_account *a, const otp_hit *hit,
                        const char *key) {
  if (a->totp_enabled && !jstr(req, "totp")) {
    vz_fail(req, 401, "totp_required", "totp", "enter the code from your authenticator app");
    return 0;
  }
  int rc = otp_consume(db, hit, db_now_ms());
  if (rc == OTP_EDB) return DB_RC_OF_HELPER;
  if (rc != OTP_OK) {
    auth_otp_fail(req, rc);
    return 0;
  }
  rc = totp_step_tx(req, db, a, key);
  if (rc < 0) return rc;
  if (rc) return 0;
  return session_reply_tx(req, db, a, 200);
}

/* A code's check: 0 matched, 1 replied (a wrong guess: its spent attempt is committed),
 * or a db.h error. */
int auth_code_match_tx(vz_req *req, vz_db *db, const char *dest, otp_hit *hit) {
  int rc = otp_match(db, "signin", dest, jstr(req, "code"), db_now_ms(), hit);
  if (rc == OTP_EDB) return DB_RC_OF_HELPER;
  if (rc != OTP_OK) {
    auth_otp_fail(req, rc);
    return 1;
  }
  return 0;
}

int auth_h_signin(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1];
  users_account a;
  const char *pw = jstr(req, "password");
  if (email_or_fail(req, email) || failures_ok_or_fail(req, "signin", email)) return req->status;
  char pending[OTP_PENDING_MAX] = "";
  int rc = users_account_by_email(req->db, email, &a);
  if (rc == USERS_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  const char *stored = rc == USERS_OK && !a.deleted ? a.password_hash : "";
  /* an unverified sign-up's password waits with its code: checked so that its owner hears
   * "verify your email" (one hash check either way, like the dummy below) */
  if (!stored[0] && rc == USERS_OK && !a.deleted && !a.email_verified &&
      otp_pending(req->db, "verify_email", email, pending, sizeof pending) == 1)
    stored = pending;
  if (!stored[0]) {
    password_verify_dummy(pw);
    record_failure(req, "signin", email);
    return vz_fail(req, 401, "invalid_credentials", NULL, GENERIC_SIGNIN);
  }
  if (password_verify(stored, pw) != 0) {
    record_failure(req, "signin", email);
    return vz_fail(req, 401, "invalid_credentials", NULL, GENERIC_SIGNIN);
  }
  /* From here the caller knows the password, so specific answers reveal nothing new. */
  if (!a.email_verified)
    return vz_fail(req, 403, "email_not_verified", "email",
                   "verify your email first (sign up again to get a new code)");
  if (auth_totp_or_fail(req, &a, email)) return req->status;
  if (password_needs_rehash(a.password_hash)) {
    char hash[PASSWORD_HASH_MAX];
    if (password_hash(pw, hash) == 0)
      users_set_password(req->db, a.id, hash, 0); /* best effort: the old hash still works */
  }
  return auth_reply_session(req, &a, 200);
}

int auth_h_refresh(vz_req *req) {
  session_tokens s;
  users_account a;
  char *access = NULL;
  int64_t ttl = 0;
  int rc = session_refresh(req->db, jstr(req, "refresh_token"), vz_req_header(req, "User-Agent"),
                           req->ip, db_now_ms(), &s);
  if (rc == SESSION_EREUSE)
    return vz_fail(req, 401, "token_reused",
                   NULL, "this refresh token was already used; the session has been signed out");
  if (rc == SESSION_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  if (rc != SESSION_OK) return vz_fail(req, 401, "invalid_token", NULL, "invalid or expired refresh token");
  if (users_account_by_id(req->db, s.user_id, &a) != USERS_OK || a.deleted)
    return vz_fail(req, 401, "invalid_token", NULL, "invalid or expired refresh token");
  /* suspension revokes the sessions (on_user.c); this covers a refresh racing it */
  if (not_suspended_or_fail(req, &a)) return req->status;
  int setup = 0, role = effective_role(&a, &setup);
  if (auth_issue_access(a.id, role, s.family_id, &access, &ttl) != 0)
    return vz_fail(req, 500, "internal", NULL, "could not sign the token");
  json_t *body = token_body(a.id, role, setup, access, ttl, s.token);
  free(access);
  return vz_reply_item(req, 200, body);
}

int auth_h_signout(vz_req *req) {
  int rc = session_signout(req->db, jstr(req, "refresh_token"), req->user_id, db_now_ms());
  if (rc == SESSION_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  if (rc != SESSION_OK) return vz_fail(req, 404, "not_found", "refresh_token", "no such session");
  return vz_reply_empty(req, 204);
}

int auth_h_sessions(vz_req *req) {
  json_t *list = NULL, *s;
  size_t i;
  if (session_list(req->db, req->user_id, db_now_ms(), &list) != SESSION_OK)
    return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  json_array_foreach(list, i, s) {
    int64_t id = 0;
    vz_parse_id(json_string_value(json_object_get(s, "id")), &id);
    json_object_set_new(s, "current", json_boolean(id == req->session_id));
    json_object_set_new(s, "created_at", vz_json_time(json_integer_value(json_object_get(s, "created_at"))));
    json_object_set_new(s, "last_used_at", vz_json_time(json_integer_value(json_object_get(s, "last_used_at"))));
  }
  return vz_reply_list(req, list, NULL);
}

int auth_h_session_revoke(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  int rc = session_revoke(req->db, req->user_id, id, db_now_ms());
  if (rc == SESSION_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such session");
  if (rc != SESSION_OK) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  return vz_reply_empty(req, 204);
}

int auth_h_otp_request(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1];
  if (email_or_fail(req, email)) return req->status;
  return otp_accepted(req, "signin", email, 1);
}

/* One transaction: the guess, the account read, then auth_code_signin_tx. */
static int otp_signin_tx(vz_db *db, void *ctx) {
  auth_code_ctx *c = ctx;
  users_account a;
  int rc = auth_code_match_tx(c->req, db, c->dest, &c->hit);
  if (rc) return rc < 0 ? rc : 0;
  rc = users_account_by_email(db, c->dest, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  if (rc != USERS_OK || a.deleted || !a.email_verified) {
    auth_otp_fail(c->req, OTP_ENONE);
    return 0;
  }
  return auth_code_signin_tx(c->req, db, &a, &c->hit, c->dest);
}

int auth_h_otp_verify(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1];
  if (email_or_fail(req, email)) return req->status;
  auth_code_ctx c = {.req = req, .dest = email};
  vz_tx_or_fail(req, otp_signin_tx, &c);
  sodium_memzero(&c.hit, sizeof c.hit);
  return req->status;
}

int auth_h_forgot(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1];
  if (email_or_fail(req, email)) return req->status;
  return otp_accepted(req, "reset_password", email, 0);
}

/* Session families a transaction signed out, for the denylist once it committed: the
 * denylist (memory, and the other instances over the bus) cannot roll back. */
typedef struct families {
  int64_t *v;
  size_t n, cap;
} families;

/* Revoke-all as a step of the caller's transaction, reading the families it ended
 * (revoked_at = now) into f so that nothing needs the database after the commit. */
static int revoke_all_tx(vz_db *db, families *f, int64_t uid, int64_t now) {
  vz_stmt *st = NULL;
  int rc = session_revoke_all_tx(db, uid, now);
  if (rc < 0) return rc;
  rc = db_run(db, &st,
              "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND revoked_at = $2",
              "ii", uid, now);
  for (; rc == DB_ROW; rc = db_step(st)) {
    if (f->n == f->cap) {
      size_t cap = f->cap ? f->cap * 2 : 8;
      int64_t *v = realloc(f->v, cap * sizeof *v);
      if (!v) {
        rc = DB_ERROR;
        break;
      }
      f->v = v;
      f->cap = cap;
    }
    f->v[f->n++] = db_col_int(st, 0);
  }
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

/* After the transaction: denies what committed, frees the list. */
static void families_deny(families *f, int committed) {
  for (size_t i = 0; committed && i < f->n; i++) denylist_session(f->v[i]);
  free(f->v);
  memset(f, 0, sizeof *f);
}

typedef struct reset_ctx {
  vz_req *req;
  const char *email, *hash;
  families fam;
} reset_ctx;

/* One transaction: the code spent, the new password (the code proved the mailbox, so the
 * email is verified too) and every device signed out. A failure leaves the code good and
 * the old password and sessions as they were; never a spent code with the old password,
 * nor a new password while a stolen session lives on. A wrong or dead code is answered
 * 400 and committed: the attempt it spent counts against the guesser. */
static int reset_tx(vz_db *db, void *ctx) {
  reset_ctx *c = ctx;
  vz_req *req = c->req;
  users_account a;
  int64_t now = db_now_ms();
  c->fam.n = 0; /* a retry starts clean */
  int rc = otp_verify(db, "reset_password", c->email, jstr(req, "code"), now);
  if (rc == OTP_EDB) return DB_RC_OF_HELPER;
  if (rc != OTP_OK) {
    auth_otp_fail(req, rc);
    return 0;
  }
  rc = users_account_by_email(db, c->email, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  if (rc != USERS_OK || a.deleted) {
    auth_otp_fail(req, OTP_ENONE);
    return 0;
  }
  rc = users_set_password(db, a.id, c->hash, 1);
  if (rc >= 0) rc = revoke_all_tx(db, &c->fam, a.id, now);
  if (rc < 0) return rc;
  vz_reply_empty(req, 204);
  return 0;
}

int auth_h_reset(vz_req *req) {
  char email[USERS_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
  const char *pw = jstr(req, "password");
  if (email_or_fail(req, email) || password_ok_or_fail(req, pw)) return req->status;
  /* hashed before the transaction: argon2id takes a while, the write lock must not */
  if (password_hash(pw, hash) != 0) return vz_fail(req, 500, "internal", NULL, "hashing failed");
  reset_ctx c = {req, email, hash, {0}};
  families_deny(&c.fam, vz_tx_or_fail(req, reset_tx, &c) >= 0 && req->status == 204);
  sodium_memzero(hash, sizeof hash);
  return req->status;
}

typedef struct oauth_ctx {
  vz_req *req;
  const oauth_identity *id;
  families fam;
} oauth_ctx;

/* A provider just proved the mailbox of an account nobody had verified. Whatever password
 * it holds was set by someone who never proved the address (maybe an attacker who signed
 * up with it first, hoping the owner would link it): drop it, end any session, and retire
 * the pending sign-up codes, whose bound passwords were chosen by the same unknown
 * people. The owner can set a password by the reset flow. Conditional on still being
 * unverified, so a parallel verification is not undone. 0 or a db.h error. */
static int claim_unverified_tx(vz_db *db, families *f, int64_t uid, const char *email) {
  int64_t now = db_now_ms();
  int changed = 0;
  int rc = users_verify_email(db, uid, NULL, 1, &changed);
  if (rc < 0 || !changed) return rc < 0 ? rc : 0;
  rc = revoke_all_tx(db, f, uid, now);
  if (rc < 0) return rc;
  return otp_retire(db, "verify_email", email, now) < 0 ? DB_RC_OF_HELPER : 0;
}

/* The account a provider identity signs in to, linking or creating it: *uid, 0, or
 * DB_EABORT after a refusal (nothing written), or a db.h error. */
static int oauth_account_tx(vz_req *req, vz_db *db, oauth_ctx *c, int64_t *uid) {
  const oauth_identity *id = c->id;
  vz_stmt *st = NULL;
  users_account a;
  users_err e = {0};
  char email[USERS_EMAIL_MAX + 1];
  int rc = db_run(db, &st, "SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2",
                  "ss", id->provider, id->subject);
  if (rc == DB_ROW) *uid = db_col_int(st, 0);
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (*uid) return 0;
  /* Link by email only when the provider vouches for it (OIDC email_verified). */
  if (!id->email[0] || !id->email_verified) {
    vz_fail(req, 400, "invalid_argument", "id_token", "the provider did not share a verified email");
    return DB_EABORT;
  }
  if (users_email_normalize(id->email, email, &e) != 0) {
    fail_users(req, &e);
    return DB_EABORT;
  }
  rc = users_account_by_email(db, email, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  if (rc == USERS_OK && a.deleted) {
    vz_fail(req, 403, "forbidden", NULL, "this account was deleted");
    return DB_EABORT;
  }
  if (rc == USERS_OK) {
    *uid = a.id;
    if (!a.email_verified && (rc = claim_unverified_tx(db, &c->fam, a.id, email)) < 0) return rc;
  } else {
    rc = users_create(db, id->email, 1, NULL, NULL, id->name, uid, &e);
    if (rc == USERS_EDB) return DB_RC_OF_HELPER;
    if (rc != USERS_OK) {
      fail_users(req, &e);
      return DB_EABORT;
    }
  }
  rc = db_run(db, NULL,
              "INSERT INTO oauth_identities (provider, subject, user_id, email, created_at)"
              " VALUES ($1, $2, $3, $4, $5)", "ssisi", id->provider, id->subject, *uid, id->email,
              db_now_ms());
  return rc < 0 ? rc : 0;
}

/* One transaction: the account (linked or created), the identity row, the TOTP step and
 * the session with the reply. A failure leaves no account without its identity, no link
 * without the session the reply would carry; the retry starts clean. */
static int oauth_tx(vz_db *db, void *ctx) {
  oauth_ctx *c = ctx;
  vz_req *req = c->req;
  users_account a;
  users_err e = {0};
  int64_t uid = 0;
  c->fam.n = 0; /* a retry starts clean */
  int rc = oauth_account_tx(req, db, c, &uid);
  if (rc < 0) return rc;
  rc = users_account_by_id(db, uid, &a);
  if (rc == USERS_EDB) return DB_RC_OF_HELPER;
  if (rc != USERS_OK || a.deleted) {
    vz_fail(req, 403, "forbidden", NULL, "this account was deleted");
    return DB_EABORT;
  }
  char key[USERS_EMAIL_MAX + 1];
  if (users_email_normalize(a.email, key, &e) != 0) snprintf(key, sizeof key, "%.200s", c->id->subject);
  rc = totp_step_tx(req, db, &a, key);
  if (rc < 0) return rc;
  if (rc) return 0; /* refused: the link and the counted failure stand */
  return session_reply_tx(req, db, &a, 200);
}

int auth_h_oauth(vz_req *req) {
  oauth_identity id;
  const char *provider = vz_req_param(req, "provider");
  int rc = oauth_verify_id_token(provider, jstr(req, "id_token"), jstr(req, "nonce"), &id);
  if (rc == OAUTH_EPROVIDER) return vz_fail(req, 404, "not_found", "provider", "sign-in with %s is not enabled", provider);
  if (rc == OAUTH_EJWKS) return vz_fail(req, 503, "unavailable", NULL, "the provider's keys could not be fetched");
  if (rc == OAUTH_ENOMEM) return vz_fail(req, 503, "unavailable", NULL, "out of memory");
  if (rc != OAUTH_OK) return vz_fail(req, 401, "invalid_token", "id_token", "the ID token is not valid");
  oauth_ctx c = {req, &id, {0}};
  families_deny(&c.fam, vz_tx_or_fail(req, oauth_tx, &c) >= 0);
  return req->status;
}

int auth_h_totp_setup(vz_req *req) {
  char secret[TOTP_SECRET_B32], uri[512];
  users_account a;
  if (users_account_by_id(req->db, req->user_id, &a) != USERS_OK) return vz_fail(req, 404, "not_found", NULL, "no such user");
  if (a.totp_enabled) return vz_fail(req, 409, "conflict", NULL, "two-factor sign-in is already on");
  if (totp_new_secret(secret) != 0) return vz_fail(req, 500, "internal", NULL, "no randomness");
  totp_uri("VidZo", a.email[0] ? a.email : "account", secret, uri, sizeof uri);
  if (users_totp_set_secret(req->db, a.id, secret) < 0)
    return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  return vz_reply_item(req, 200, json_pack("{s:s, s:s}", "secret", secret, "otpauth_uri", uri));
}

int auth_h_totp_enable(vz_req *req) {
  users_account a;
  if (users_account_by_id(req->db, req->user_id, &a) != USERS_OK) return vz_fail(req, 404, "not_found", NULL, "no such user");
  if (!a.totp_secret[0]) return vz_fail(req, 409, "conflict", NULL, "call /v1/auth/totp/setup first");
  int64_t last = a.totp_last_step;
  if (totp_verify(a.totp_secret, json_string_value(json_object_get(req->json, "code")), (int64_t)time(NULL), &last) != 0)
    return vz_fail(req, 400, "invalid_code", "code", "the authenticator code is not correct");
  if (users_totp_enable(req->db, a.id, last) < 0 ||
      audit_record_ip(req->db, a.id, "user.totp_enable", "user", a.id, NULL, req->ip) < 0)
    return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  return vz_reply_empty(req, 204);
}
