/* users: accounts, profiles, the follow/block graph, push devices and seller
 * applications. Functions here are HTTP-free: they take a vz_db and return 0 or a
 * negative code and fill a users_err that routes turn into the error envelope, so the
 * same logic serves routes, the CLI and unit tests. */
#ifndef VZ_USERS_H
#define VZ_USERS_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vz_db vz_db;

enum { USERS_OK = 0, USERS_EINVALID = -1, USERS_ECONFLICT = -2, USERS_ENOTFOUND = -3,
       USERS_EFORBIDDEN = -4, USERS_EDB = -5 };

/* What went wrong, ready for {"error":{"code","message","field"}} with status. */
typedef struct users_err {
  int status;
  const char *code;   /* "invalid_argument", "conflict", "not_found", ... */
  const char *field;  /* NULL when no single field is at fault */
  char message[192];
} users_err;

#define USERS_EMAIL_MAX 254
#define USERS_HANDLE_MIN 3
#define USERS_HANDLE_MAX 30

/* CLI: `vidzo admin create --email E --password P [--if-missing]`. Creates a verified
 * admin; with if_missing an existing account with that email is left as is (0). */
/* Registers the /v1/me and /v1/users routes. */

int users_admin_create(vz_db *db, const char *email, const char *password, int if_missing,
                       char *err, size_t errlen);

/* Lower-cases and checks an email (RFC 5321 4.5.3.1 lengths); 0 or -1 with e filled. */
int users_email_normalize(const char *in, char out[USERS_EMAIL_MAX + 1], users_err *e);
/* Handles: 3-30 of [A-Za-z0-9_.], starting with a letter or digit; unique ignoring case;
 * not one of the reserved names (409 "handle_reserved"). */
int users_handle_check(const char *h, users_err *e);

/* Account rows needed by sign-in. */
typedef struct users_account {
  int64_t id;
  int role, email_verified, totp_enabled, deleted;
  int64_t totp_last_step;
  /* 0: not suspended; else when the suspension ends (INT64_MAX: until an admin lifts it).
   * A suspension that has ended reads as 0. */
  int64_t suspended_until;
  char email[USERS_EMAIL_MAX + 1];
  char password_hash[128];
  char totp_secret[64];
} users_account;
/* By lower-cased email or by id; USERS_ENOTFOUND if absent (deleted accounts included). */
int users_account_by_email(vz_db *db, const char *email_lower, users_account *out);
int users_account_by_id(vz_db *db, int64_t id, users_account *out);
/* The live account whose verified phone is `phone` (E.164): *id, or 0 when none.
 * 0, or <0 DB_*. */
int users_id_by_phone(vz_db *db, const char *phone, int64_t *id);

/* The account row's sign-in columns. users owns the row; auth changes these only through
 * the functions below (credentials.c), never by its own SQL. Each returns 0 or <0 DB_*
 * (users_set_phone: DB_ECONSTRAINT when another account has the number); *changed, where
 * asked, is 1 when the row changed. */
int users_set_password(vz_db *db, int64_t uid, const char *hash, int verify_email);
/* Marks the email verified, only while it is not yet (a parallel verification wins
 * once). password_hash NULL keeps the stored one; drop_password clears it instead. */
int users_verify_email(vz_db *db, int64_t uid, const char *password_hash, int drop_password,
                       int *changed);
int users_set_phone(vz_db *db, int64_t uid, const char *phone);
int users_totp_set_secret(vz_db *db, int64_t uid, const char *secret);
int users_totp_enable(vz_db *db, int64_t uid, int64_t last_step);
/* Takes TOTP step `step` if no later or equal step was taken (RFC 6238 5.2, each code
 * once): *changed 1 when this call took it. One conditional UPDATE: parallel sign-ins
 * with one code get one success. */
int users_totp_take_step(vz_db *db, int64_t uid, int64_t step, int *changed);

/* Creates an account (role user). password_hash may be NULL (OAuth-only accounts).
 * USERS_ECONFLICT when the email or handle is taken. */
int users_create(vz_db *db, const char *email, int email_verified, const char *password_hash,
                 const char *handle, const char *display_name, int64_t *id_out, users_err *e);

/* 1 if either user blocked the other (follows, profiles and later messages check it),
 * 0 if not, a negative db.h code when the database could not say: never treat that as 0. */
int users_blocked_either(vz_db *db, int64_t a, int64_t b);
/* Followers of user_id who followed at or after since_ms and still follow (analytics:
 * followers gained during a stream). One range read of follows_followee. 0, or <0 DB_*. */
int users_followers_since(vz_db *db, int64_t user_id, int64_t since_ms, int64_t *n);

/* Deletion: marks the row deleted and emits VZ_EV_USER_DELETED in the same transaction;
 * each service removes its part (users: profile, graph, devices; auth: sessions and
 * sign-in links; media: the avatar file; the core: idempotency records). The row stays
 * (orders reference it) with deleted_at set. USERS_ENOTFOUND when absent or deleted. */
int users_delete(vz_db *db, int64_t uid, int64_t actor, users_err *e);

/* JSON ids are strings: 63-bit ids do not fit a JavaScript number. */
json_t *users_json_id(int64_t id);
int users_parse_id(const char *s, int64_t *out);
extern const struct vz_service users_service;
#endif
