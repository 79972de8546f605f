/* Invariant: an event's subscribers act with the emitter's transaction or not at all.
 * IN_TX handlers run on the emitter's vz_db inside its transaction, in registration
 * order; the first failure stops the rest and fails the emit, and the emitter's rollback
 * then undoes its own change and every handler's rows. ASYNC subscribers get exactly one
 * job each, enqueued in that transaction (the outbox): rolled back with it, present once
 * it commits, and run by a job worker with the payload intact (strings included). An emit
 * outside a transaction, before the subscriptions are sealed, of a reserved kind, or
 * looping through handlers is refused; so is subscribing to a reserved kind or after the
 * seal. SQLite and, with VZ_TEST_PG_URL, PostgreSQL. */
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "../db/dbtest.h"
#include "core/events.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/runner.h"

static int calls[4], fail_second;
static atomic_int async_runs, async_bad;
static char async_key[64];
static int64_t seen_uid, seen_id;

static int64_t count(vz_db *db, const char *sql, const char *s) {
  vz_stmt *st = NULL;
  int64_t n = -1;
  if (db_run(db, &st, sql, s ? "s" : "", s) == DB_ROW) n = db_col_int(st, 0);
  if (st) db_finalize(st);
  return n;
}

/* First IN_TX subscriber: a row of its own, which must share the emitter's fate. */
static int first(vz_db *db, const vz_event *ev) {
  calls[0]++;
  seen_uid = ev->user_deleted.user_id, seen_id = ev->id;
  return db_run(db, NULL, "INSERT INTO ev_probe (id, who) VALUES ($1, 'first')", "i", db_id_new()) < 0 ? DB_ERROR : 0;
}

/* Second one fails on demand, as a database step would. */
static int second(vz_db *db, const vz_event *ev) {
  calls[1]++;
  return fail_second ? DB_EUNAVAILABLE : 0;
}

static int third(vz_db *db, const vz_event *ev) {
  calls[2]++;
  return 0;
}

/* ASYNC: runs on a job worker with its own connection, after the commit. */
static int later(vz_db *db, const vz_event *ev) {
  const char *k = ev->user_deleted.avatar_key;
  if (ev->kind != VZ_EV_USER_DELETED || ev->user_deleted.user_id != 42 || ev->user_deleted.actor_id != 7 || !k)
    atomic_fetch_add(&async_bad, 1);
  else
    snprintf(async_key, sizeof async_key, "%s", k);
  atomic_fetch_add(&async_runs, 1);
  return 0;
}

static int loops(vz_db *db, const vz_event *ev) {
  vz_ev_user_suspended again = ev->user_suspended;
  return vz_event_emit(db, VZ_EV_USER_SUSPENDED, &again);
}

static int setup(vz_db *db, const vz_subscription *rows, const char *service) {
  char err[256];
  vz_event_reset();
  jobs_runner_reset();
  memset(calls, 0, sizeof calls);
  fail_second = 0;
  if (db_migrate(db, err, sizeof err) < 0 ||
      db_exec(db, "CREATE TABLE IF NOT EXISTS ev_probe (id BIGINT PRIMARY KEY, who TEXT)") < 0)
    return -1;
  for (const vz_subscription *r = rows; r && r->kind; r++)
    if (vz_event_subscribe(service, r, err, sizeof err) < 0) {
      fprintf(stderr, "  subscribe: %s\n", err);
      return -1;
    }
  if (rows) vz_event_seal();
  return 0;
}

static const vz_subscription in_tx_rows[] = {
  { VZ_EV_USER_DELETED, first, VZ_EV_IN_TX },
  { VZ_EV_USER_DELETED, second, VZ_EV_IN_TX },
  { VZ_EV_USER_DELETED, third, VZ_EV_IN_TX },
  { VZ_EV_USER_SUSPENDED, third, VZ_EV_IN_TX },
  { 0 } };

static void in_tx_body(vz_db *db, const char *url, int *vz_failed) {
  vz_ev_user_deleted ev = { .user_id = 42, .actor_id = 7 };
  int level = vz_log_level;
  vz_log_level = VZ_LOG_ERROR + 1; /* the failing subscriber is logged: expected here */
  CHECK_EQ_INT(setup(db, in_tx_rows, "unit"), 0);
  /* a failing subscriber: the emit fails with its code, the third never runs, and the
   * rollback takes the emitter's row and the first subscriber's row alike */
  fail_second = 1;
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO ev_probe (id, who) VALUES ($1, 'emitter')", "i", db_id_new()), DB_DONE);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), DB_EUNAVAILABLE);
  CHECK_EQ_INT(calls[0], 1);
  CHECK_EQ_INT(calls[1], 1);
  CHECK_EQ_INT(calls[2], 0);
  CHECK_EQ_INT(seen_uid, 42);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM ev_probe", NULL), 0);
  /* all succeed: one id for every subscriber of the emit, and the rows commit together */
  fail_second = 0;
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO ev_probe (id, who) VALUES ($1, 'emitter')", "i", db_id_new()), DB_DONE);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), 0);
  CHECK(seen_id > 0);
  CHECK_EQ_INT(calls[2], 1);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM ev_probe WHERE who = $1", "emitter"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM ev_probe WHERE who = $1", "first"), 1);
  /* only the kind's subscribers run */
  vz_ev_user_suspended su = { .user_id = 42 };
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_SUSPENDED, &su), 0);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(calls[0], 2);
  CHECK_EQ_INT(calls[2], 2);
  vz_event_reset();
  vz_log_level = level;
  (void)url;
}
TEST(events_in_tx_failure_rolls_back_the_emitter) { dbt_each(vz_failed, in_tx_body); }

