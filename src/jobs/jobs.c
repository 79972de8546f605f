/* jobs.c: the queue on top of db.h, one SQL text per operation shared by both drivers
 * except the claim, whose row pick differs:
 *  - PostgreSQL: the subquery takes the row FOR UPDATE SKIP LOCKED, so concurrent
 *    claimers each lock a different due row without waiting on one another; the outer
 *    UPDATE re-checks nothing because the row lock is held until the statement ends.
 *  - SQLite: one writer at a time, so the same UPDATE ... WHERE id = (SELECT ...) is atomic
 *    as it stands (the subquery and the update run under the write lock).
 * Every state change after the claim is conditional on (id, locked_by, status 'ready'),
 * so a worker whose lease expired and was re-claimed cannot complete or fail the job
 * under the new owner: it gets JOBS_ELOST. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "jobs/runner.h"

#define CLAIM_SET \
  "UPDATE jobs SET attempts = attempts + 1, locked_by = $2, locked_until = $3 " \
  "WHERE id = (SELECT id FROM jobs WHERE queue = $1 AND status = 'ready' AND run_at <= $4 " \
  "AND (locked_until IS NULL OR locked_until <= $4) AND attempts < max_attempts " \
  "ORDER BY run_at, id LIMIT 1"
#define CLAIM_RET ") RETURNING id, payload, attempts, max_attempts, locked_until"

static const char claim_pg[] = CLAIM_SET " FOR UPDATE SKIP LOCKED" CLAIM_RET;
static const char claim_sqlite[] = CLAIM_SET CLAIM_RET;

static void wake_workers(void *arg) {
  (void)arg;
  jobs_runner_wake();
}

int jobs_enqueue_max(vz_db *db, const char *queue, const char *payload_json, int64_t run_at_ms,
                     const char *idempotency_key, int max_attempts, int64_t *id) {
  int64_t now = db_now_ms(), new_id = db_id_new();
  vz_stmt *st = NULL;
  int rc;
  if (!queue || !*queue || strlen(queue) >= sizeof ((jobs_job *)0)->queue || !payload_json || max_attempts < 1)
    return DB_ERROR;
  /* ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL an
   * error would abort the caller's transaction, and enqueue is meant to run inside one. */
  rc = db_run(db, &st,
              "INSERT INTO jobs (id, queue, payload, idempotency_key, run_at, max_attempts, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
              "isssiii", new_id, queue, payload_json, idempotency_key, run_at_ms > 0 ? run_at_ms : now,
              (int64_t)max_attempts, now);
  if (rc < 0) goto done;
  if (db_changes(st) == 1) {
    if (id) *id = new_id;
    rc = 0;
    /* wake the workers when the job can be seen: after the enclosing commit (woken at
     * insert, a worker on PostgreSQL found nothing and slept until its next poll) */
    if (db_after_commit(db, wake_workers, NULL, NULL) < 0) jobs_runner_wake();
    goto done;
  }
  db_finalize(st);
  st = NULL;
  if (!idempotency_key) { rc = DB_ERROR; goto done; } /* id collision: cannot happen */
  rc = db_run(db, &st, "SELECT id FROM jobs WHERE queue = $1 AND idempotency_key = $2", "ss", queue,
              idempotency_key);
  if (rc == DB_ROW) {
    if (id) *id = db_col_int(st, 0);
    rc = JOBS_DUPLICATE;
  } else if (rc == DB_DONE) rc = DB_ERROR; /* conflicted, then vanished: not ours to guess */
done:
  if (st) db_finalize(st);
  return rc;
}

int jobs_enqueue(vz_db *db, const char *queue, const char *payload_json, int64_t run_at_ms,
                 const char *idempotency_key, int64_t *id) {
  return jobs_enqueue_max(db, queue, payload_json, run_at_ms, idempotency_key, JOBS_MAX_ATTEMPTS, id);
}

