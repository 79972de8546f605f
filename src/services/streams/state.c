/* streams/state.c: the state machine and the lookups other services use (streams.h).
 * Every move is one conditional UPDATE on the status it leaves ("... WHERE status =
 * 'scheduled'"), so two racing moves cannot both win: the loser changes no row and is
 * told STREAMS_ECONFLICT. One live stream per host is the partial unique index
 * streams_one_live (migration 450), not a read-then-write. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "core/log.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "lib/base64.h"
#include "services/streams/internal.h"

static const char *const status_names[] = { NULL, "scheduled", "live", "ended", "cancelled" };

const char *streams_status_name(int s) {
  return s >= STREAMS_SCHEDULED && s <= STREAMS_CANCELLED ? status_names[s] : "?";
}

int streams_status_parse(const char *s) {
  for (int i = STREAMS_SCHEDULED; s && i <= STREAMS_CANCELLED; i++)
    if (!strcmp(s, status_names[i])) return i;
  return 0;
}

int streams_transition_ok(int from, int to) {
  return (from == STREAMS_SCHEDULED && (to == STREAMS_LIVE || to == STREAMS_CANCELLED)) ||
         (from == STREAMS_LIVE && to == STREAMS_ENDED);
}

int streams_key_new(char key[STREAMS_KEY_LEN + 1], char hash[STREAMS_KEY_HASH_HEX]) {
  unsigned char raw[28]; /* 224 bits: far past guessing; 38 base64url characters */
  randombytes_buf(raw, sizeof raw);
  memcpy(key, "live_", 5);
  long n = vz_b64_encode(raw, sizeof raw, key + 5, STREAMS_KEY_LEN + 1 - 5, VZ_B64_URL);
  sodium_memzero(raw, sizeof raw);
  if (n != STREAMS_KEY_LEN - 5) return -1;
  streams_key_hash(key, hash);
  return 0;
}

void streams_key_hash(const char *key, char hash[STREAMS_KEY_HASH_HEX]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
  sodium_bin2hex(hash, STREAMS_KEY_HASH_HEX, h, sizeof h);
}

int streams_by_key(vz_db *db, const char *key, int64_t *id) {
  /* Only the hash is stored and looked up: the index compares hashes, so lookup time says
   * nothing about how much of a guessed key was right. */
  if (!key || strlen(key) != STREAMS_KEY_LEN || strncmp(key, "live_", 5)) return STREAMS_ENOTFOUND;
  char hash[STREAMS_KEY_HASH_HEX];
  streams_key_hash(key, hash);
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT id FROM streams WHERE key_hash = $1", "s", hash);
  if (rc == DB_ROW) *id = db_col_int(st, 0);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW ? 0 : STREAMS_ENOTFOUND;
}

int streams_by_client(vz_db *db, const char *client, int64_t *id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT ss.stream_id FROM stream_sessions ss JOIN streams s ON s.id = ss.stream_id"
                  " WHERE s.status = 'live' AND ss.ended_at IS NULL AND ss.source = 'rtmp' AND ss.client_id = $1"
                  " ORDER BY ss.id DESC LIMIT 1", "s", client);
  if (rc == DB_ROW) *id = db_col_int(st, 0);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW ? 0 : STREAMS_ENOTFOUND;
}

#define INFO_COLS "s.id, s.host_id, s.status, s.visibility, s.category_id, s.scheduled_at, s.started_at," \
                  " s.ended_at, s.viewers, s.peak_viewers, s.title," \
                  " (SELECT ss.id FROM stream_sessions ss WHERE ss.stream_id = s.id AND ss.ended_at IS NULL), s.thumbnail_media_id"