static void refusals_body(vz_db *db, const char *url, int *vz_failed) {
  vz_ev_user_deleted ev = { .user_id = 42 };
  int level = vz_log_level;
  char err[256] = "";
  vz_log_level = VZ_LOG_ERROR + 1; /* the refusals log an error each: expected here */
  CHECK_EQ_INT(setup(db, in_tx_rows, "unit"), 0);
  /* outside a transaction nothing could hold the subscribers' rows: refused, nothing ran */
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), VZ_EV_ENOTX);
  CHECK_EQ_INT(calls[0], 0);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  /* reserved kinds have no payload yet; no payload at all is refused too */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_ORDER_PAID, &ev), VZ_EV_EKIND);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_KINDS, &ev), VZ_EV_EKIND);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, NULL), VZ_EV_EKIND);
  CHECK_EQ_INT(db_rollback(db), 0);
  /* after the seal the table is fixed: threads read it without a lock */
  vz_subscription late = { VZ_EV_USER_DELETED, third, VZ_EV_IN_TX };
  CHECK(vz_event_subscribe("late", &late, err, sizeof err) < 0);
  CHECK(strstr(err, "after start-up") != NULL);
  /* before the seal an emit would skip whoever has not subscribed yet */
  vz_event_reset();
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), VZ_EV_ENOTREADY);
  CHECK_EQ_INT(db_rollback(db), 0);
  vz_subscription reserved = { VZ_EV_ORDER_PAID, third, VZ_EV_IN_TX }, nomode = { VZ_EV_USER_DELETED, third, 0 };
  CHECK(vz_event_subscribe("streams", &reserved, err, sizeof err) < 0);
  CHECK(strstr(err, "order_paid") != NULL);
  CHECK(vz_event_subscribe("x", &nomode, err, sizeof err) < 0);
  /* a handler that emits what it handles: stopped, and the failure comes back up */
  vz_subscription loop = { VZ_EV_USER_SUSPENDED, loops, VZ_EV_IN_TX };
  CHECK_EQ_INT(vz_event_subscribe("loop", &loop, err, sizeof err), 0);
  vz_event_seal();
  vz_ev_user_suspended su = { .user_id = 1 };
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_SUSPENDED, &su), VZ_EV_EDEPTH);
  CHECK_EQ_INT(db_rollback(db), 0);
  vz_event_reset();
  vz_log_level = level;
  (void)url;
}
TEST(events_refuse_misuse) { dbt_each(vz_failed, refusals_body); }

static const vz_subscription async_rows[] = {
  { VZ_EV_USER_DELETED, first, VZ_EV_IN_TX },
  { VZ_EV_USER_DELETED, later, VZ_EV_ASYNC },
  { 0 } };
static const vz_subscription async_rows_b[] = {
  { VZ_EV_USER_DELETED, later, VZ_EV_ASYNC },
  { 0 } };

static int64_t jobs_of(vz_db *db, const char *queue) {
  return count(db, "SELECT count(*) FROM jobs WHERE queue = $1", queue);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void async_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256];
  vz_ev_user_deleted ev = { .user_id = 42, .actor_id = 7, .avatar_key = "avatar-0123.png" };
  CHECK_EQ_INT(setup(db, NULL, NULL), 0);
  /* two services, as the registration walk adds them: the second's rows after the first's */
  CHECK_EQ_INT(vz_event_subscribe("svca", &async_rows[0], err, sizeof err), 0);
  CHECK_EQ_INT(vz_event_subscribe("svca", &async_rows[1], err, sizeof err), 0);
  CHECK_EQ_INT(vz_event_subscribe("svcb", &async_rows_b[0], err, sizeof err), 0);
  /* one queue per (service, kind): a second ASYNC row of the same pair is refused */
  CHECK(vz_event_subscribe("svcb", &async_rows_b[0], err, sizeof err) < 0);
  vz_event_seal();
  CHECK_EQ_INT(jobs_registered(), 2);
  /* rolled back: the jobs go with the change */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), 0);
  CHECK_EQ_INT(jobs_of(db, "ev.svca.user_deleted"), 1); /* visible inside the transaction */
  CHECK_EQ_INT(jobs_of(db, "ev.svcb.user_deleted"), 1);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(jobs_of(db, "ev.svca.user_deleted"), 0);
  CHECK_EQ_INT(jobs_of(db, "ev.svcb.user_deleted"), 0);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM ev_probe", NULL), 0);
  /* committed: exactly one job per ASYNC subscriber, none for the IN_TX one */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(vz_event_emit(db, VZ_EV_USER_DELETED, &ev), 0);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(jobs_of(db, "ev.svca.user_deleted"), 1);
  CHECK_EQ_INT(jobs_of(db, "ev.svcb.user_deleted"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM jobs", NULL), 2);
  CHECK_EQ_INT(calls[0], 2);
  /* a worker runs each once, with the payload as emitted (the key string survived) */
  atomic_store(&async_runs, 0);
  atomic_store(&async_bad, 0);
  async_key[0] = 0;
  CHECK_EQ_INT(jobs_runner_start(url, 1, "unit-events"), 0);
  int64_t deadline = mono_ms() + 10000;
  while (atomic_load(&async_runs) < 2 && mono_ms() < deadline) usleep(20000);
  jobs_runner_stop();
  CHECK_EQ_INT(atomic_load(&async_runs), 2);
  CHECK_EQ_INT(atomic_load(&async_bad), 0);
  CHECK_EQ_STR(async_key, "avatar-0123.png");
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM jobs WHERE status = $1", "done"), 2);
  vz_event_reset();
  jobs_runner_reset();
}
TEST(events_async_is_one_job_per_subscriber_in_the_tx) { dbt_each(vz_failed, async_body); }
