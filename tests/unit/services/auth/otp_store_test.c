/* Invariant: a secret stored with a one-time code comes back only from a match of that
 * very code, and a matched code is spent once; a newer code retires the older ones; a
 * TOTP step is taken once even by 8 connections at the same moment. Runs on SQLite and,
 * with VZ_TEST_PG_URL, on PostgreSQL (issue 15). */
#include <pthread.h>

#include "../../db/dbtest.h"
#include "services/auth/otp.h"
#include "services/auth/totp.h"

static const unsigned char key[32] = "otp-store-test-key-otp-store-tes";
static char sent[OTP_DIGITS + 1];

static int capture(void *ctx, const char *channel, const char *dest, const char *purpose,
                   const char *code) {
  snprintf(sent, sizeof sent, "%s", code);
  return 0;
}

static int migrate(vz_db *db) {
  char err[256];
  int rc = db_migrate(db, err, sizeof err);
  if (rc < 0) fprintf(stderr, "  migrate: %s\n", err);
  return rc;
}

static void pending_body(vz_db *db, const char *url, int *vz_failed) {
  char a[OTP_DIGITS + 1], b[OTP_DIGITS + 1], out[OTP_PENDING_MAX];
  const char *dest = "pend@e2e.test";
  otp_hit hit;
  int64_t now = db_now_ms();
  CHECK_EQ_INT(migrate(db), 0);
  /* two sign-ups moments apart: no cool-down, each gets its own code */
  CHECK_EQ_INT(otp_issue(db, "verify_email", "email", dest, "10.0.0.1", now, "hash-A"), OTP_OK);
  snprintf(a, sizeof a, "%s", sent);
  CHECK_EQ_INT(otp_issue(db, "verify_email", "email", dest, "10.0.0.1", now + 1, "hash-B"), OTP_OK);
  snprintf(b, sizeof b, "%s", sent);
  CHECK_EQ_INT(otp_pending(db, "verify_email", dest, out, sizeof out), 1);
  CHECK_EQ_STR(out, "hash-B");
  /* the older code is retired: it can never hand out hash-A */
  if (strcmp(a, b) != 0) CHECK_EQ_INT(otp_match(db, "verify_email", dest, a, now + 2, &hit), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_match(db, "verify_email", dest, b, now + 2, &hit), OTP_OK);
  CHECK_EQ_STR(hit.pending, "hash-B");
  /* matched but not spent: a second match works, then one consume wins */
  otp_hit again;
  CHECK_EQ_INT(otp_match(db, "verify_email", dest, b, now + 3, &again), OTP_OK);
  CHECK_EQ_INT(otp_consume(db, &hit, now + 4), OTP_OK);
  CHECK_EQ_INT(otp_consume(db, &again, now + 4), OTP_ENONE);
  CHECK_EQ_INT(otp_match(db, "verify_email", dest, b, now + 5, &hit), OTP_ENONE);
  CHECK_EQ_INT(otp_pending(db, "verify_email", dest, out, sizeof out), 0);
  /* codes without a secret keep the resend cool-down */
  CHECK_EQ_INT(otp_issue(db, "signin", "email", dest, "10.0.0.1", now + 6, NULL), OTP_OK);
  CHECK_EQ_INT(otp_issue(db, "signin", "email", dest, "10.0.0.1", now + 7, NULL), OTP_ECOOLDOWN);
  /* past the hourly cap, a refused sign-up retires the live code bound to another one */
  CHECK_EQ_INT(otp_issue(db, "verify_email", "email", dest, "10.0.0.1", now + 8, "hash-C"), OTP_OK);
  CHECK_EQ_INT(otp_issue(db, "verify_email", "email", dest, "10.0.0.1", now + 9, "hash-D"), OTP_OK);
  CHECK_EQ_INT(otp_issue(db, "verify_email", "email", dest, "10.0.0.1", now + 10, "hash-E"), OTP_ERATE);
  CHECK_EQ_INT(otp_match(db, "verify_email", dest, sent, now + 11, &hit), OTP_ENONE);
}

