/* Invariant: a queued job runs until it is done or dead, and never twice at once.
 * Claims take due jobs oldest first, one claimer per job (4 threads with their own
 * connections claim 200 jobs: each exactly once); a failure retries after a backoff and
 * dies after max_attempts; a lease that runs out lets another worker take the job and the
 * old owner can no longer complete it; idempotency keys de-duplicate enqueues. Runs on
 * SQLite and, with VZ_TEST_PG_URL, on PostgreSQL. */
#include <pthread.h>

#include "../db/dbtest.h"
#include "jobs/jobs.h"

static int migrate(vz_db *db) {
  char err[256];
  int rc = db_migrate(db, err, sizeof err);
  if (rc < 0) fprintf(stderr, "  migrate: %s\n", err);
  return rc;
}

static const char *status_of(vz_db *db, int64_t id, char *buf, size_t n) {
  vz_stmt *st;
  int rc = db_run(db, &st, "SELECT status FROM jobs WHERE id = $1", "i", id);
  snprintf(buf, n, "%s", rc == DB_ROW ? db_col_text(st, 0) : "?");
  if (st) db_finalize(st);
  return buf;
}

static void basic_body(vz_db *db, const char *url, int *vz_failed) {
  jobs_job j;
  int64_t a, b, later, dup;
  char s[16];
  CHECK_EQ_INT(migrate(db), 0);
  CHECK_EQ_INT(jobs_claim(db, "mail", "w1", 1000, &j), 0);
  CHECK_EQ_INT(jobs_enqueue(db, "mail", "{\"n\":1}", 0, NULL, &a), 0);
  CHECK_EQ_INT(jobs_enqueue(db, "mail", "{\"n\":2}", 0, "k2", &b), 0);
  CHECK_EQ_INT(jobs_enqueue(db, "mail", "{\"n\":3}", db_now_ms() + 60000, NULL, &later), 0);
  /* the same key on the same queue is the same job; on another queue it is not */
  CHECK_EQ_INT(jobs_enqueue(db, "mail", "{\"n\":22}", 0, "k2", &dup), JOBS_DUPLICATE);
  CHECK_EQ_INT(dup, b);
  CHECK_EQ_INT(jobs_enqueue(db, "push", "{}", 0, "k2", &dup), 0);
  CHECK(dup != b);
  /* oldest due first; the future one waits */
  CHECK_EQ_INT(jobs_claim(db, "mail", "w1", 30000, &j), 1);
  CHECK_EQ_INT(j.id, a);
  CHECK_EQ_STR(j.payload, "{\"n\":1}");
  CHECK_EQ_INT(j.attempts, 1);
  CHECK_EQ_INT(jobs_complete(db, &j), 0);
  CHECK_EQ_INT(jobs_complete(db, &j), JOBS_ELOST); /* done already */
  jobs_job_free(&j);
  CHECK_EQ_INT(jobs_claim(db, "mail", "w1", 30000, &j), 1);
  CHECK_EQ_INT(j.id, b);
  jobs_job_free(&j);
  CHECK_EQ_INT(jobs_claim(db, "mail", "w2", 30000, &j), 0); /* b is leased, later not due */
  CHECK_EQ_STR(status_of(db, a, s, sizeof s), "done");
  CHECK_EQ_STR(status_of(db, later, s, sizeof s), "ready");
  (void)url;
}
TEST(jobs_enqueue_claim_complete) { dbt_each(vz_failed, basic_body); }

static int set_due_now(vz_db *db, int64_t id) {
  return db_run(db, NULL, "UPDATE jobs SET run_at = $2 WHERE id = $1", "ii", id, db_now_ms() - 1);
}

static void retry_body(vz_db *db, const char *url, int *vz_failed) {
  jobs_job j;
  int64_t id, t0;
  char s[16];
  vz_stmt *st;
  CHECK_EQ_INT(migrate(db), 0);
  CHECK_EQ_INT(jobs_enqueue_max(db, "hooks", "{}", 0, NULL, 2, &id), 0);
  CHECK_EQ_INT(jobs_claim(db, "hooks", "w1", 30000, &j), 1);
  t0 = db_now_ms();
  CHECK_EQ_INT(jobs_fail(db, &j, "endpoint said 502"), 0);
  jobs_job_free(&j);
  /* backoff: attempt 1 waits 1 s (+ up to 10 %) */
  CHECK_EQ_INT(db_run(db, &st, "SELECT run_at, last_error, locked_by FROM jobs WHERE id = $1", "i", id), DB_ROW);
  int64_t run_at = db_col_int(st, 0);
  int ok_err = db_col_text(st, 1) && strcmp(db_col_text(st, 1), "endpoint said 502") == 0, unlocked = db_col_is_null(st, 2);
  db_finalize(st);
  CHECK(run_at >= t0 + 1000 && run_at <= db_now_ms() + 1100);
  CHECK(ok_err && unlocked);
  CHECK_EQ_INT(jobs_claim(db, "hooks", "w1", 30000, &j), 0); /* not yet */
  CHECK_EQ_INT(set_due_now(db, id), DB_DONE);
  CHECK_EQ_INT(jobs_claim(db, "hooks", "w2", 30000, &j), 1);
  CHECK_EQ_INT(j.attempts, 2);
  CHECK_EQ_INT(jobs_fail(db, &j, "again"), JOBS_DEAD);
  jobs_job_free(&j);
  CHECK_EQ_STR(status_of(db, id, s, sizeof s), "dead");
  CHECK_EQ_INT(set_due_now(db, id), DB_DONE);
  CHECK_EQ_INT(jobs_claim(db, "hooks", "w2", 30000, &j), 0); /* dead stays dead */
  /* the backoff doubles and is capped */
  CHECK(jobs_backoff_ms(3) >= 4000 && jobs_backoff_ms(3) <= 4400);
  CHECK(jobs_backoff_ms(40) >= JOBS_BACKOFF_MAX_MS && jobs_backoff_ms(40) <= JOBS_BACKOFF_MAX_MS * 11 / 10);
  (void)url;
}
TEST(jobs_fail_retries_with_backoff_then_dies) { dbt_each(vz_failed, retry_body); }

