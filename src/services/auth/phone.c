/* phone.c: a verified phone number by SMS code. POST /v1/me/phone sends a code to the
 * number (channel "sms", purpose verify_phone) through the same otp_sender as email, with
 * the same limits; POST /v1/me/phone/verify checks it and sets users.phone. A number held
 * verified by another account answers 409 at verify time (UNIQUE on users.phone), never
 * at request time, so asking for a code reveals nothing. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/auth/internal.h"
#include "services/auth/otp.h"
#include "services/users/users.h"

/* E.164: '+' and 8 to 15 digits, first digit not 0 (ITU-T E.164 section 6.1). */
static int phone_ok(const char *p) {
  size_t n = p ? strlen(p) : 0;
  if (n < 9 || n > 16 || p[0] != '+' || p[1] == '0') return 0;
  for (size_t i = 1; i < n; i++)
    if (p[i] < '0' || p[i] > '9') return 0;
  return 1;
}

static const char *phone_or_fail(vz_req *req) {
  const char *p = json_string_value(json_object_get(req->json, "phone"));
  if (!phone_ok(p)) {
    vz_fail(req, 400, "invalid_argument", "phone", "phone must be in E.164 form, such as +4915112345678");
    return NULL;
  }
  return p;
}

/* The purpose names the account, so a code proves "this account holds this number": it
 * cannot be spent by another account, and each account has its own resend cool-down,
 * while the per-number hourly cap (counted by destination) still covers all of them. */
#define PURPOSE_MAX 40
/* In the caller's buffer: an arena string could fail to allocate, and a NULL purpose
 * would match no code (a 400 "invalid code" for what was an out-of-memory). */
static const char *purpose_of(vz_req *req, char buf[PURPOSE_MAX]) {
  snprintf(buf, PURPOSE_MAX, "verify_phone:%lld", (long long)req->user_id);
  return buf;
}

