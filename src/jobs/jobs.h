/* jobs: the durable job queue (notifications, webhooks, rollups), in the database so a
 * job survives any instance dying and every instance can work any queue. At least once:
 * a claim is a lease; a worker that dies before jobs_complete loses it when the lease
 * ends and another worker runs the job again, so handlers must be idempotent (the
 * idempotency key de-duplicates enqueues, not runs).
 *
 *   jobs_enqueue(db, "webhooks", "{\"id\":42}", 0, "order-42-paid", &id);  // 0: now
 *   jobs_job j;
 *   while (jobs_claim(db, "webhooks", "host-1/w3", 30000, &j) == 1) {
 *     if (deliver(j.payload) == 0) jobs_complete(db, &j);
 *     else jobs_fail(db, &j, "endpoint answered 502");  // retried with backoff, or dead
 *     jobs_job_free(&j);
 *   }
 *
 * Enqueue inside the caller's transaction to make the job part of it (outbox): it exists
 * exactly when the transaction commits. Claim, complete and fail run outside one. */
#ifndef VZ_JOBS_H
#define VZ_JOBS_H
#include <stdint.h>

#include "db/db.h"

enum {
  JOBS_DUPLICATE = 1, /* jobs_enqueue: that idempotency key is queued already (*id set) */
  JOBS_DEAD = 1,      /* jobs_fail: max_attempts reached, the job will not run again */
  JOBS_ELOST = -10,   /* complete/fail: the lease was lost (expired, another worker has it) */
};
#define JOBS_MAX_ATTEMPTS 5
#define JOBS_BACKOFF_BASE_MS 1000
#define JOBS_BACKOFF_MAX_MS 3600000

typedef struct jobs_job {
  int64_t id;
  char queue[64];
  char worker[64];  /* the claimer, checked by complete/fail */
  char *payload;    /* malloc'd JSON text; jobs_job_free */
  int attempts;     /* including this one */
  int max_attempts;
  int64_t locked_until;
} jobs_job;

/* Queues payload_json (a JSON text, not checked) on queue to run at run_at_ms (0: now).
 * idempotency_key NULL: always a new job. Returns 0 (new job), JOBS_DUPLICATE (the key
 * exists on this queue: *id is that job), or <0 (DB_*). id may be NULL. */
int jobs_enqueue(vz_db *db, const char *queue, const char *payload_json, int64_t run_at_ms,
                 const char *idempotency_key, int64_t *id);
/* Same with a retry budget other than JOBS_MAX_ATTEMPTS. */
int jobs_enqueue_max(vz_db *db, const char *queue, const char *payload_json, int64_t run_at_ms,
                     const char *idempotency_key, int max_attempts, int64_t *id);

/* Leases the oldest due job of queue to worker_id for lease_ms. Returns 1 (job filled),
 * 0 (nothing due) or <0. Each due job goes to exactly one concurrent claimer:
 * PostgreSQL picks it FOR UPDATE SKIP LOCKED (claimers skip each other's rows instead of
 * queueing on them), SQLite in one conditional UPDATE ... RETURNING under its single
 * writer lock. */
int jobs_claim(vz_db *db, const char *queue, const char *worker_id, int64_t lease_ms, jobs_job *job);
/* Marks the job done. 0, JOBS_ELOST or <0. */
int jobs_complete(vz_db *db, const jobs_job *job);
/* Records error and schedules a retry after jobs_backoff_ms(attempts), or marks the job
 * dead after max_attempts. 0 (retry scheduled), JOBS_DEAD, JOBS_ELOST or <0. */
int jobs_fail(vz_db *db, const jobs_job *job, const char *error);
/* Dead-letters jobs whose lease ran out on their last attempt (the worker died on it):
 * nobody would ever claim them again. *n (may be NULL) gets how many. */
int jobs_reap(vz_db *db, int *n);
/* Delay before attempt `attempts`+1: base * 2^(attempts-1), capped, plus up to 10 %
 * jitter so a burst of failures does not retry in lockstep. */
int64_t jobs_backoff_ms(int attempts);
void jobs_job_free(jobs_job *job);
#endif
