/* analytics/rollup.c: every change to a stream's figures is an an_delta added to its
 * totals row and to the row of the minute it happened in, in the transaction of what
 * caused it (a heartbeat, a chat message, a sampler pass). Reads never aggregate raw rows:
 * the totals are one row, the series one index range of at most one row per minute.
 * SQL is the SQLite/PostgreSQL common subset (CASE instead of MAX()/GREATEST()). */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "services/analytics/internal.h"
#include "services/users/users.h"

int64_t an_minute_of(int64_t ms) { return ms >= 0 ? ms - ms % 60000 : ms - (60000 + ms % 60000) % 60000; }

int64_t an_hb_credit(int64_t last_seen, int64_t now, int64_t window_ms) {
  if (last_seen <= 0 || now <= last_seen) return 0;
  int64_t gap = now - last_seen;
  return gap <= window_ms ? gap : 0;
}

int64_t an_sample_dt(int64_t prev, int64_t now, int64_t period_ms) {
  if (prev <= 0 || now <= prev) return 0;
  int64_t gap = now - prev;
  return gap > 2 * period_ms ? 2 * period_ms : gap;
}

int an_add(vz_db *db, int64_t stream_id, int64_t now, const an_delta *d) {
  int rc = db_run(db, NULL,
                  "INSERT INTO analytics_minutes (stream_id, minute, viewers_peak, viewers_sum, samples, new_viewers,"
                  " watch_ms, chat_messages, reactions, followers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                  " ON CONFLICT (stream_id, minute) DO UPDATE SET"
                  " viewers_peak = CASE WHEN excluded.viewers_peak > analytics_minutes.viewers_peak"
                  " THEN excluded.viewers_peak ELSE analytics_minutes.viewers_peak END,"
                  " viewers_sum = analytics_minutes.viewers_sum + excluded.viewers_sum,"
                  " samples = analytics_minutes.samples + excluded.samples,"
                  " new_viewers = analytics_minutes.new_viewers + excluded.new_viewers,"
                  " watch_ms = analytics_minutes.watch_ms + excluded.watch_ms,"
                  " chat_messages = analytics_minutes.chat_messages + excluded.chat_messages,"
                  " reactions = analytics_minutes.reactions + excluded.reactions,"
                  " followers = analytics_minutes.followers + excluded.followers",
                  "iiiiiiiiii", stream_id, an_minute_of(now), d->sampled ? d->viewers : 0,
                  d->sampled ? d->viewers : 0, (int64_t)(d->sampled ? 1 : 0), d->new_viewers, d->watch_ms,
                  d->chat_messages, d->reactions, d->followers);
  if (rc < 0) return rc;
  rc = db_run(db, NULL,
              "UPDATE analytics_streams SET unique_viewers = unique_viewers + $2, watch_ms = watch_ms + $3,"
              " chat_messages = chat_messages + $4, reactions = reactions + $5,"
              " followers_gained = followers_gained + $6, updated_at = $7 WHERE stream_id = $1",
              "iiiiiii", stream_id, d->new_viewers, d->watch_ms, d->chat_messages, d->reactions, d->followers, now);
  return rc < 0 ? rc : 0;
}

int an_track(vz_db *db, const streams_info *si, int64_t now) {
  int rc = db_run(db, NULL,
                  "INSERT INTO analytics_streams (stream_id, host_id, started_at, updated_at) VALUES ($1, $2, $3, $4)"
                  " ON CONFLICT (stream_id) DO NOTHING",
                  "iiii", si->id, si->host_id, si->started_at ? si->started_at : now, now);
  return rc < 0 ? rc : 0;
}

