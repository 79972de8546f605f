/* otp_store.c: one-time codes in the database. Limits are counted from the otp_codes
 * rows themselves, so they hold across instances without Redis. Only the newest code of
 * a (destination, purpose) is live: issuing a code retires the older ones, otherwise five
 * codes would give 25 guesses. Each guess first spends an attempt with a conditional
 * UPDATE and only then compares, so concurrent guesses cannot exceed OTP_MAX_ATTEMPTS. */
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

int otp_issue(vz_db *db, const char *purpose, const char *channel, const char *dest,
              const char *ip, int64_t now_ms) {
  char code[OTP_DIGITS + 1], hash[OTP_HASH_HEX];
  int err = 0;
  int64_t n = scalar(db, "SELECT count(*) FROM otp_codes WHERE destination = $1 AND created_at > $2",
                     "si", dest, NULL, now_ms - HOUR_MS, &err);
  if (!err && n >= OTP_PER_DEST_HOUR) return OTP_ERATE;
  if (ip) {
    n = scalar(db, "SELECT count(*) FROM otp_codes WHERE ip = $1 AND created_at > $2", "si", ip,
               NULL, now_ms - HOUR_MS, &err);
    if (!err && n >= ip_limit) return OTP_EIPRATE;
  }
  int64_t last = scalar(db,
                        "SELECT max(created_at) FROM otp_codes WHERE destination = $1"
                        " AND purpose = $2 AND created_at > $3",
                        "ssi", dest, purpose, now_ms - OTP_RESEND_MS, &err);
  if (err) return OTP_EDB;
  if (last) return OTP_ECOOLDOWN;

  otp_new_code(code);
  if (!code[0]) return OTP_EDB;
  otp_hash(purpose, dest, code, hash);
  if (db_begin(db) < 0) return OTP_EDB;
  if (db_run(db, NULL,
             "UPDATE otp_codes SET consumed_at = $1"
             " WHERE destination = $2 AND purpose = $3 AND consumed_at IS NULL",
             "iss", now_ms, dest, purpose) < 0 ||
      db_run(db, NULL,
             "INSERT INTO otp_codes (id, purpose, channel, destination, code_hash, attempts, ip,"
             " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)",
             "issssiii", db_id_new(), purpose, channel, dest, hash, ip, now_ms,
             now_ms + OTP_TTL_MS) < 0 ||
      db_commit(db) < 0) {
    db_rollback(db);
    return OTP_EDB;
  }
  return otp_send(channel, dest, purpose, code) == 0 ? OTP_OK : OTP_EDB;
}

int otp_verify(vz_db *db, const char *purpose, const char *dest, const char *code,
               int64_t now_ms) {
  vz_stmt *st = NULL;
  otp_row row = {0};
  int found = 0, rc;
  if (db_begin(db) < 0) return OTP_EDB;
  rc = db_run(db, &st,
              "SELECT id, code_hash, attempts, expires_at, coalesce(consumed_at, 0) FROM otp_codes"
              " WHERE destination = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
              "ss", dest, purpose);
  if (rc == DB_ROW) {
    found = 1;
    row.id = db_col_int(st, 0);
    const char *h = db_col_text(st, 1);
    if (h && strlen(h) == OTP_HASH_HEX - 1) memcpy(row.hash, h, OTP_HASH_HEX);
    row.attempts = (int)db_col_int(st, 2);
    row.expires_at = db_col_int(st, 3);
    row.consumed_at = db_col_int(st, 4);
  }
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto dberr;
  /* state checks first (no attempt spent on a dead code) */
  otp_row probe = row;
  int verdict = found ? otp_check(&probe, purpose, dest, "------", now_ms) : OTP_ENONE;
  if (verdict != OTP_EMISMATCH) {
    db_rollback(db);
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
    return OTP_ELOCKED;
  }
  verdict = otp_check(&row, purpose, dest, code, now_ms);
  if (verdict == OTP_OK &&
      db_run(db, NULL, "UPDATE otp_codes SET consumed_at = $1 WHERE id = $2", "ii", now_ms,
             row.id) < 0)
    goto dberr;
  if (db_commit(db) < 0) goto dberr;
  return verdict;
dberr:
  db_rollback(db);
  return OTP_EDB;
}
