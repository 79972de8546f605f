/* analytics internals: the rollup arithmetic (pure, unit-tested), the rollup writes
 * (rollup.c), the sampler thread (sampler.c) and the routes (routes.c). */
#ifndef VZ_ANALYTICS_INTERNAL_H
#define VZ_ANALYTICS_INTERNAL_H
#include <stdint.h>

#include "core/http.h"
#include "services/analytics/analytics.h"
#include "services/streams/streams.h"

typedef struct analytics_cfg {
  int heartbeat_s;   /* players are told to beat this often (30) */
  int sample_ms;     /* sampler period (10000) */
  char presence_nsp[64];
} analytics_cfg;
extern analytics_cfg analytics_conf;

/* A heartbeat is current for 2.5 intervals: one lost beat does not drop a viewer. */
static inline int64_t an_window_ms(void) { return (int64_t)analytics_conf.heartbeat_s * 2500; }

/* ---- arithmetic ---------------------------------------------------------------- */
/* The minute a time falls in (unix ms of its start). */
int64_t an_minute_of(int64_t ms);
/* Watch time a heartbeat at now adds after one at last_seen: the gap when it is within
 * the window (the player was watching in between), else 0 (first beat, a beat after
 * "leaving" (last_seen 0), or a return after a long gap: the time between was not seen). */
int64_t an_hb_credit(int64_t last_seen, int64_t now, int64_t window_ms);
/* Time a sample at now stands for after the previous one at prev: the gap, at most two
 * periods (a sampler that stalled does not credit the stall); 0 for the first sample. */
int64_t an_sample_dt(int64_t prev, int64_t now, int64_t period_ms);

/* ---- writes (inside the caller's transaction) ------------------------------------ */
/* What one event adds to a stream's totals and to its minute. */
typedef struct an_delta {
  int64_t new_viewers, watch_ms, chat_messages, reactions, followers;
  int sampled;                  /* a viewer sample: viewers is one sample of the minute */
  int64_t viewers;
} an_delta;
int an_add(vz_db *db, int64_t stream_id, int64_t now, const an_delta *d);
/* The stream is followed by analytics from its go-live (idempotent). */
int an_track(vz_db *db, const streams_info *si, int64_t now);

typedef struct an_hb {
  const char *viewer;   /* "u:<id>" or "a:<client id>" */
  int in_room, leaving;
  int64_t delay_ms;     /* the player's distance behind live; -1: not sent (the last one stays) */
} an_hb;
/* One heartbeat of a live stream: the viewer row, its credit, the rollups. *counted
 * (may be NULL) is 1 when the viewer was new. */
int an_heartbeat(vz_db *db, const streams_info *si, const an_hb *hb, int64_t now, int *counted);
/* The reported delays of the viewers heartbeating within the window (in the room or
 * not): how many, and the median and 90th percentile by nearest rank (-1 when none). */
typedef struct an_delay { int64_t viewers, median_ms, p90_ms; } an_delay;
int an_delay_summary(vz_db *db, int64_t stream_id, int64_t now, an_delay *out);
/* Nearest-rank index (0-based) of percentile pct (1..100) among n sorted values (n > 0). */
int64_t an_rank(int64_t n, int pct);
/* Players heartbeating within the window and not in the room. */
int an_hls_viewers(vz_db *db, int64_t stream_id, int64_t now, int64_t *n);
/* Sockets in the stream's room on every instance (a hook, so unit tests can set it). */
extern long (*an_presence)(int64_t stream_id);
/* One sampler pass over one followed stream. */
int an_sample(vz_db *db, int64_t stream_id, int64_t now);
/* The streams the sampler follows (up to max): *n ids. */
int an_open_streams(vz_db *db, int64_t *ids, int max, int *n);

/* ---- metrics (any thread) -------------------------------------------------------- */
typedef struct an_stats {
  _Atomic unsigned long long heartbeats, new_viewers, ticks_taken, ticks_skipped, tick_errors, streams_sampled;
  _Atomic unsigned long long last_tick_us; /* duration of the last pass */
} an_stats;
extern an_stats an_stat;

/* ---- sampler ----------------------------------------------------------------- */
int an_sampler_start(void);
void an_sampler_stop(void);
/* One tick at now, if no instance took it yet (tests call it directly). */
int an_tick(vz_db *db, int64_t now);

extern vz_route analytics_routes[];
#endif