TEST(otp_store_pending_secret_bound_to_its_code) {
  otp_sender s = {capture, NULL};
  otp_set_key(key);
  otp_set_sender(&s);
  dbt_each(vz_failed, pending_body);
  otp_set_sender(&(otp_sender){0});
}

static int refuse(void *ctx, const char *channel, const char *dest, const char *purpose,
                  const char *code) {
  return -1;
}

static int64_t codes_for(vz_db *db, const char *dest) {
  vz_stmt *st = NULL;
  int64_t n = -1;
  if (db_run(db, &st, "SELECT count(*) FROM otp_codes WHERE destination = $1", "s", dest) == DB_ROW)
    n = db_col_int(st, 0);
  if (st) db_finalize(st);
  return n;
}

/* A code the sender could not take is not stored, so it starts no resend cool-down: the
 * next request sends at once. Inside a caller's transaction the caller's level is kept. */
static void send_fail_body(vz_db *db, const char *url, int *vz_failed) {
  const char *dest = "unsent@e2e.test";
  int64_t now = db_now_ms();
  CHECK_EQ_INT(migrate(db), 0);
  otp_set_sender(&(otp_sender){refuse, NULL});
  CHECK_EQ_INT(otp_issue(db, "signin", "email", dest, "10.0.0.2", now, NULL), OTP_ESEND);
  CHECK_EQ_INT(codes_for(db, dest), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(otp_issue(db, "signin", "email", dest, "10.0.0.2", now + 1, NULL), OTP_ESEND);
  CHECK_EQ_INT(db_tx_depth(db), 1);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(codes_for(db, dest), 0);
  otp_set_sender(&(otp_sender){capture, NULL});
  CHECK_EQ_INT(otp_issue(db, "signin", "email", dest, "10.0.0.2", now + 2, NULL), OTP_OK);
  CHECK_EQ_INT(codes_for(db, dest), 1);
}

TEST(otp_store_unsent_code_is_not_stored) {
  otp_set_key(key);
  dbt_each(vz_failed, send_fail_body);
  otp_set_sender(&(otp_sender){0});
}

#define NTAKERS 8
typedef struct taker {
  const char *url;
  int64_t uid;
  pthread_barrier_t *go;
  int rc;
} taker;

static void *take(void *arg) {
  taker *t = arg;
  vz_db *db = NULL;
  char err[256];
  int opened = db_open(t->url, &db, err, sizeof err) == 0;
  pthread_barrier_wait(t->go);
  t->rc = opened ? totp_take_step(db, t->uid, 100) : -100;
  if (db) db_close(db);
  return NULL;
}

static void totp_body(vz_db *db, const char *url, int *vz_failed) {
  int64_t uid = db_id_new(), now = db_now_ms();
  pthread_t th[NTAKERS];
  taker ts[NTAKERS];
  pthread_barrier_t go;
  CHECK_EQ_INT(migrate(db), 0);
  CHECK(db_run(db, NULL, "INSERT INTO users (id, created_at, updated_at) VALUES ($1, $2, $2)", "ii",
               uid, now) >= 0);
  CHECK_EQ_INT(totp_take_step(db, uid, 5), 0);
  CHECK_EQ_INT(totp_take_step(db, uid, 5), TOTP_EUSED);
  CHECK_EQ_INT(totp_take_step(db, uid, 4), TOTP_EUSED);
  CHECK_EQ_INT(totp_take_step(db, uid, 6), 0);
  /* 8 connections take step 100 at once: exactly one wins */
  pthread_barrier_init(&go, NULL, NTAKERS);
  for (int i = 0; i < NTAKERS; i++) {
    ts[i] = (taker){url, uid, &go, -1};
    pthread_create(&th[i], NULL, take, &ts[i]);
  }
  int won = 0, used = 0;
  for (int i = 0; i < NTAKERS; i++) {
    pthread_join(th[i], NULL);
    won += ts[i].rc == 0;
    used += ts[i].rc == TOTP_EUSED;
  }
  pthread_barrier_destroy(&go);
  CHECK_EQ_INT(won, 1);
  CHECK_EQ_INT(used, NTAKERS - 1);
}

TEST(totp_step_taken_once_across_connections) { dbt_each(vz_failed, totp_body); }
