/* runner: the threads that work the durable job queue (jobs.h). A service registers a
 * handler per queue at init; `vidzo serve` then starts --job-workers threads, each with
 * its own database connection, that claim due jobs from every registered queue in turn,
 * run the handler and complete or fail the job (retry with backoff, dead after
 * max_attempts). Every instance runs them: SKIP LOCKED (PostgreSQL) or the single writer
 * (SQLite) hands each due job to one claimer.
 *
 *   static int send_push(vz_db *db, const jobs_job *j, char *err, size_t n) {
 *     if (fcm_send(j->payload) < 0) { snprintf(err, n, "fcm answered 503"); return -1; }
 *     return 0;
 *   }
 *   jobs_register("push", send_push, 30000);   // in the service's init
 *   jobs_enqueue(req->db, "push", json, 0, key, NULL);   // in a request
 *
 * A handler gets the job's lease (lease_ms) to finish; past it another worker may run the
 * job again, so handlers must be idempotent (at least once). Idle workers poll every
 * 250 ms growing to 2 s, and an enqueue on this instance wakes them at once. On shutdown
 * they stop claiming and the jobs in hand finish. */
#ifndef VZ_JOBS_RUNNER_H
#define VZ_JOBS_RUNNER_H
#include <stddef.h>
#include <stdint.h>

#include "jobs/jobs.h"

/* 0: done. <0: failed, err says why (it is stored as the job's last_error). */
typedef int (*jobs_handler)(vz_db *db, const jobs_job *job, char *err, size_t errlen);

#define JOBS_MAX_QUEUES 32
/* Before jobs_runner_start. Returns <0 for a full table or a queue registered twice. */
int jobs_register(const char *queue, jobs_handler fn, int64_t lease_ms);
int jobs_registered(void);
/* Starts threads workers on db_url (no-op without registered queues); instance names the
 * claimers in locked_by ("<instance>/w<n>"). */
int jobs_runner_start(const char *db_url, int threads, const char *instance);
/* Stops claiming, waits for the handlers running now. */
void jobs_runner_stop(void);
/* A job was enqueued here: idle workers look now (jobs_enqueue calls it). */
void jobs_runner_wake(void);

typedef struct jobs_stats { uint64_t done, retried, dead, lost, errors; } jobs_stats;
void jobs_runner_stats(jobs_stats *out);
/* Drops the registrations (tests). */
void jobs_runner_reset(void);
#endif