int jobs_claim(vz_db *db, const char *queue, const char *worker_id, int64_t lease_ms, jobs_job *job) {
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  int rc;
  memset(job, 0, sizeof *job);
  if (!queue || strlen(queue) >= sizeof job->queue || !worker_id || strlen(worker_id) >= sizeof job->worker ||
      lease_ms <= 0)
    return DB_ERROR;
  rc = db_run(db, &st, db_dialect(db) == DB_POSTGRES ? claim_pg : claim_sqlite, "ssii", queue, worker_id,
              now + lease_ms, now);
  if (rc == DB_ROW) {
    const char *p = db_col_text(st, 1);
    job->id = db_col_int(st, 0);
    job->payload = strdup(p ? p : "null");
    job->attempts = (int)db_col_int(st, 2);
    job->max_attempts = (int)db_col_int(st, 3);
    job->locked_until = db_col_int(st, 4);
    snprintf(job->queue, sizeof job->queue, "%s", queue);
    snprintf(job->worker, sizeof job->worker, "%s", worker_id);
    /* Drain the statement: on SQLite the UPDATE is only complete (and the write lock
     * released, outside a transaction) once it has been stepped to the end. */
    while ((rc = db_step(st)) == DB_ROW) {}
    rc = rc < 0 ? rc : job->payload ? 1 : DB_ERROR;
    if (rc != 1) jobs_job_free(job);
  } else if (rc == DB_DONE) rc = 0;
  if (st) db_finalize(st);
  return rc;
}

int jobs_complete(vz_db *db, const jobs_job *job) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE jobs SET status = 'done', done_at = $3, locked_by = NULL, locked_until = NULL"
                  " WHERE id = $1 AND locked_by = $2 AND status = 'ready'",
                  "isi", job->id, job->worker, db_now_ms());
  if (rc >= 0) rc = db_changes(st) == 1 ? 0 : JOBS_ELOST;
  if (st) db_finalize(st);
  return rc;
}

int64_t jobs_backoff_ms(int attempts) {
  int64_t d = JOBS_BACKOFF_BASE_MS;
  for (int i = 1; i < attempts && d < JOBS_BACKOFF_MAX_MS; i++) d *= 2;
  if (d > JOBS_BACKOFF_MAX_MS) d = JOBS_BACKOFF_MAX_MS;
  return d + (int64_t)(random() % (d / 10 + 1));
}

int jobs_fail(vz_db *db, const jobs_job *job, const char *error) {
  vz_stmt *st = NULL;
  int64_t now = db_now_ms();
  int dead = job->attempts >= job->max_attempts, rc;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", error ? error : "failed"); /* bounded: a stack trace is not a row */
  if (dead)
    rc = db_run(db, &st,
                "UPDATE jobs SET status = 'dead', done_at = $3, last_error = $4, locked_by = NULL,"
                " locked_until = NULL WHERE id = $1 AND locked_by = $2 AND status = 'ready'",
                "isis", job->id, job->worker, now, msg);
  else
    rc = db_run(db, &st,
                "UPDATE jobs SET run_at = $3, last_error = $4, locked_by = NULL, locked_until = NULL"
                " WHERE id = $1 AND locked_by = $2 AND status = 'ready'",
                "isis", job->id, job->worker, now + jobs_backoff_ms(job->attempts), msg);
  if (rc >= 0) rc = db_changes(st) != 1 ? JOBS_ELOST : dead ? JOBS_DEAD : 0;
  if (st) db_finalize(st);
  return rc;
}

int jobs_reap(vz_db *db, int *n) {
  vz_stmt *st = NULL;
  int64_t now = db_now_ms();
  int rc = db_run(db, &st,
                  "UPDATE jobs SET status = 'dead', done_at = $1, last_error = 'lease expired on the last attempt',"
                  " locked_by = NULL, locked_until = NULL"
                  " WHERE status = 'ready' AND attempts >= max_attempts AND locked_until <= $1",
                  "i", now);
  if (n) *n = rc >= 0 ? db_changes(st) : 0;
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

void jobs_job_free(jobs_job *job) {
  free(job->payload);
  job->payload = NULL;
}