static int info_of(vz_db *db, const char *sql, int64_t arg, streams_info *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, sql, "i", arg);
  if (rc == DB_ROW) {
    memset(out, 0, sizeof *out);
    out->id = db_col_int(st, 0);
    out->host_id = db_col_int(st, 1);
    out->status = streams_status_parse(db_col_text(st, 2));
    const char *v = db_col_text(st, 3);
    out->visibility = v && !strcmp(v, "followers") ? STREAMS_FOLLOWERS : STREAMS_PUBLIC;
    out->category_id = db_col_is_null(st, 4) ? 0 : db_col_int(st, 4);
    out->scheduled_at = db_col_int(st, 5);
    out->started_at = db_col_is_null(st, 6) ? 0 : db_col_int(st, 6);
    out->ended_at = db_col_is_null(st, 7) ? 0 : db_col_int(st, 7);
    out->viewers = db_col_int(st, 8);
    out->peak_viewers = db_col_int(st, 9);
    const char *t = db_col_text(st, 10);
    snprintf(out->title, sizeof out->title, "%s", t ? t : "");
    out->session_id = db_col_is_null(st, 11) ? 0 : db_col_int(st, 11);
    out->thumbnail_media_id = db_col_is_null(st, 12) ? 0 : db_col_int(st, 12);
  }
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW ? 0 : STREAMS_ENOTFOUND;
}

int streams_get(vz_db *db, int64_t id, streams_info *out) {
  return info_of(db, "SELECT " INFO_COLS " FROM streams s WHERE s.id = $1", id, out);
}

int streams_live_of_host(vz_db *db, int64_t host_id, streams_info *out) {
  return info_of(db, "SELECT " INFO_COLS " FROM streams s WHERE s.host_id = $1 AND s.status = 'live'", host_id, out);
}

int streams_can_view(vz_db *db, const streams_info *s, int64_t viewer_id, int is_admin) {
  if (is_admin || (viewer_id && viewer_id == s->host_id)) return 1;
  vz_stmt *st = NULL;
  int rc;
  if (viewer_id) {
    /* a block either way hides the stream, whatever its visibility */
    rc = db_run(db, &st, "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2)"
                " OR (blocker_id = $2 AND blocked_id = $1)", "ii", s->host_id, viewer_id);
    db_finalize(st);
    if (rc < 0) return rc;
    if (rc == DB_ROW) return 0;
  }
  if (s->visibility == STREAMS_PUBLIC) return 1;
  if (!viewer_id) return 0;
  st = NULL;
  rc = db_run(db, &st, "SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2", "ii", viewer_id,
              s->host_id);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

int streams_set_viewers(vz_db *db, int64_t id, int64_t viewers) {
  if (viewers < 0) viewers = 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE streams SET viewers = $2, feed_pos = $2,"
                  " peak_viewers = CASE WHEN peak_viewers < $2 THEN $2 ELSE peak_viewers END"
                  " WHERE id = $1 AND status = 'live'", "ii", id, viewers);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  return rc < 0 ? rc : n ? 0 : STREAMS_ENOTFOUND;
}

/* ---- go live / publisher gone / end ------------------------------------------------- */

typedef struct open_session {
  int64_t id, disconnected_at;
  char client[96];
} open_session;

static int session_open(vz_db *db, int64_t stream_id, open_session *o) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT id, disconnected_at, client_id FROM stream_sessions"
                  " WHERE stream_id = $1 AND ended_at IS NULL", "i", stream_id);
  if (rc == DB_ROW) {
    o->id = db_col_int(st, 0);
    o->disconnected_at = db_col_is_null(st, 1) ? 0 : db_col_int(st, 1);
    const char *c = db_col_text(st, 2);
    snprintf(o->client, sizeof o->client, "%s", c ? c : "");
  }
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW ? 0 : STREAMS_ENOTFOUND;
}

