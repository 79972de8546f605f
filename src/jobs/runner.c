/* runner.c: worker threads over jobs.h. One mutex + condition variable carries the
 * "stop" and "something was enqueued" signals; a generation counter lets a worker that
 * was busy when the wake came see it when it next goes idle, instead of sleeping through
 * it. Queues are tried round-robin from a per-thread start, so one busy queue cannot
 * starve the others. One worker also dead-letters abandoned last attempts (jobs_reap)
 * every 30 s. */
#include "jobs/runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "lib/clock.h"

#define IDLE_MIN_MS 250
#define IDLE_MAX_MS 2000
#define REAP_EVERY_MS 30000
#define DB_RETRY_MS 1000

typedef struct reg { char queue[64]; jobs_handler fn; int64_t lease_ms; } reg;

static reg regs[JOBS_MAX_QUEUES];
static int nregs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stopping;
static unsigned wake_gen;
static pthread_t *threads;
static int nthreads;
static char db_url[512], instance[40];
static atomic_ullong st_done, st_retried, st_dead, st_lost, st_errors;

int jobs_register(const char *queue, jobs_handler fn, int64_t lease_ms) {
  if (!queue || !fn || lease_ms <= 0 || strlen(queue) >= sizeof regs[0].queue || nregs >= JOBS_MAX_QUEUES)
    return -1;
  for (int i = 0; i < nregs; i++)
    if (strcmp(regs[i].queue, queue) == 0) return -1;
  snprintf(regs[nregs].queue, sizeof regs[nregs].queue, "%s", queue);
  regs[nregs].fn = fn;
  regs[nregs].lease_ms = lease_ms;
  nregs++;
  return 0;
}

int jobs_registered(void) { return nregs; }
void jobs_runner_reset(void) { nregs = 0; }

void jobs_runner_wake(void) {
  pthread_mutex_lock(&mu);
  wake_gen++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

/* Sleeps up to ms unless stopped or woken since `seen`; returns 1 when stopping. */
static int idle(int ms, unsigned *seen) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&mu);
  while (!stopping && wake_gen == *seen && pthread_cond_timedwait(&cv, &mu, &ts) == 0) {}
  *seen = wake_gen;
  int stop = stopping;
  pthread_mutex_unlock(&mu);
  return stop;
}


/* Claims and runs one job of r: 1 ran one, 0 nothing due, <0 database trouble. */
static int run_one(vz_db *db, const reg *r, const char *me) {
  jobs_job j;
  char err[256] = "";
  int rc = jobs_claim(db, r->queue, me, r->lease_ms, &j);
  if (rc <= 0) return rc;
  /* lines the handler writes say which job (rid "job:<id>") and queue, as a request's do */
  char rid[32];
  snprintf(rid, sizeof rid, "job:%lld", (long long)j.id);
  vz_log_context_set(rid, 0, r->queue);
  int ok = r->fn(db, &j, err, sizeof err) == 0;
  vz_log_context_clear();
  if (ok) {
    rc = jobs_complete(db, &j);
    if (rc == 0) atomic_fetch_add(&st_done, 1);
  } else {
    rc = jobs_fail(db, &j, err[0] ? err : "handler failed");
    if (rc == JOBS_DEAD) {
      atomic_fetch_add(&st_dead, 1);
      char id[24];
      snprintf(id, sizeof id, "%lld", (long long)j.id);
      vz_log_warn("job dead after its last attempt", "queue", r->queue, "job", id, "error", err);
    } else if (rc == 0) {
      atomic_fetch_add(&st_retried, 1);
    }
  }
  if (rc == JOBS_ELOST) atomic_fetch_add(&st_lost, 1); /* it outran its lease */
  jobs_job_free(&j);
  return rc < 0 && rc != JOBS_ELOST ? rc : 1;
}

