/* Invariant: registered queues are worked by the runner threads until every job is done
 * or dead: 3 workers on 2 queues run 120 jobs, each handler call once per attempt, every
 * job done exactly once; a failing handler is retried with backoff and ends dead with its
 * error kept; an enqueue wakes idle workers (the job runs well before the 2 s idle poll);
 * stop returns with nothing left running. SQLite and, with VZ_TEST_PG_URL, PostgreSQL. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <unistd.h>

#include "../db/dbtest.h"
#include "core/log.h"
#include "jobs/runner.h"

#define N 120
static atomic_int runs[N], fails;

/* A line the handler of job k=0 would log, as vz_log formats it on the worker thread:
 * the runner's context must name the job and its queue. */
static char ctx_line[512];
static void format_line(const char *msg, ...) {
  va_list ap;
  va_start(ap, msg);
  vz_log_format(ctx_line, sizeof ctx_line, VZ_LOG_INFO, msg, ap);
  va_end(ap);
}

static int count_job(vz_db *db, const jobs_job *j, char *err, size_t n) {
  int k = (int)strtol(strchr(j->payload, ':') + 1, NULL, 10);
  if (k >= 0 && k < N) atomic_fetch_add(&runs[k], 1);
  if (k == 0) format_line("handler says", (char *)0);
  return 0;
}

static int always_fail(vz_db *db, const jobs_job *j, char *err, size_t n) {
  atomic_fetch_add(&fails, 1);
  snprintf(err, n, "endpoint answered 502");
  return -1;
}

static int64_t count_status(vz_db *db, const char *queue, const char *status) {
  vz_stmt *st;
  int rc = db_run(db, &st, "SELECT count(*) FROM jobs WHERE queue = $1 AND status = $2", "ss", queue, status);
  int64_t n = rc == DB_ROW ? db_col_int(st, 0) : -1;
  if (st) db_finalize(st);
  return n;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void runner_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256], q1[32], q2[32], q3[32];
  int64_t tag = db_id_new() % 1000000;
  snprintf(q1, sizeof q1, "t.a.%lld", (long long)tag);
  snprintf(q2, sizeof q2, "t.b.%lld", (long long)tag);
  snprintf(q3, sizeof q3, "t.f.%lld", (long long)tag);
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  for (int k = 0; k < N; k++) atomic_store(&runs[k], 0);
  atomic_store(&fails, 0);
  jobs_runner_reset();
  CHECK_EQ_INT(jobs_register(q1, count_job, 10000), 0);
  CHECK_EQ_INT(jobs_register(q2, count_job, 10000), 0);
  CHECK_EQ_INT(jobs_register(q3, always_fail, 10000), 0);
  CHECK(jobs_register(q1, count_job, 10000) < 0); /* twice */
  for (int k = 0; k < N; k++) {
    char p[32];
    snprintf(p, sizeof p, "{\"k\":%d}", k);
    CHECK_EQ_INT(jobs_enqueue(db, k % 2 ? q1 : q2, p, 0, NULL, NULL), 0);
  }
  /* 2 attempts, the retry after jobs_backoff_ms(1) (about 1 s) */
  CHECK_EQ_INT(jobs_enqueue_max(db, q3, "{}", 0, NULL, 2, NULL), 0);
  jobs_stats before;
  jobs_runner_stats(&before);
  CHECK_EQ_INT(jobs_runner_start(url, 3, "test"), 0);
  int64_t t0 = mono_ms();
  while (mono_ms() - t0 < 10000 && (count_status(db, q1, "done") + count_status(db, q2, "done") < N ||
                                    count_status(db, q3, "dead") < 1))
    usleep(20000);
  int once = 1;
  for (int k = 0; k < N; k++) once &= atomic_load(&runs[k]) == 1;
  CHECK(once);
  CHECK(strstr(ctx_line, "\"rid\":\"job:") != NULL);
  CHECK(strstr(ctx_line, q2) != NULL); /* k=0 went to q2: the route field names the queue */
  CHECK_EQ_INT(count_status(db, q1, "done") + count_status(db, q2, "done"), N);
  CHECK_EQ_INT(count_status(db, q3, "dead"), 1);
  CHECK_EQ_INT(atomic_load(&fails), 2);
  vz_stmt *st;
  CHECK_EQ_INT(db_run(db, &st, "SELECT last_error FROM jobs WHERE queue = $1", "s", q3), DB_ROW);
  CHECK_EQ_STR(db_col_text(st, 0), "endpoint answered 502");
  db_finalize(st);

  /* idle now (polling at up to 2 s): an enqueue here wakes a worker at once */
  usleep(2500000);
  t0 = mono_ms();
  CHECK_EQ_INT(jobs_enqueue(db, q1, "{\"k\":0}", 0, NULL, NULL), 0);
  while (mono_ms() - t0 < 5000 && atomic_load(&runs[0]) < 2) usleep(5000);
  int64_t woke_ms = mono_ms() - t0;
  CHECK_EQ_INT(atomic_load(&runs[0]), 2);
  CHECK(woke_ms < 1000);
  jobs_runner_stop();
  jobs_stats after;
  jobs_runner_stats(&after);
  CHECK_EQ_INT((int)(after.done - before.done), N + 1);
  CHECK_EQ_INT((int)(after.dead - before.dead), 1);
  CHECK_EQ_INT((int)(after.retried - before.retried), 1);
  jobs_runner_reset();
}

TEST(jobs_runner_works_registered_queues) { dbt_each(vz_failed, runner_body); }