int an_heartbeat(vz_db *db, const streams_info *si, const an_hb *hb, int64_t now, int *counted) {
  vz_stmt *st = NULL;
  an_delta d = { 0 };
  if (counted) *counted = 0;
  int rc = an_track(db, si, now);
  if (rc < 0) return rc;
  rc = db_run(db, &st, "SELECT last_seen, in_room FROM analytics_viewers WHERE stream_id = $1 AND viewer = $2", "is",
              si->id, hb->viewer);
  int found = rc == DB_ROW;
  int64_t last_seen = found ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  int64_t seen = hb->leaving ? 0 : now;
  if (!found) {
    st = NULL;
    rc = db_run(db, &st,
                "INSERT INTO analytics_viewers (stream_id, viewer, first_seen, last_seen, in_room, delay_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id, viewer) DO NOTHING",
                hb->delay_ms >= 0 ? "isiiii" : "isiiin", si->id, hb->viewer, now, seen, (int64_t)hb->in_room,
                hb->delay_ms);
    d.new_viewers = rc >= 0 ? db_changes(st) : 0; /* 0: a parallel first beat won */
    if (st) db_finalize(st);
    if (rc < 0) return rc;
  } else {
    int64_t credit = an_hb_credit(last_seen, now, an_window_ms());
    rc = db_run(db, NULL,
                "UPDATE analytics_viewers SET last_seen = $3, watch_ms = watch_ms + $4, in_room = $5,"
                " delay_ms = COALESCE($6, delay_ms) WHERE stream_id = $1 AND viewer = $2",
                hb->delay_ms >= 0 ? "isiiii" : "isiiin", si->id, hb->viewer, seen, credit, (int64_t)hb->in_room,
                hb->delay_ms);
    if (rc < 0) return rc;
    /* a viewer in the room is watched by presence samples already: no second credit */
    d.watch_ms = hb->in_room ? 0 : credit;
  }
  if (counted) *counted = d.new_viewers > 0;
  return d.new_viewers || d.watch_ms ? an_add(db, si->id, now, &d) : 0;
}

int64_t an_rank(int64_t n, int pct) {
  int64_t k = (n * pct + 99) / 100; /* ceil(n * pct / 100), 1-based */
  return k < 1 ? 0 : k > n ? n - 1 : k - 1;
}

/* A count and two single-row reads at an offset (the index keeps them in delay order),
 * so a stream with many viewers never ships its whole viewer list to compute two figures. */
int an_delay_summary(vz_db *db, int64_t stream_id, int64_t now, an_delay *out) {
  static const char *const at_rank =
      "SELECT delay_ms FROM analytics_viewers WHERE stream_id = $1 AND delay_ms IS NOT NULL AND last_seen > $2"
      " ORDER BY delay_ms LIMIT 1 OFFSET $3";
  vz_stmt *st = NULL;
  out->viewers = 0, out->median_ms = out->p90_ms = -1;
  int64_t since = now - an_window_ms();
  int rc = db_run(db, &st,
                  "SELECT COUNT(*) FROM analytics_viewers WHERE stream_id = $1 AND delay_ms IS NOT NULL"
                  " AND last_seen > $2", "ii", stream_id, since);
  out->viewers = rc == DB_ROW ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (!out->viewers) return 0;
  int64_t *dst[2] = { &out->median_ms, &out->p90_ms };
  const int pct[2] = { 50, 90 };
  for (int i = 0; i < 2; i++) {
    st = NULL;
    rc = db_run(db, &st, at_rank, "iii", stream_id, since, an_rank(out->viewers, pct[i]));
    if (rc == DB_ROW) *dst[i] = db_col_int(st, 0);
    if (st) db_finalize(st);
    if (rc < 0) return rc;
  }
  return 0;
}

int an_hls_viewers(vz_db *db, int64_t stream_id, int64_t now, int64_t *n) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "SELECT COUNT(*) FROM analytics_viewers WHERE stream_id = $1 AND in_room = 0 AND last_seen > $2", "ii",
                  stream_id, now - an_window_ms());
  *n = rc == DB_ROW ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

/* Live streams only: a stream that is not live (or unknown) counts nothing, so a late
 * chat message after the end does not change an ended stream's figures. */
static int live_stream(vz_db *db, int64_t stream_id, streams_info *si) {
  int rc = streams_get(db, stream_id, si);
  if (rc == STREAMS_ENOTFOUND) return 0;
  if (rc < 0) return rc;
  return si->status == STREAMS_LIVE;
}

int analytics_count(vz_db *db, int64_t stream_id, int counter, int64_t n) {
  if (n < 1 || n > 1000000 || (counter != ANALYTICS_CHAT_MESSAGE && counter != ANALYTICS_REACTION)) return 0;
  streams_info si;
  int rc = live_stream(db, stream_id, &si);
  if (rc <= 0) return rc;
  int64_t now = db_now_ms();
  if ((rc = an_track(db, &si, now)) < 0) return rc;
  an_delta d = { .chat_messages = counter == ANALYTICS_CHAT_MESSAGE ? n : 0,
                 .reactions = counter == ANALYTICS_REACTION ? n : 0 };
  return an_add(db, stream_id, now, &d);
}