int auth_h_phone_request(vz_req *req) {
  const char *phone = phone_or_fail(req);
  if (!phone) return req->status;
  char purpose[PURPOSE_MAX];
  int64_t now = db_now_ms();
  int rc = otp_ip_check(req->db, req->ip, now);
  if (rc == OTP_OK) rc = otp_issue(req->db, purpose_of(req, purpose), "sms", phone, req->ip, now, NULL);
  if (rc == OTP_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  if (rc == OTP_ESEND) return vz_fail(req, 503, "unavailable", NULL, "%s", otp_strerror(rc));
  if (rc == OTP_EIPRATE || rc == OTP_ERATE) {
    vz_add_header(req, "Retry-After", "3600");
    return vz_fail(req, 429, "rate_limited", "phone", "%s", otp_strerror(rc));
  }
  /* a cool-down is silent: the earlier code is still live */
  return vz_reply_item(req, 202, json_pack("{s:s, s:i}", "status", "sent", "resend_after_s", OTP_RESEND_MS / 1000));
}

/* 0 with the reply sent (a refused guess included: its spent attempt is committed), or
 * a db.h error. The otp helpers say "database error" without the db.h code: answered as
 * an unavailable database, as a lost connection would be. */
static int code_or_fail_tx(vz_req *req, int rc) {
  if (rc == OTP_EDB) return DB_EUNAVAILABLE;
  auth_otp_fail(req, rc);
  return 0;
}

/* One transaction: the code spent and the number stored, so a failure between them
 * cannot burn the code and leave the number unverified. A number another account holds
 * (409) rolls back too: the code stays good, for nothing, as the number is taken. */
static int phone_verify_tx(vz_db *db, void *ctx) {
  auth_code_ctx *c = ctx;
  vz_req *req = c->req;
  char purpose[PURPOSE_MAX];
  int rc = otp_verify(db, purpose_of(req, purpose), c->dest, json_string_value(json_object_get(req->json, "code")), db_now_ms());
  if (rc != OTP_OK) return code_or_fail_tx(req, rc);
  rc = users_set_phone(db, req->user_id, c->dest);
  if (rc == DB_ECONSTRAINT) {
    vz_fail(req, 409, "conflict", "phone", "this number belongs to another account");
    return DB_EABORT;
  }
  if (rc < 0) return rc;
  vz_reply_item(req, 200, json_pack("{s:s, s:b}", "phone", c->dest, "phone_verified", 1));
  return req->status >= 400 ? DB_EABORT : 0;
}

int auth_h_phone_verify(vz_req *req) {
  const char *phone = phone_or_fail(req);
  if (!phone) return req->status;
  auth_code_ctx c = {.req = req, .dest = phone};
  vz_tx_or_fail(req, phone_verify_tx, &c);
  return req->status;
}

/* Sign-in by SMS code. Only a verified number of a live account gets a code, and the reply
 * is the same either way, so the endpoint does not tell which numbers have accounts. The
 * per-IP cap is checked first for the same reason. */
static int64_t account_by_phone(vz_req *req, const char *phone) {
  int64_t id = 0;
  int rc = users_id_by_phone(req->db, phone, &id);
  return rc < 0 ? rc : id;
}

int auth_h_sms_signin_request(vz_req *req) {
  const char *phone = phone_or_fail(req);
  if (!phone) return req->status;
  int64_t now = db_now_ms();
  int rc = otp_ip_check(req->db, req->ip, now);
  int64_t uid = rc == OTP_OK ? account_by_phone(req, phone) : 0;
  if (uid < 0) return vz_fail_db(req, (int)uid);
  if (rc == OTP_OK && uid > 0) rc = otp_issue(req->db, "signin", "sms", phone, req->ip, now, NULL);
  if (rc == OTP_EDB) return vz_fail(req, 503, "unavailable", NULL, "database unavailable");
  if (rc == OTP_ESEND) return vz_fail(req, 503, "unavailable", NULL, "%s", otp_strerror(rc));
  if (rc == OTP_EIPRATE) {
    vz_add_header(req, "Retry-After", "3600");
    return vz_fail(req, 429, "rate_limited", NULL, "%s", otp_strerror(rc));
  }
  return vz_reply_item(req, 202, json_pack("{s:s, s:i}", "status", "sent_if_account_exists", "resend_after_s",
                                           OTP_RESEND_MS / 1000));
}

/* One transaction, as the emailed code's (auth_code_signin_tx): the guess, the account,
 * the TOTP step, the code spent and the session. */
static int sms_signin_tx(vz_db *db, void *ctx) {
  auth_code_ctx *c = ctx;
  vz_req *req = c->req;
  users_account a;
  int64_t uid = 0;
  int rc = auth_code_match_tx(req, db, c->dest, &c->hit);
  if (rc) return rc < 0 ? rc : 0;
  rc = users_id_by_phone(db, c->dest, &uid);
  if (rc < 0) return rc;
  if (uid) {
    rc = users_account_by_id(db, uid, &a);
    if (rc == USERS_EDB) return DB_EUNAVAILABLE;
  }
  if (!uid || rc != USERS_OK || a.deleted) return code_or_fail_tx(req, OTP_ENONE);
  /* a TOTP failure counts against the account's email, as a password sign-in's would */
  char key[USERS_EMAIL_MAX + 1];
  users_err e = {0};
  if (users_email_normalize(a.email, key, &e) != 0) snprintf(key, sizeof key, "%s", c->dest);
  return auth_code_signin_tx(req, db, &a, &c->hit, key);
}

int auth_h_sms_signin_verify(vz_req *req) {
  const char *phone = phone_or_fail(req);
  if (!phone) return req->status;
  auth_code_ctx c = {.req = req, .dest = phone};
  vz_tx_or_fail(req, sms_signin_tx, &c);
  sodium_memzero(&c.hit, sizeof c.hit);
  return req->status;
}
