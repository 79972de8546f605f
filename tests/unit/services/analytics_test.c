/* analytics rollups: the arithmetic (minute buckets, heartbeat credit within the window
 * only, sample gaps capped at two periods) and, on a migrated database, that heartbeats,
 * chat counters, room joins and sampler ticks add up in the totals row and in the right
 * minute rows exactly as the events happened: a viewer counted once however often it
 * beats, an in-room viewer never credited twice, a "leaving" beat ends HLS presence, a
 * tick taken once however many samplers run it, and nothing counted once a stream ended. */
#include <stdlib.h>

#include "../db/dbtest.h"
#include "services/analytics/internal.h"
#include "services/users/users.h"

TEST(analytics_arithmetic) {
  CHECK_EQ_INT(an_minute_of(0), 0);
  CHECK_EQ_INT(an_minute_of(59999), 0);
  CHECK_EQ_INT(an_minute_of(60000), 60000);
  CHECK_EQ_INT(an_minute_of(1764768123456LL), 1764768120000LL);
  /* nearest rank (0-based): median of 12 is the 6th, p90 the 11th; 1 value: itself */
  CHECK_EQ_INT(an_rank(12, 50), 5);
  CHECK_EQ_INT(an_rank(12, 90), 10);
  CHECK_EQ_INT(an_rank(1, 50), 0);
  CHECK_EQ_INT(an_rank(1, 90), 0);
  CHECK_EQ_INT(an_rank(2, 50), 0);
  CHECK_EQ_INT(an_rank(10, 90), 8);
  CHECK_EQ_INT(an_rank(10, 100), 9);
  CHECK_EQ_INT(an_hb_credit(0, 1000, 75000), 0);          /* first beat */
  CHECK_EQ_INT(an_hb_credit(1000, 31000, 75000), 30000);  /* a regular beat */
  CHECK_EQ_INT(an_hb_credit(1000, 76000, 75000), 75000);  /* one lost: still watching */
  CHECK_EQ_INT(an_hb_credit(1000, 76001, 75000), 0);      /* came back after a while */
  CHECK_EQ_INT(an_hb_credit(5000, 4000, 75000), 0);       /* clock went back */
  CHECK_EQ_INT(an_sample_dt(0, 5000, 1000), 0);
  CHECK_EQ_INT(an_sample_dt(4000, 5000, 1000), 1000);
  CHECK_EQ_INT(an_sample_dt(1000, 9000, 1000), 2000);     /* a stalled sampler */
}

static long fake_room;
static long fake_presence(int64_t id) { return fake_room; }

static int64_t col(vz_db *db, const char *sql, int64_t id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, sql, "i", id);
  int64_t v = rc == DB_ROW ? db_col_int(st, 0) : -1;
  if (st) db_finalize(st);
  return v;
}

#define TOTAL(what) col(db, "SELECT " what " FROM analytics_streams WHERE stream_id = $1", sid)
#define MINUTES(what) col(db, "SELECT SUM(" what ") FROM analytics_minutes WHERE stream_id = $1", sid)

