/* analytics/service.c: the descriptor, settings and event subscriptions of the
 * analytics service (issue 18). Streams tell it when they go live and end (ASYNC: the
 * go-live answer to the encoder never waits for us); chat feeds its counters through
 * analytics.h; the sampler thread (sampler.c) runs from start to stop. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/events.h"
#include "core/metrics.h"
#include "core/service.h"
#include "db/db.h"
#include "realtime/sio.h"
#include "services/analytics/internal.h"

analytics_cfg analytics_conf = { .heartbeat_s = 30, .sample_ms = 10000, .presence_nsp = "/" };

static const vz_opt analytics_opts[] = {
  VZ_OPT("analytics-heartbeat", "VIDZO_ANALYTICS_HEARTBEAT", VZ_OPT_INT, analytics_conf.heartbeat_s, 1, 300,
         "seconds between player heartbeats; a player is current for 2.5 of them (30)"),
  VZ_OPT("analytics-sample-ms", "VIDZO_ANALYTICS_SAMPLE_MS", VZ_OPT_INT, analytics_conf.sample_ms, 100, 600000,
         "ms between viewer samples of live streams (10000)"),
  VZ_OPT("analytics-presence-nsp", "VIDZO_ANALYTICS_PRESENCE_NSP", VZ_OPT_STR, analytics_conf.presence_nsp, 0, 0,
         "Socket.IO namespace of the stream rooms (stream:<id>) whose presence counts as viewers (/)"),
  { 0 },
};

static long room_presence(int64_t stream_id) {
  char room[40];
  snprintf(room, sizeof room, ANALYTICS_ROOM_FMT, (long long)stream_id);
  return sio_room_presence(analytics_conf.presence_nsp, room);
}

/* Followed from its go-live: the sampler starts counting it (idempotent on retry). */
static int on_live(vz_db *db, const vz_event *ev) {
  streams_info si = { .id = ev->stream_live.stream_id, .host_id = ev->stream_live.host_id,
                      .started_at = ev->stream_live.started_at };
  return an_track(db, &si, db_now_ms());
}

typedef struct end_ctx { int64_t id; } end_ctx;
static int end_tx(vz_db *db, void *arg) { return an_sample(db, ((end_ctx *)arg)->id, db_now_ms()); }

/* Closed at once rather than at the next tick: zero viewers, the final followers. */
static int on_ended(vz_db *db, const vz_event *ev) {
  end_ctx c = { ev->stream_ended.stream_id };
  return db_tx(db, end_tx, &c);
}

/* A deleted account stops being a row here; the totals it was counted in are anonymous
 * and stay. In the deletion's transaction: nothing of the account outlives it. */
static int on_user_deleted(vz_db *db, const vz_event *ev) {
  char key[32];
  snprintf(key, sizeof key, "u:%lld", (long long)ev->user_deleted.user_id);
  int rc = db_run(db, NULL, "DELETE FROM analytics_viewers WHERE viewer = $1", "s", key);
  return rc < 0 ? rc : 0;
}

static const vz_subscription analytics_on[] = {
  { VZ_EV_USER_DELETED, on_user_deleted, VZ_EV_IN_TX },
  { VZ_EV_STREAM_LIVE, on_live, VZ_EV_ASYNC },
  { VZ_EV_STREAM_ENDED, on_ended, VZ_EV_ASYNC },
  { 0 },
};

static void analytics_metrics(char **b, size_t *l, size_t *c) {
  vz_metrics_printf(b, l, c,
                    "# TYPE vidzo_analytics_heartbeats_total counter\nvidzo_analytics_heartbeats_total %llu\n"
                    "# TYPE vidzo_analytics_new_viewers_total counter\nvidzo_analytics_new_viewers_total %llu\n"
                    "# TYPE vidzo_analytics_ticks_total counter\n"
                    "vidzo_analytics_ticks_total{outcome=\"taken\"} %llu\n"
                    "vidzo_analytics_ticks_total{outcome=\"skipped\"} %llu\n"
                    "vidzo_analytics_ticks_total{outcome=\"error\"} %llu\n"
                    "# TYPE vidzo_analytics_streams_sampled_total counter\nvidzo_analytics_streams_sampled_total %llu\n"
                    "# TYPE vidzo_analytics_last_tick_seconds gauge\nvidzo_analytics_last_tick_seconds %.6f\n",
                    (unsigned long long)an_stat.heartbeats, (unsigned long long)an_stat.new_viewers,
                    (unsigned long long)an_stat.ticks_taken, (unsigned long long)an_stat.ticks_skipped,
                    (unsigned long long)an_stat.tick_errors, (unsigned long long)an_stat.streams_sampled,
                    (double)an_stat.last_tick_us / 1e6);
}

static int analytics_init(void) {
  if (analytics_conf.presence_nsp[0] != '/') {
    fprintf(stderr, "vidzo: VIDZO_ANALYTICS_PRESENCE_NSP must start with '/'\n");
    return -1;
  }
  an_presence = room_presence;
  return 0;
}

static int analytics_start(void) { return an_sampler_start(); }
static void analytics_stop(void) { an_sampler_stop(); }

const vz_service analytics_service = {
  .name = "analytics",
  .about = "What happened on a stream: viewers, watch time, chat and followers, per minute",
  .opts = analytics_opts,
  .routes = analytics_routes,
  .on = analytics_on,
  .metrics = analytics_metrics,
  .init = analytics_init,
  .start = analytics_start,
  .stop = analytics_stop,
};