int streams_go_live(vz_db *db, int64_t id, const char *source, const char *client, int *resumed) {
  streams_info s;
  int rc = streams_get(db, id, &s);
  if (resumed) *resumed = 0;
  if (rc < 0) return rc;
  int64_t now = db_now_ms();
  if (s.status == STREAMS_LIVE) {
    open_session o;
    if ((rc = session_open(db, id, &o)) < 0) return rc == STREAMS_ENOTFOUND ? STREAMS_ECONFLICT : rc;
    if (!o.disconnected_at) /* someone publishes now: the same one asking again is fine */
      return client && !strcmp(o.client, client) ? 0 : STREAMS_ECONFLICT;
    /* past the grace the stream is over even if the job that ends it has not run yet */
    if (now - o.disconnected_at > (int64_t)streams_conf.grace_s * 1000) return STREAMS_ECONFLICT;
    rc = db_run(db, NULL, "UPDATE stream_sessions SET disconnected_at = NULL, client_id = $2,"
                " reconnects = reconnects + 1 WHERE id = $1", "is", o.id, client);
    if (rc < 0) return rc;
    if (resumed) *resumed = 1;
    return 0;
  }
  if (!streams_transition_ok(s.status, STREAMS_LIVE)) return STREAMS_ECONFLICT;
  vz_stmt *st = NULL;
  rc = db_run(db, &st, "UPDATE streams SET status = 'live', started_at = $2, source = $3, viewers = 0,"
              " feed_pos = 0, updated_at = $2 WHERE id = $1 AND status = 'scheduled'", "iis", id, now, source);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc == DB_ECONSTRAINT) return STREAMS_ECONFLICT; /* the host is live elsewhere */
  if (rc < 0) return rc;
  if (!n) return STREAMS_ECONFLICT;
  int64_t sid = db_id_new();
  rc = db_run(db, NULL, "INSERT INTO stream_sessions (id, stream_id, source, client_id, started_at)"
              " VALUES ($1, $2, $3, $4, $5)", "iissi", sid, id, source, client, now);
  if (rc < 0) return rc;
  vz_ev_stream_live ev = { .stream_id = id, .host_id = s.host_id, .session_id = sid, .started_at = now,
                           .source = source, .title = s.title, .visibility = s.visibility };
  rc = vz_event_emit(db, VZ_EV_STREAM_LIVE, &ev);
  if (rc < 0) return rc;
  vz_log_info("stream live", "stream", s.title, "source", source);
  return 0;
}

int streams_publisher_gone(vz_db *db, int64_t id, const char *client) {
  open_session o;
  int rc = session_open(db, id, &o);
  if (rc < 0) return rc == STREAMS_ENOTFOUND ? 0 : rc;
  if (o.disconnected_at || !client || strcmp(o.client, client)) return 0; /* not the current publisher */
  int64_t now = db_now_ms();
  rc = db_run(db, NULL, "UPDATE stream_sessions SET disconnected_at = $2 WHERE id = $1", "ii", o.id, now);
  if (rc < 0) return rc;
  /* The job looks again when the grace is over: the stream ends unless the same
   * disconnect is still the last one (a resumed and dropped-again session has a newer). */
  char payload[128];
  snprintf(payload, sizeof payload, "{\"stream_id\":%lld,\"session_id\":%lld,\"disconnected_at\":%lld}",
           (long long)id, (long long)o.id, (long long)now);
  rc = jobs_enqueue(db, STREAMS_Q_GRACE, payload, now + (int64_t)streams_conf.grace_s * 1000, NULL, NULL);
  return rc < 0 ? rc : 0;
}

static void drop_after_commit(void *arg) {
  streams_ingest_drop(arg);
  free(arg);
}

int streams_drop_after_commit(vz_db *db, int64_t id) {
  open_session o;
  int rc = session_open(db, id, &o);
  if (rc == STREAMS_ENOTFOUND || (rc == 0 && (o.disconnected_at || !o.client[0]))) return 0;
  if (rc < 0) return rc;
  char *arg = strdup(o.client);
  if (arg && db_after_commit(db, drop_after_commit, arg, free) < 0) free(arg);
  return 0;
}

