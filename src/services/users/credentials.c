/* credentials.c: the sign-in columns of the account row (password hash, email and phone
 * verification, TOTP), written for auth. The users service owns the users table (its
 * migration says so); auth decides when these change and calls here, so one service's
 * SQL touches the table and a schema change has one place to look. Conditions that make
 * a change safe under concurrency (only while unverified, only a later TOTP step) are in
 * the UPDATE itself and the changed-row count reports who won. */
#include "db/db.h"
#include "services/users/internal.h"

/* Finishes a db_run whose statement was kept: *changed (may be NULL) gets the
 * changed-row count. 0 or <0 DB_*. */
static int done(int rc, vz_stmt *st, int *changed) {
  int n = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (changed) *changed = n;
  return rc < 0 ? rc : 0;
}

int users_set_password(vz_db *db, int64_t uid, const char *hash, int verify_email) {
  vz_stmt *st = NULL;
  /* a reset proves the mailbox (its code went there), so it verifies the email too */
  int rc = db_run(db, &st,
                  verify_email ? "UPDATE users SET password_hash = $1, email_verified = 1, updated_at = $2 WHERE id = $3"
                               : "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                  "sii", hash, db_now_ms(), uid);
  return done(rc, st, NULL);
}

int users_verify_email(vz_db *db, int64_t uid, const char *password_hash, int drop_password, int *changed) {
  vz_stmt *st = NULL;
  int rc = drop_password
               ? db_run(db, &st,
                        "UPDATE users SET email_verified = 1, password_hash = NULL, updated_at = $1"
                        " WHERE id = $2 AND email_verified = 0",
                        "ii", db_now_ms(), uid)
               : db_run(db, &st,
                        "UPDATE users SET email_verified = 1, password_hash = coalesce($1, password_hash),"
                        " updated_at = $2 WHERE id = $3 AND email_verified = 0",
                        "sii", password_hash, db_now_ms(), uid);
  return done(rc, st, changed);
}

int users_set_phone(vz_db *db, int64_t uid, const char *phone) {
  return done(db_run(db, NULL, "UPDATE users SET phone = $1, phone_verified = 1, updated_at = $2 WHERE id = $3",
                     "sii", phone, db_now_ms(), uid), NULL, NULL);
}

int users_totp_set_secret(vz_db *db, int64_t uid, const char *secret) {
  return done(db_run(db, NULL, "UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2", "si", secret,
                     uid), NULL, NULL);
}

int users_totp_enable(vz_db *db, int64_t uid, int64_t last_step) {
  return done(db_run(db, NULL, "UPDATE users SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2", "ii",
                     last_step, uid), NULL, NULL);
}

int users_totp_take_step(vz_db *db, int64_t uid, int64_t step, int *changed) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1", "ii",
                  step, uid);
  return done(rc, st, changed);
}

int users_id_by_phone(vz_db *db, const char *phone, int64_t *id) {
  vz_stmt *st = NULL;
  *id = 0;
  int rc = db_run(db, &st, "SELECT id FROM users WHERE phone = $1 AND phone_verified = 1 AND deleted_at IS NULL",
                  "s", phone);
  if (rc == DB_ROW) *id = db_col_int(st, 0);
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}
