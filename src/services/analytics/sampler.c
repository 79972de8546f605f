/* analytics/sampler.c: every --analytics-sample-ms, one pass over the streams analytics
 * follows: current viewers (room presence + HLS heartbeats) into the totals, the
 * minute's series and streams' live-feed order; room watch time (sockets x time); the
 * host's new followers; a stream no longer live is closed. Own thread and own database
 * connection, like the job runners: the io loops never wait for it. Every instance runs
 * one; the tick row (analytics_ticks) lets exactly one of them take each tick, and since
 * presence is summed across instances on the bus, it does not matter which. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "lib/clock.h"
#include "services/analytics/internal.h"

an_stats an_stat;

#define MAX_OPEN 4096 /* streams followed per tick; more live at once than this wait a tick */

typedef struct tick_ctx { int64_t now; int taken; } tick_ctx;

/* The tick is claimed in its own short transaction: whoever inserts its number samples. */
static int claim_tx(vz_db *db, void *arg) {
  tick_ctx *t = arg;
  vz_stmt *st = NULL;
  int64_t tick = t->now / analytics_conf.sample_ms;
  int rc = db_run(db, &st, "INSERT INTO analytics_ticks (tick, taken_at) VALUES ($1, $2) ON CONFLICT (tick) DO NOTHING",
                  "ii", tick, t->now);
  t->taken = rc >= 0 && db_changes(st) > 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (t->taken && tick % 100 == 0 && (rc = db_run(db, NULL, "DELETE FROM analytics_ticks WHERE tick < $1", "i", tick - 100)) < 0)
    return rc;
  return 0;
}

typedef struct sample_ctx { int64_t id, now; } sample_ctx;
static int sample_tx(vz_db *db, void *arg) { return an_sample(db, ((sample_ctx *)arg)->id, ((sample_ctx *)arg)->now); }

/* Then one transaction per stream: a pass over many live streams never holds SQLite's
 * write lock for long, and one stream's failure does not undo the others' samples. */
int an_tick(vz_db *db, int64_t now) {
  tick_ctx t = { .now = now };
  int rc = db_tx(db, claim_tx, &t);
  if (rc < 0) return rc;
  if (!t.taken) { /* another instance samples this tick */
    an_stat.ticks_skipped++;
    return 0;
  }
  uint64_t t0 = vz_mono_ns();
  static int64_t ids[MAX_OPEN]; /* one sampler per process: the thread, or a test */
  int n = 0;
  if ((rc = an_open_streams(db, ids, MAX_OPEN, &n)) < 0) return rc;
  int failed = 0;
  for (int i = 0; i < n; i++) {
    sample_ctx c = { ids[i], now };
    if ((rc = db_tx(db, sample_tx, &c)) < 0) failed = rc;
  }
  an_stat.ticks_taken++;
  an_stat.streams_sampled += (unsigned long long)n;
  an_stat.last_tick_us = (vz_mono_ns() - t0) / 1000;
  if (failed < 0) an_stat.tick_errors++;
  return failed < 0 ? failed : 1;
}

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int running, stopping;

static void *sampler_main(void *arg) {
  vz_db *db = NULL;
  char err[256];
  pthread_mutex_lock(&mu);
  while (!stopping) {
    /* sleep to the next tick boundary, so instances agree on tick numbers */
    int64_t now = db_now_ms(), next = (now / analytics_conf.sample_ms + 1) * analytics_conf.sample_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wait = next - now;
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (wait % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&cv, &mu, &ts);
    if (stopping) break;
    pthread_mutex_unlock(&mu);
    if (!db && db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) {
      static _Atomic long long last;
      if (vz_log_allow(&last, 60000)) vz_log_warn("analytics sampler: no database", "error", err);
      db = NULL;
    } else if (db) {
      int rc = an_tick(db, db_now_ms());
      if (rc < 0) {
        static _Atomic long long last;
        if (vz_log_allow(&last, 60000)) vz_log_warn("analytics sampler: tick failed", "error", db_errmsg(db));
      }
    }
    pthread_mutex_lock(&mu);
  }
  pthread_mutex_unlock(&mu);
  if (db) db_close(db);
  return NULL;
}

int an_sampler_start(void) {
  stopping = 0;
  if (pthread_create(&thread, NULL, sampler_main, NULL) != 0) return -1;
  running = 1;
  return 0;
}

void an_sampler_stop(void) {
  if (!running) return;
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(thread, NULL);
  running = 0;
}