int streams_end(vz_db *db, int64_t id, const char *reason) {
  streams_info s;
  int rc = streams_get(db, id, &s);
  if (rc < 0) return rc;
  if (!streams_transition_ok(s.status, STREAMS_ENDED)) return STREAMS_ECONFLICT;
  /* an encoder still pushing is cut off once this is final (hooks refuse it from now on) */
  if ((rc = streams_drop_after_commit(db, id)) < 0) return rc;
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  rc = db_run(db, &st, "UPDATE streams SET status = 'ended', ended_at = $2, feed_pos = $2, viewers = 0,"
              " updated_at = $2 WHERE id = $1 AND status = 'live'", "ii", id, now);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) return STREAMS_ECONFLICT;
  if (s.session_id) {
    if ((rc = db_run(db, NULL, "UPDATE stream_sessions SET ended_at = $2 WHERE id = $1", "ii", s.session_id, now)) < 0)
      return rc;
    /* The recording is finalised by a job: remuxing takes seconds, and the files are not
     * complete until nginx has closed them (the publisher may still be connected now). */
    if ((rc = db_run(db, NULL, "INSERT INTO stream_recordings (id, stream_id, session_id, status, created_at,"
                     " updated_at) VALUES ($1, $2, $3, 'pending', $4, $4)", "iiii", db_id_new(), id, s.session_id,
                     now)) < 0)
      return rc;
    char payload[96];
    snprintf(payload, sizeof payload, "{\"stream_id\":%lld,\"session_id\":%lld}", (long long)id,
             (long long)s.session_id);
    char key[48];
    snprintf(key, sizeof key, "rec-%lld", (long long)s.session_id);
    if ((rc = jobs_enqueue(db, STREAMS_Q_RECORDING, payload, now + 1000, key, NULL)) < 0) return rc;
  }
  vz_ev_stream_ended ev = { .stream_id = id, .host_id = s.host_id, .session_id = s.session_id,
                            .started_at = s.started_at, .ended_at = now, .peak_viewers = s.peak_viewers,
                            .reason = reason };
  return vz_event_emit(db, VZ_EV_STREAM_ENDED, &ev);
}

/* The grace is over: end the stream if that disconnect is still the last word. */
int streams_job_grace(vz_db *db, const jobs_job *job, char *err, size_t n) {
  json_t *p = json_loads(job->payload, 0, NULL);
  int64_t id = json_integer_value(json_object_get(p, "stream_id"));
  int64_t sid = json_integer_value(json_object_get(p, "session_id"));
  int64_t at = json_integer_value(json_object_get(p, "disconnected_at"));
  json_decref(p);
  if (!id || !sid) return 0; /* nothing this build can act on: done, not retried */
  int rc = db_begin(db);
  if (rc < 0) goto fail;
  open_session o;
  rc = session_open(db, id, &o);
  if (rc == 0 && o.id == sid && o.disconnected_at == at) rc = streams_end(db, id, "encoder_gone");
  else if (rc == STREAMS_ENOTFOUND) rc = 0;
  if (rc == STREAMS_ECONFLICT) rc = 0;
  if (rc < 0) { db_rollback(db); goto fail; }
  if ((rc = db_commit(db)) < 0) goto fail;
  return 0;
fail:
  snprintf(err, n, "ending stream %lld after the grace failed (%d)", (long long)id, rc);
  return -1;
}

/* ---- other services' events -------------------------------------------------------------- */

/* An account deleted or suspended: its live stream ends now (the encoder is cut off) and
 * its planned ones are cancelled, in the same transaction as the change. */
static int host_gone(vz_db *db, int64_t uid) {
  streams_info si;
  int rc = streams_live_of_host(db, uid, &si);
  if (rc == 0) rc = streams_end(db, si.id, "admin");
  if (rc < 0 && rc != STREAMS_ENOTFOUND && rc != STREAMS_ECONFLICT) return rc;
  int64_t now = db_now_ms();
  rc = db_run(db, NULL, "UPDATE streams SET status = 'cancelled', feed_pos = $2, updated_at = $2"
              " WHERE host_id = $1 AND status = 'scheduled'", "ii", uid, now);
  return rc < 0 ? rc : 0;
}

static int on_user_deleted(vz_db *db, const vz_event *ev) { return host_gone(db, ev->user_deleted.user_id); }
static int on_user_suspended(vz_db *db, const vz_event *ev) { return host_gone(db, ev->user_suspended.user_id); }

const vz_subscription streams_on[] = {
  { VZ_EV_USER_DELETED, on_user_deleted, VZ_EV_IN_TX },
  { VZ_EV_USER_SUSPENDED, on_user_suspended, VZ_EV_IN_TX },
  { 0 },
};
