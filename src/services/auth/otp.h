/* otp: one-time codes sent by email or SMS (sign-in, email verification, password reset,
 * phone verification). Six digits, stored only as a keyed BLAKE2b hash bound to purpose
 * and destination, valid 10 minutes, at most 5 wrong guesses, one resend per minute,
 * and rate limited per destination and per IP. Delivery goes through otp_sender so the
 * log sender (DATA_DIR/outbox, until a mail/SMS sender exists) and SMTP/SMS are
 * interchangeable. */
#ifndef VZ_AUTH_OTP_H
#define VZ_AUTH_OTP_H
#include <stddef.h>
#include <stdint.h>

typedef struct vz_db vz_db;

#define OTP_DIGITS 6
#define OTP_TTL_MS (10 * 60 * 1000)
#define OTP_MAX_ATTEMPTS 5
#define OTP_RESEND_MS (60 * 1000)
#define OTP_PER_DEST_HOUR 5
/* Per client IP and hour. Sized for a NAT'd office or a carrier-grade NAT, where many
 * honest people share one address; brute force on one account is stopped by the
 * per-destination limits above, which are never scaled. See otp_set_ip_limit. */
#define OTP_PER_IP_HOUR 100
#define OTP_HASH_HEX 65

enum {
  OTP_OK = 0,
  OTP_EMISMATCH = -1, /* wrong code; one attempt used */
  OTP_EEXPIRED = -2,
  OTP_ELOCKED = -3,   /* too many attempts: ask for a new code */
  OTP_ENONE = -4,     /* no live code for this destination and purpose */
  OTP_ECOOLDOWN = -5, /* asked again within OTP_RESEND_MS */
  OTP_ERATE = -6,     /* per destination or per IP hourly cap reached */
  OTP_EDB = -7,
  OTP_EIPRATE = -8,   /* the per-IP hourly cap reached (says nothing about any account) */
  OTP_ESEND = -9,     /* otp_issue: the sender failed; nothing was stored */
};

/* Per-IP hourly cap (default OTP_PER_IP_HOUR); set once at start-up (auth_init). */
void otp_set_ip_limit(int per_hour);
/* Server-wide key for code hashes (32 bytes); set once at start-up. */
void otp_set_key(const unsigned char key[32]);
/* A uniformly random code "000000".."999999" (randombytes_uniform: no modulo bias). */
void otp_new_code(char out[OTP_DIGITS + 1]);
/* hex(BLAKE2b-256(key, purpose \0 destination \0 code)). */
void otp_hash(const char *purpose, const char *dest, const char *code, char out[OTP_HASH_HEX]);

/* The stored state of one code, and the pure decision made on each guess. */
typedef struct otp_row {
  int64_t id, expires_at, consumed_at;
  int attempts;
  char hash[OTP_HASH_HEX];
} otp_row;
int otp_check(const otp_row *row, const char *purpose, const char *dest, const char *code,
              int64_t now_ms);

/* Delivery. channel is "email" or "sms". Never logs the code except the log sender. */
typedef struct otp_sender {
  int (*send)(void *ctx, const char *channel, const char *dest, const char *purpose,
              const char *code);
  void *ctx;
} otp_sender;
void otp_set_sender(const otp_sender *s);
/* Hands one code to the configured sender (otp_store.c calls it after storing). */
int otp_send(const char *channel, const char *dest, const char *purpose, const char *code);
/* Log sender: one JSON line per code appended to path (e.g. <data>/outbox/otp.jsonl, mode
 * 0600), {"channel":..,"to":..,"purpose":..,"code":..,"at":ms}; SMS codes go to sms.jsonl
 * in the same directory. Used until a mail/SMS sender exists; the e2e tests read them. */
int otp_log_sender_init(const char *path);

/* Database side (otp_store.c). otp_issue applies cool-down and rate limits, stores the
 * hash and sends the code, in one transaction that commits only after the send worked
 * (OTP_ESEND: not sent, not stored); otp_verify consumes a code or counts a failed
 * attempt. Called inside a caller's transaction, their writes nest as savepoints. */
/* The per-IP cap alone: callers check it before knowing whether the account exists, so
 * its answer cannot reveal that. OTP_OK, OTP_EIPRATE or OTP_EDB. */
int otp_ip_check(vz_db *db, const char *ip, int64_t now_ms);
/* pending: a secret stored with the code (a sign-up's password hash), handed back only by
 * a successful otp_match of THAT code; NULL for none. A code with a pending secret skips
 * the resend cool-down (each sign-up gets the code that carries its own password), and
 * when the per-destination cap refuses one, the live code is retired instead of left to
 * activate an earlier, possibly someone else's, secret. */
int otp_issue(vz_db *db, const char *purpose, const char *channel, const char *dest,
              const char *ip, int64_t now_ms, const char *pending);

#define OTP_PENDING_MAX 160
/* A code that matched: its row, and the secret bound to it at issue ("" if none). */
typedef struct otp_hit {
  int64_t id;
  char pending[OTP_PENDING_MAX];
} otp_hit;
/* Checks a guess (spending one attempt) without consuming the code: for sign-ins that
 * may still ask for a second factor and let the caller retry with the same code. */
int otp_match(vz_db *db, const char *purpose, const char *dest, const char *code,
              int64_t now_ms, otp_hit *hit);
/* Spends a matched code; OTP_ENONE if a parallel request spent it first. */
int otp_consume(vz_db *db, const otp_hit *hit, int64_t now_ms);
/* otp_match + otp_consume. */
int otp_verify(vz_db *db, const char *purpose, const char *dest, const char *code,
               int64_t now_ms);
/* Retires every live code of (purpose, dest): none of them will match any more. */
int otp_retire(vz_db *db, const char *purpose, const char *dest, int64_t now_ms);
/* The secret of the newest unspent code of (purpose, dest): 1 and out filled, 0 if none,
 * <0 on a database error. */
int otp_pending(vz_db *db, const char *purpose, const char *dest, char *out, size_t cap);
const char *otp_strerror(int err);
#endif