int analytics_viewer_seen(vz_db *db, int64_t stream_id, int64_t user_id) {
  if (user_id <= 0) return 0;
  streams_info si;
  int rc = live_stream(db, stream_id, &si);
  if (rc <= 0) return rc;
  int64_t now = db_now_ms();
  if ((rc = an_track(db, &si, now)) < 0) return rc;
  char key[32];
  snprintf(key, sizeof key, "u:%lld", (long long)user_id);
  vz_stmt *st = NULL;
  /* last_seen 0: a room member is not an HLS viewer until a heartbeat says so */
  rc = db_run(db, &st,
              "INSERT INTO analytics_viewers (stream_id, viewer, first_seen, last_seen, in_room)"
              " VALUES ($1, $2, $3, 0, 1) ON CONFLICT (stream_id, viewer) DO NOTHING",
              "isi", stream_id, key, now);
  int is_new = rc >= 0 && db_changes(st) > 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (!is_new) {
    rc = db_run(db, NULL, "UPDATE analytics_viewers SET in_room = 1 WHERE stream_id = $1 AND viewer = $2", "is",
                stream_id, key);
    return rc < 0 ? rc : 0;
  }
  an_delta d = { .new_viewers = 1 };
  return an_add(db, stream_id, now, &d);
}

long (*an_presence)(int64_t stream_id);

int an_open_streams(vz_db *db, int64_t *ids, int max, int *n) {
  vz_stmt *st = NULL;
  *n = 0;
  int rc = db_run(db, &st, "SELECT stream_id FROM analytics_streams WHERE ended_at IS NULL ORDER BY stream_id LIMIT $1",
                  "i", (int64_t)max);
  while (rc == DB_ROW) {
    ids[(*n)++] = db_col_int(st, 0);
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

int an_sample(vz_db *db, int64_t stream_id, int64_t now) {
  streams_info si;
  int rc = streams_get(db, stream_id, &si);
  if (rc < 0 && rc != STREAMS_ENOTFOUND) return rc;
  vz_stmt *st = NULL;
  int r2 = db_run(db, &st,
                  "SELECT host_id, started_at, sampled_at, followers_gained, peak_viewers FROM analytics_streams"
                  " WHERE stream_id = $1",
                  "i", stream_id);
  int64_t host = 0, started = 0, prev = 0, followers_before = 0, peak = 0;
  if (r2 == DB_ROW) {
    host = db_col_int(st, 0);
    started = db_col_int(st, 1);
    prev = db_col_int(st, 2);
    followers_before = db_col_int(st, 3);
    peak = db_col_int(st, 4);
  }
  if (st) db_finalize(st);
  if (r2 < 0) return r2;
  if (r2 != DB_ROW) return 0;
  int live = rc == 0 && si.status == STREAMS_LIVE;
  /* followers: one index count, kept as a delta so each minute shows its own gain */
  int64_t followers = followers_before;
  if ((rc = users_followers_since(db, host, started, &followers)) < 0) return rc;
  an_delta d = { .followers = followers - followers_before };
  if (!live) {
    int64_t ended = rc == 0 && si.ended_at ? si.ended_at : now;
    if (d.followers && (rc = an_add(db, stream_id, now, &d)) < 0) return rc;
    rc = db_run(db, NULL,
                "UPDATE analytics_streams SET ended_at = $2, current_viewers = 0, room_viewers = 0, hls_viewers = 0,"
                " sampled_at = $3, updated_at = $3 WHERE stream_id = $1",
                "iii", stream_id, ended, now);
    return rc < 0 ? rc : 0;
  }
  int64_t room = an_presence ? an_presence(stream_id) : 0, hls = 0;
  if (room < 0) room = 0;
  if ((rc = an_hls_viewers(db, stream_id, now, &hls)) < 0) return rc;
  int64_t cur = room + hls;
  d.sampled = 1;
  d.viewers = cur;
  d.watch_ms = room * an_sample_dt(prev, now, analytics_conf.sample_ms);
  if ((rc = an_add(db, stream_id, now, &d)) < 0) return rc;
  rc = db_run(db, NULL,
              "UPDATE analytics_streams SET current_viewers = $2, room_viewers = $3, hls_viewers = $4,"
              " peak_viewers = $5, sampled_at = $6 WHERE stream_id = $1",
              "iiiiii", stream_id, cur, room, hls, cur > peak ? cur : peak, now);
  if (rc < 0) return rc;
  /* streams orders its live feed by this and keeps its own peak */
  rc = streams_set_viewers(db, stream_id, cur);
  return rc < 0 && rc != STREAMS_ENOTFOUND ? rc : 0;
}
