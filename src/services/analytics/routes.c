/* analytics/routes.c: the player heartbeat and the host's analytics.
 *   POST /v1/streams/:id/heartbeat  any viewer who may see the stream, every 30 s while
 *        playing (signed in: counted by account; anonymous: by the player's own random
 *        id); "in_room" when the same viewer is in the stream's socket room (presence
 *        counts them, so the beat adds no second viewer or watch time); "leaving" on
 *        pagehide/stop, so they stop counting at once instead of after the window;
 *        "delay_ms" the player's distance behind live, the latest kept per viewer.
 *   GET  /v1/streams/:id/analytics  the host and admins; 404 for anyone else, as for a
 *        stream they may not know exists. Reads the rollups; only "current" is computed
 *        now (presence in memory + one index count), so it is never a tick old; so is
 *        "delay", the current viewers' reported delays (median, p90). */
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/analytics/internal.h"

/* The stream a viewer may see (404 otherwise, the same answer as for no stream). */
static int visible_or_fail(vz_req *req, vz_db *db, int64_t id, streams_info *si) {
  int rc = streams_get(db, id, si);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc < 0) return vz_fail_db(req, rc);
  if ((rc = streams_can_view(db, si, req->user_id, req->role == VZ_R_ADMIN)) < 0) return vz_fail_db(req, rc);
  return rc ? 0 : vz_fail(req, 404, "not_found", "id", "no such stream");
}

static int viewer_id_ok(const char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return 0;
  return 1;
}

typedef struct hb_ctx {
  vz_req *req;
  int64_t id;
  an_hb hb;
  int counted;
} hb_ctx;

static int hb_tx(vz_db *db, void *arg) {
  hb_ctx *c = arg;
  streams_info si;
  if (visible_or_fail(c->req, db, c->id, &si)) return DB_EABORT;
  if (si.status != STREAMS_LIVE) {
    vz_fail(c->req, 409, "not_live", "id", "the stream is %s", streams_status_name(si.status));
    return DB_EABORT;
  }
  return an_heartbeat(db, &si, &c->hb, db_now_ms(), &c->counted);
}

static int h_heartbeat(vz_req *req) {
  hb_ctx c = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  const char *viewer = json_string_value(json_object_get(req->json, "viewer"));
  char key[80];
  if (req->user_id) {
    snprintf(key, sizeof key, "u:%lld", (long long)req->user_id); /* the account, whatever the player says */
  } else {
    if (!viewer) return vz_fail(req, 400, "invalid_argument", "viewer", "anonymous players send their viewer id");
    if (!viewer_id_ok(viewer))
      return vz_fail(req, 400, "invalid_argument", "viewer", "viewer: 16-64 of A-Z a-z 0-9 - _");
    snprintf(key, sizeof key, "a:%s", viewer);
  }
  c.hb.viewer = key;
  c.hb.in_room = json_is_true(json_object_get(req->json, "in_room"));
  c.hb.leaving = json_is_true(json_object_get(req->json, "leaving"));
  json_t *delay = json_object_get(req->json, "delay_ms"); /* bounds checked by hb_in */
  c.hb.delay_ms = json_is_integer(delay) ? (int64_t)json_integer_value(delay) : -1;
  if (vz_tx_or_fail(req, hb_tx, &c)) return req->status;
  an_stat.heartbeats++;
  if (c.counted) an_stat.new_viewers++;
  return vz_reply_item(req, 200, json_pack("{s:i, s:b}", "interval_s", analytics_conf.heartbeat_s, "new_viewer",
                                           c.counted));
}

/* ---- the host's view ------------------------------------------------------------ */

#define MAX_MINUTES 1440 /* the newest day of a longer stream */

static json_t *minutes_json(vz_db *db, int64_t id, int *rc) {
  vz_stmt *st = NULL;
  json_t *arr = json_array();
  *rc = db_run(db, &st,
               "SELECT minute, viewers_peak, viewers_sum, samples, new_viewers, watch_ms, chat_messages, reactions,"
               " followers FROM analytics_minutes WHERE stream_id = $1 ORDER BY minute DESC LIMIT $2",
               "ii", id, (int64_t)MAX_MINUTES);
  while (*rc == DB_ROW && arr) {
    int64_t samples = db_col_int(st, 3);
    json_t *m = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "minute", vz_json_time(db_col_int(st, 0)),
                          "viewers_peak", (json_int_t)db_col_int(st, 1), "viewers_avg",
                          (json_int_t)(samples ? (db_col_int(st, 2) + samples / 2) / samples : 0), "new_viewers",
                          (json_int_t)db_col_int(st, 4), "watch_time_ms", (json_int_t)db_col_int(st, 5),
                          "chat_messages", (json_int_t)db_col_int(st, 6), "reactions", (json_int_t)db_col_int(st, 7),
                          "followers_gained", (json_int_t)db_col_int(st, 8));
    if (!m || json_array_insert_new(arr, 0, m) < 0) { /* oldest first */
      json_decref(arr);
      arr = NULL;
    }
    *rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (*rc < 0) {
    json_decref(arr);
    return NULL;
  }
  return arr;
}