static void lease_body(vz_db *db, const char *url, int *vz_failed) {
  jobs_job old, cur;
  int64_t id;
  int n = -1;
  char s[16];
  CHECK_EQ_INT(migrate(db), 0);
  CHECK_EQ_INT(jobs_enqueue_max(db, "rollup", "{}", 0, NULL, 2, &id), 0);
  CHECK_EQ_INT(jobs_claim(db, "rollup", "dies", 1, &old), 1);
  usleep(5000); /* the lease ends: the worker is presumed dead */
  CHECK_EQ_INT(jobs_claim(db, "rollup", "alive", 30000, &cur), 1);
  CHECK_EQ_INT(cur.id, id);
  CHECK_EQ_INT(cur.attempts, 2);
  CHECK_EQ_INT(jobs_complete(db, &old), JOBS_ELOST); /* the old owner cannot finish it */
  CHECK_EQ_INT(jobs_fail(db, &old, "late"), JOBS_ELOST);
  jobs_job_free(&old);
  CHECK_EQ_STR(status_of(db, id, s, sizeof s), "ready");
  /* the new owner dies too, on the last attempt: only the reaper can end it */
  CHECK_EQ_INT(db_run(db, NULL, "UPDATE jobs SET locked_until = $2 WHERE id = $1", "ii", id, db_now_ms() - 1), DB_DONE);
  jobs_job_free(&cur);
  CHECK_EQ_INT(jobs_claim(db, "rollup", "third", 30000, &cur), 0);
  CHECK_EQ_INT(jobs_reap(db, &n), 0);
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_STR(status_of(db, id, s, sizeof s), "dead");
  (void)url;
}
TEST(jobs_expired_lease_moves_to_another_worker) { dbt_each(vz_failed, lease_body); }

/* ---- concurrency: 4 claimers, 200 jobs, each claimed exactly once ------------------ */

#define NJOBS 200
#define NTHREADS 4
typedef struct claimer {
  const char *url;
  int idx, claimed, errors;
  int64_t ids[NJOBS];
  char err[256];
} claimer;

static void *claim_loop(void *arg) {
  claimer *c = arg;
  vz_db *db;
  char wid[16];
  snprintf(wid, sizeof wid, "t%d", c->idx);
  if (db_open(c->url, &db, c->err, sizeof c->err) < 0) { c->errors++; return NULL; }
  for (int empty = 0; empty < 3;) {
    jobs_job j;
    int rc = jobs_claim(db, "bulk", wid, 60000, &j);
    if (rc == 1) {
      empty = 0;
      if (c->claimed < NJOBS) c->ids[c->claimed] = j.id;
      c->claimed++;
      usleep(300); /* the work: lets the other claimers in while this one holds a lease */
      if (jobs_complete(db, &j) != 0) c->errors++;
      jobs_job_free(&j);
    } else if (rc == 0) {
      empty++;
      usleep(2000);
    } else if (rc == DB_EBUSY) {
      usleep(1000); /* SQLite writer contention past busy_timeout: try again */
    } else {
      snprintf(c->err, sizeof c->err, "%s", db_errmsg(db));
      c->errors++;
      break;
    }
  }
  db_close(db);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void concurrent_body(vz_db *db, const char *url, int *vz_failed) {
  static claimer cs[NTHREADS];
  static int64_t all[NJOBS * 2];
  pthread_t th[NTHREADS];
  int total = 0, errors = 0, done = 0;
  vz_stmt *st;
  CHECK_EQ_INT(migrate(db), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  for (int i = 0; i < NJOBS; i++) CHECK_EQ_INT(jobs_enqueue(db, "bulk", "{}", 0, NULL, NULL), 0);
  CHECK_EQ_INT(db_commit(db), 0);
  for (int i = 0; i < NTHREADS; i++) {
    memset(&cs[i], 0, sizeof cs[i]);
    cs[i].url = url;
    cs[i].idx = i;
    CHECK_EQ_INT(pthread_create(&th[i], NULL, claim_loop, &cs[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < NTHREADS; i++) {
    if (cs[i].errors) fprintf(stderr, "  claimer %d: %d errors (%s)\n", i, cs[i].errors, cs[i].err);
    errors += cs[i].errors;
    for (int k = 0; k < cs[i].claimed && total < NJOBS * 2; k++) all[total++] = cs[i].ids[k];
  }
  CHECK_EQ_INT(errors, 0);
  CHECK_EQ_INT(total, NJOBS);
  qsort(all, (size_t)total, sizeof all[0], cmp64);
  for (int k = 1; k < total; k++) CHECK(all[k] != all[k - 1]); /* nobody got a job twice */
  CHECK_EQ_INT(db_run(db, &st, "SELECT COUNT(*) FROM jobs WHERE queue = 'bulk' AND status = 'done'", ""), DB_ROW);
  done = (int)db_col_int(st, 0);
  db_finalize(st);
  CHECK_EQ_INT(done, NJOBS);
  /* every thread took part: the claims were concurrent, not one thread draining all */
  for (int i = 0; i < NTHREADS; i++) CHECK(cs[i].claimed > 0);
}
TEST(jobs_four_threads_claim_each_job_once) { dbt_each(vz_failed, concurrent_body); }
