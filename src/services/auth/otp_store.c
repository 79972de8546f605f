/* otp_store.c: one-time codes in the database. Limits are counted from the otp_codes
 * rows themselves, so they hold across instances without Redis. Only the newest code of
 * a (destination, purpose) is live: issuing a code retires the older ones, otherwise five
 * codes would give 25 guesses. Each guess first spends an attempt with a conditional
 * UPDATE and only then compares, so concurrent guesses cannot exceed OTP_MAX_ATTEMPTS.
 * A code may carry a pending secret (a sign-up's password hash, pending_secret): only a
 * match of that very code hands it back. */
#include <sodium.h>
#include <string.h>

#include "db/db.h"
#include "services/auth/otp.h"

#define HOUR_MS (3600LL * 1000)

static int ip_limit = OTP_PER_IP_HOUR;
void otp_set_ip_limit(int per_hour) { ip_limit = per_hour > 0 ? per_hour : OTP_PER_IP_HOUR; }

static int64_t scalar(vz_db *db, const char *sql, const char *fmt, const char *a, const char *b,
                      int64_t t, int *err) {
  vz_stmt *st = NULL;
  int64_t v = 0;
  int rc = b ? db_run(db, &st, sql, fmt, a, b, t) : db_run(db, &st, sql, fmt, a, t);
  if (rc == DB_ROW && !db_col_is_null(st, 0)) v = db_col_int(st, 0);
  if (st) db_finalize(st);
  if (rc < 0) *err = 1;
  return v;
}

int otp_ip_check(vz_db *db, const char *ip, int64_t now_ms) {
  int err = 0;
  if (!ip) return OTP_OK;
  int64_t n = scalar(db, "SELECT count(*) FROM otp_codes WHERE ip = $1 AND created_at > $2", "si", ip,
                     NULL, now_ms - HOUR_MS, &err);
  if (err) return OTP_EDB;
  return n >= ip_limit ? OTP_EIPRATE : OTP_OK;
}

int otp_retire(vz_db *db, const char *purpose, const char *dest, int64_t now_ms) {
  return db_run(db, NULL,
                "UPDATE otp_codes SET consumed_at = $1"
                " WHERE destination = $2 AND purpose = $3 AND consumed_at IS NULL",
                "iss", now_ms, dest, purpose);
}

int otp_issue(vz_db *db, const char *purpose, const char *channel, const char *dest,
              const char *ip, int64_t now_ms, const char *pending) {
  char code[OTP_DIGITS + 1], hash[OTP_HASH_HEX];
  int err = 0;
  int64_t n = scalar(db, "SELECT count(*) FROM otp_codes WHERE destination = $1 AND created_at > $2",
                     "si", dest, NULL, now_ms - HOUR_MS, &err);
  if (!err && n >= OTP_PER_DEST_HOUR) {
    /* a live code bound to another request's secret must not outlive this refusal */
    if (pending && otp_retire(db, purpose, dest, now_ms) < 0) return OTP_EDB;
    return OTP_ERATE;
  }
  if (ip) {
    n = scalar(db, "SELECT count(*) FROM otp_codes WHERE ip = $1 AND created_at > $2", "si", ip,
               NULL, now_ms - HOUR_MS, &err);
    if (!err && n >= ip_limit) return OTP_EIPRATE;
  }
  int64_t last = pending ? 0
                         : scalar(db,
                                  "SELECT max(created_at) FROM otp_codes WHERE destination = $1"
                                  " AND purpose = $2 AND created_at > $3",
                                  "ssi", dest, purpose, now_ms - OTP_RESEND_MS, &err);
  if (err) return OTP_EDB;
  if (last) return OTP_ECOOLDOWN;

  otp_new_code(code);
  if (!code[0]) return OTP_EDB;
  otp_hash(purpose, dest, code, hash);
  if (db_begin(db) < 0) return OTP_EDB;
  if (otp_retire(db, purpose, dest, now_ms) < 0 ||
      db_run(db, NULL,
             "INSERT INTO otp_codes (id, purpose, channel, destination, code_hash, attempts, ip,"
             " created_at, expires_at, pending_secret) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)",
             "issssiiis", db_id_new(), purpose, channel, dest, hash, ip, now_ms,
             now_ms + OTP_TTL_MS, pending) < 0) {
    db_rollback(db);
    return OTP_EDB;
  }
  /* Sent before the commit: a code that could not be sent is never stored (a stored one
   * would start the resend cool-down, and whoever asked would wait for a code that never
   * comes). The other failure, sent but the commit failed, leaves a code that matches no
   * row: asking again works at once. Inside a caller's transaction this is a savepoint and
   * the caller's commit is the one that counts, with the same reasoning. */
  if (otp_send(channel, dest, purpose, code) != 0) {
    sodium_memzero(code, sizeof code);
    db_rollback(db);
    return OTP_ESEND;
  }
  sodium_memzero(code, sizeof code);
  if (db_commit(db) < 0) {
    db_rollback(db);
    return OTP_EDB;
  }
  return OTP_OK;
}