static void *worker(void *arg) {
  int n = (int)(intptr_t)arg, wait_ms = IDLE_MIN_MS;
  char me[64];
  unsigned seen = 0;
  int64_t next_reap = (int64_t)vz_mono_ms() + REAP_EVERY_MS;
  vz_db *db = NULL;
  snprintf(me, sizeof me, "%s/w%d", instance, n);
  pthread_mutex_lock(&mu);
  seen = wake_gen;
  pthread_mutex_unlock(&mu);
  for (;;) {
    pthread_mutex_lock(&mu);
    int stop = stopping;
    pthread_mutex_unlock(&mu);
    if (stop) break;
    if (!db) {
      char err[256];
      if (db_open(db_url, &db, err, sizeof err) < 0) {
        db = NULL;
        atomic_fetch_add(&st_errors, 1);
        if (idle(DB_RETRY_MS, &seen)) break;
        continue;
      }
    }
    int ran = 0, failed = 0;
    for (int k = 0; k < nregs; k++) { /* one job per queue per round, from a rotating start */
      int rc = run_one(db, &regs[(k + n) % nregs], me);
      if (rc > 0) ran++;
      if (rc < 0) failed = 1;
    }
    if (n == 0 && (int64_t)vz_mono_ms() >= next_reap) {
      jobs_reap(db, NULL);
      next_reap = (int64_t)vz_mono_ms() + REAP_EVERY_MS;
    }
    if (failed) { /* the database went away: a fresh connection after a pause */
      atomic_fetch_add(&st_errors, 1);
      db_close(db);
      db = NULL;
      if (idle(DB_RETRY_MS, &seen)) break;
    } else if (!ran) {
      unsigned before = seen;
      if (idle(wait_ms, &seen)) break;
      /* woken by an enqueue: it may sit in a transaction that commits a moment later */
      if (seen != before) wait_ms = IDLE_MIN_MS;
      else wait_ms = wait_ms * 2 > IDLE_MAX_MS ? IDLE_MAX_MS : wait_ms * 2;
    } else {
      wait_ms = IDLE_MIN_MS;
    }
  }
  if (db) db_close(db);
  return NULL;
}

static void metrics(char **b, size_t *l, size_t *c) {
  jobs_stats s;
  jobs_runner_stats(&s);
  vz_metrics_printf(b, l, c,
                    "# TYPE vidzo_jobs_total counter\n"
                    "vidzo_jobs_total{outcome=\"done\"} %llu\nvidzo_jobs_total{outcome=\"retried\"} %llu\n"
                    "vidzo_jobs_total{outcome=\"dead\"} %llu\nvidzo_jobs_total{outcome=\"lease_lost\"} %llu\n"
                    "# TYPE vidzo_jobs_db_errors_total counter\nvidzo_jobs_db_errors_total %llu\n"
                    "# TYPE vidzo_jobs_workers gauge\nvidzo_jobs_workers %d\n",
                    (unsigned long long)s.done, (unsigned long long)s.retried, (unsigned long long)s.dead,
                    (unsigned long long)s.lost, (unsigned long long)s.errors, nthreads);
}

int jobs_runner_start(const char *url, int count, const char *name) {
  static int metrics_on;
  if (!metrics_on++) vz_metrics_register(metrics);
  if (!nregs || count <= 0) return 0;
  if (!url || strlen(url) >= sizeof db_url || threads) return -1;
  snprintf(db_url, sizeof db_url, "%s", url);
  snprintf(instance, sizeof instance, "%s", name && *name ? name : "vidzo");
  threads = calloc((size_t)count, sizeof *threads);
  if (!threads) return -1;
  stopping = 0;
  for (nthreads = 0; nthreads < count; nthreads++)
    if (pthread_create(&threads[nthreads], NULL, worker, (void *)(intptr_t)nthreads) != 0) break;
  return nthreads == count ? 0 : -1;
}

void jobs_runner_stop(void) {
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
  free(threads);
  threads = NULL;
  nthreads = 0;
}

void jobs_runner_stats(jobs_stats *out) {
  out->done = atomic_load(&st_done);
  out->retried = atomic_load(&st_retried);
  out->dead = atomic_load(&st_dead);
  out->lost = atomic_load(&st_lost);
  out->errors = atomic_load(&st_errors);
}