static void rollup_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256];
  CHECK(db_migrate(db, err, sizeof err) == 0);
  int64_t host = 9001, fan = 9002, sid = 77;
  CHECK(db_run(db, NULL, "INSERT INTO users (id, handle, created_at, updated_at) VALUES ($1, 'host', 1, 1), ($2, 'fan', 1, 1)",
               "ii", host, fan) >= 0);
  CHECK(db_run(db, NULL,
               "INSERT INTO streams (id, host_id, status, title, key_hash, scheduled_at, started_at, created_at, updated_at)"
               " VALUES ($1, $2, 'live', 't', 'h', 1, $3, 1, 1)",
               "iii", sid, host, (int64_t)1000000) >= 0);
  analytics_conf.heartbeat_s = 30;
  analytics_conf.sample_ms = 1000;
  an_presence = fake_presence;
  fake_room = 0;
  streams_info si;
  CHECK_EQ_INT(streams_get(db, sid, &si), 0);
  int64_t t0 = 1764768000000LL; /* a minute boundary */
  int counted = -1;
  /* two players: a beats three times 30 s apart, b twice; b's second beat is in the room */
  an_hb a = { .viewer = "a:player-one-aaaaaaaa" }, b = { .viewer = "u:9002" };
  CHECK_EQ_INT(an_heartbeat(db, &si, &a, t0, &counted), 0);
  CHECK_EQ_INT(counted, 1);
  CHECK_EQ_INT(an_heartbeat(db, &si, &b, t0 + 1000, &counted), 0);
  CHECK_EQ_INT(an_heartbeat(db, &si, &a, t0 + 30000, &counted), 0);
  CHECK_EQ_INT(counted, 0);
  CHECK_EQ_INT(an_heartbeat(db, &si, &a, t0 + 60000, NULL), 0); /* next minute */
  b.in_room = 1;
  CHECK_EQ_INT(an_heartbeat(db, &si, &b, t0 + 31000, NULL), 0);
  CHECK_EQ_INT(TOTAL("unique_viewers"), 2);
  CHECK_EQ_INT(TOTAL("watch_ms"), 60000); /* a: 30 + 30; b in the room: nothing twice */
  CHECK_EQ_INT(col(db, "SELECT watch_ms FROM analytics_viewers WHERE stream_id = $1 AND viewer = 'u:9002'", sid), 30000);
  CHECK_EQ_INT(col(db, "SELECT watch_ms FROM analytics_minutes WHERE stream_id = $1 AND minute = 1764768000000", sid),
               30000);
  CHECK_EQ_INT(col(db, "SELECT watch_ms FROM analytics_minutes WHERE stream_id = $1 AND minute = 1764768060000", sid),
               30000);
  CHECK_EQ_INT(MINUTES("new_viewers"), 2);
  int64_t hls = -1;
  CHECK_EQ_INT(an_hls_viewers(db, sid, t0 + 61000, &hls), 0);
  CHECK_EQ_INT(hls, 1); /* b is in the room */
  /* the room member joining through chat is not a third viewer; a new one is */
  CHECK_EQ_INT(analytics_viewer_seen(db, sid, fan), 0);
  CHECK_EQ_INT(TOTAL("unique_viewers"), 2);
  CHECK_EQ_INT(analytics_viewer_seen(db, sid, host), 0);
  CHECK_EQ_INT(TOTAL("unique_viewers"), 3);
  /* counters */
  CHECK_EQ_INT(analytics_count(db, sid, ANALYTICS_CHAT_MESSAGE, 1), 0);
  CHECK_EQ_INT(analytics_count(db, sid, ANALYTICS_CHAT_MESSAGE, 2), 0);
  CHECK_EQ_INT(analytics_count(db, sid, ANALYTICS_REACTION, 5), 0);
  CHECK_EQ_INT(analytics_count(db, sid, 99, 5), 0); /* unknown counter: nothing */
  CHECK_EQ_INT(TOTAL("chat_messages"), 3);
  CHECK_EQ_INT(TOTAL("reactions"), 5);
  CHECK_EQ_INT(MINUTES("chat_messages"), 3);
  /* sampler: 4 in the room + a (HLS); the tick is taken once */
  fake_room = 4;
  int64_t t1 = t0 + 62000;
  CHECK_EQ_INT(an_tick(db, t1), 1);
  CHECK_EQ_INT(an_tick(db, t1 + 10), 0); /* same tick: another instance's try */
  CHECK_EQ_INT(TOTAL("current_viewers"), 5);
  CHECK_EQ_INT(TOTAL("peak_viewers"), 5);
  CHECK_EQ_INT(TOTAL("watch_ms"), 60000); /* first sample: no time yet */
  CHECK_EQ_INT(an_tick(db, t1 + 1000), 1);
  CHECK_EQ_INT(TOTAL("watch_ms"), 64000); /* 4 sockets x 1 s */
  CHECK_EQ_INT(col(db, "SELECT viewers FROM streams WHERE id = $1", sid), 5); /* the live feed's order */
  fake_room = 1;
  /* a follower during the stream */
  CHECK(db_run(db, NULL, "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)", "iii", fan,
               host, (int64_t)1000001) >= 0);
  CHECK_EQ_INT(an_tick(db, t1 + 2000), 1);
  CHECK_EQ_INT(TOTAL("current_viewers"), 2);
  CHECK_EQ_INT(TOTAL("peak_viewers"), 5);
  CHECK_EQ_INT(TOTAL("followers_gained"), 1);
  CHECK_EQ_INT(MINUTES("followers"), 1);
  CHECK_EQ_INT(col(db, "SELECT viewers_peak FROM analytics_minutes WHERE stream_id = $1 AND minute = 1764768060000",
                   sid), 5);
  CHECK_EQ_INT(col(db, "SELECT samples FROM analytics_minutes WHERE stream_id = $1 AND minute = 1764768060000", sid),
               3);
  CHECK_EQ_INT(col(db, "SELECT viewers_sum FROM analytics_minutes WHERE stream_id = $1 AND minute = 1764768060000",
                   sid), 12);
  /* leaving: a stops counting at once */
  a.leaving = 1;
  CHECK_EQ_INT(an_heartbeat(db, &si, &a, t1 + 2500, NULL), 0);
  CHECK_EQ_INT(an_hls_viewers(db, sid, t1 + 2600, &hls), 0);
  CHECK_EQ_INT(hls, 0);
  /* the stream ends: the next tick closes it; counters no longer count */
  CHECK(db_run(db, NULL, "UPDATE streams SET status = 'ended', ended_at = $2 WHERE id = $1", "ii", sid, t1 + 2700) >= 0);
  CHECK_EQ_INT(an_tick(db, t1 + 3000), 1);
  CHECK_EQ_INT(TOTAL("ended_at"), t1 + 2700);
  CHECK_EQ_INT(TOTAL("current_viewers"), 0);
  int n = -1;
  int64_t ids[4];
  CHECK_EQ_INT(an_open_streams(db, ids, 4, &n), 0);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(analytics_count(db, sid, ANALYTICS_CHAT_MESSAGE, 1), 0);
  CHECK_EQ_INT(TOTAL("chat_messages"), 3);
  CHECK_EQ_INT(analytics_count(db, 123456, ANALYTICS_CHAT_MESSAGE, 1), 0); /* unknown stream */
}

TEST(analytics_rollups_add_up) { dbt_each(vz_failed, rollup_body); }