int otp_match(vz_db *db, const char *purpose, const char *dest, const char *code,
              int64_t now_ms, otp_hit *hit) {
  vz_stmt *st = NULL;
  otp_row row = {0};
  int found = 0, rc;
  memset(hit, 0, sizeof *hit);
  if (db_begin(db) < 0) return OTP_EDB;
  rc = db_run(db, &st,
              "SELECT id, code_hash, attempts, expires_at, coalesce(consumed_at, 0), pending_secret"
              " FROM otp_codes WHERE destination = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
              "ss", dest, purpose);
  if (rc == DB_ROW) {
    found = 1;
    row.id = db_col_int(st, 0);
    const char *h = db_col_text(st, 1);
    if (h && strlen(h) == OTP_HASH_HEX - 1) memcpy(row.hash, h, OTP_HASH_HEX);
    row.attempts = (int)db_col_int(st, 2);
    row.expires_at = db_col_int(st, 3);
    row.consumed_at = db_col_int(st, 4);
    const char *p = db_col_is_null(st, 5) ? NULL : db_col_text(st, 5);
    if (p && strlen(p) < sizeof hit->pending) memcpy(hit->pending, p, strlen(p) + 1);
  }
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto dberr;
  /* state checks first (no attempt spent on a dead code) */
  otp_row probe = row;
  int verdict = found ? otp_check(&probe, purpose, dest, "------", now_ms) : OTP_ENONE;
  if (verdict != OTP_EMISMATCH) {
    db_rollback(db);
    memset(hit, 0, sizeof *hit);
    return verdict;
  }
  rc = db_run(db, &st,
              "UPDATE otp_codes SET attempts = attempts + 1"
              " WHERE id = $1 AND attempts < $2 AND consumed_at IS NULL",
              "ii", row.id, (int64_t)OTP_MAX_ATTEMPTS);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto dberr;
  if (changed != 1) {
    db_rollback(db);
    memset(hit, 0, sizeof *hit);
    return OTP_ELOCKED;
  }
  verdict = otp_check(&row, purpose, dest, code, now_ms);
  if (db_commit(db) < 0) goto dberr;
  if (verdict != OTP_OK) memset(hit, 0, sizeof *hit);
  else hit->id = row.id;
  return verdict;
dberr:
  db_rollback(db);
  memset(hit, 0, sizeof *hit);
  return OTP_EDB;
}

int otp_consume(vz_db *db, const otp_hit *hit, int64_t now_ms) {
  vz_stmt *st = NULL;
  /* conditional: of two requests that matched the same code, one spends it */
  int rc = db_run(db, &st, "UPDATE otp_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
                  "ii", now_ms, hit->id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return OTP_EDB;
  return changed == 1 ? OTP_OK : OTP_ENONE;
}

int otp_verify(vz_db *db, const char *purpose, const char *dest, const char *code,
               int64_t now_ms) {
  otp_hit hit;
  int rc = otp_match(db, purpose, dest, code, now_ms, &hit);
  if (rc == OTP_OK) rc = otp_consume(db, &hit, now_ms);
  sodium_memzero(&hit, sizeof hit);
  return rc;
}

int otp_pending(vz_db *db, const char *purpose, const char *dest, char *out, size_t cap) {
  vz_stmt *st = NULL;
  int found = 0;
  int rc = db_run(db, &st,
                  "SELECT pending_secret FROM otp_codes WHERE destination = $1 AND purpose = $2"
                  " AND consumed_at IS NULL ORDER BY id DESC LIMIT 1",
                  "ss", dest, purpose);
  if (cap) out[0] = 0;
  if (rc == DB_ROW && !db_col_is_null(st, 0) && strlen(db_col_text(st, 0)) < cap) {
    memcpy(out, db_col_text(st, 0), strlen(db_col_text(st, 0)) + 1);
    found = 1;
  }
  if (st) db_finalize(st);
  return rc < 0 ? rc : found;
}