static int h_analytics(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_db *db = req->db_read;
  streams_info si;
  int rc = streams_get(db, id, &si);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc < 0) return vz_fail_db(req, rc);
  /* not the host's: as if it did not exist (viewers need not learn the figures exist) */
  if (si.host_id != req->user_id && req->role != VZ_R_ADMIN) return vz_fail(req, 404, "not_found", "id", "no such stream");
  vz_stmt *st = NULL;
  rc = db_run(db, &st,
              "SELECT peak_viewers, unique_viewers, watch_ms, chat_messages, reactions, followers_gained"
              " FROM analytics_streams WHERE stream_id = $1",
              "i", id);
  int64_t v[6] = { 0 }; /* no row: never live, all zero */
  if (rc == DB_ROW)
    for (int i = 0; i < 6; i++) v[i] = db_col_int(st, i);
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  int64_t room = 0, hls = 0;
  an_delay dl = { 0, -1, -1 };
  if (si.status == STREAMS_LIVE) {
    long p = an_presence ? an_presence(id) : 0;
    room = p > 0 ? p : 0;
    int64_t now = db_now_ms();
    if ((rc = an_hls_viewers(db, id, now, &hls)) < 0) return vz_fail_db(req, rc);
    if ((rc = an_delay_summary(db, id, now, &dl)) < 0) return vz_fail_db(req, rc);
  }
  json_t *delay = json_pack("{s:I, s:o, s:o}", "viewers", (json_int_t)dl.viewers, "median_ms",
                            dl.median_ms >= 0 ? json_integer(dl.median_ms) : json_null(), "p90_ms",
                            dl.p90_ms >= 0 ? json_integer(dl.p90_ms) : json_null());
  if (!delay) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  int64_t cur = room + hls, peak = v[0] > cur ? v[0] : cur;
  json_t *minutes = minutes_json(db, id, &rc);
  if (rc < 0 || !minutes) json_decref(delay);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!minutes) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  json_t *o = json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "stream_id",
                        vz_json_id(id), "status", streams_status_name(si.status), "current_viewers", (json_int_t)cur,
                        "room_viewers", (json_int_t)room, "hls_viewers", (json_int_t)hls, "peak_viewers",
                        (json_int_t)peak, "unique_viewers", (json_int_t)v[1], "watch_time_ms", (json_int_t)v[2],
                        "avg_watch_time_ms", (json_int_t)(v[1] ? v[2] / v[1] : 0), "chat_messages", (json_int_t)v[3],
                        "reactions", (json_int_t)v[4], "followers_gained", (json_int_t)v[5], "started_at",
                        si.started_at ? vz_json_time(si.started_at) : json_null(), "ended_at",
                        si.ended_at ? vz_json_time(si.ended_at) : json_null(), "minutes",
                        minutes, "delay", delay);
  return o ? vz_reply_item(req, 200, o) : vz_fail(req, 503, "unavailable", NULL, "server busy");
}

static const vz_field hb_in[] = {
  { "viewer", VZ_STR, 0, 16, 64 },
  { "in_room", VZ_BOOL, 0 },
  { "leaving", VZ_BOOL, 0 },
  /* the player's distance behind live (hls.js latency); beyond 2 minutes is a stalled or
   * paused player, not a delay (refused, so it cannot skew the figures) */
  { "delay_ms", VZ_INT, 0, 0, 120000 },
  { 0 },
};

vz_route analytics_routes[] = {
  VZ_POST("/v1/streams/:id/heartbeat", h_heartbeat, .op = "sendStreamHeartbeat",
          .summary = "A player is watching (every interval_s while playing; leaving: stopped)",
          .res = "StreamHeartbeat", .errors = "409", .body = hb_in, .rate_per_min = 600),
  VZ_GET("/v1/streams/:id/analytics", h_analytics, .op = "getStreamAnalytics",
         .summary = "A stream's viewers, watch time, chat and followers, with a per-minute series (host, admin)",
         .res = "StreamAnalytics", .flags = VZ_AUTH),
  { 0 },
};
