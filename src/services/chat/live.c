/* chat/live.c: what is broadcast on a clock rather than per action. One ticker thread
 * per instance, every 250 ms:
 *   reactions  taken on the io loop into per-stream counters; each tick adds this
 *              instance's deltas to shared totals (cache counters: Redis across
 *              instances) and to chat_reaction_totals, and one instance per stream per
 *              tick (the first to bump "chat:rxl:<stream>:<tick>") broadcasts the
 *              totals: at most 4 broadcasts a second per room whatever the send rate
 *              or the number of instances.
 *   polls      a vote marks its poll; the tick's winner recounts and broadcasts the
 *              results (same 4/s bound); due polls are closed once a second with
 *              their final counts stored (a conditional UPDATE: one instance wins).
 *   viewers    once a second, for each stream joined on this instance, the presence
 *              count across instances (sio_room_presence), broadcast by one instance
 *              when it changed. Joins and leaves themselves are never broadcast. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "core/config.h"
#include "core/log.h"
#include "lib/clock.h"
#include "realtime/sio.h"
#include "realtime/sio_events.h"
#include "services/analytics/analytics.h"
#include "services/audit/audit.h"
#include "services/chat/chat_int.h"

#define TICK_MS 250
#define MAX_STREAMS 4096
static const char *const kinds[] = { "heart", "fire", "laugh", "wow", "clap", NULL };
#define NKINDS 5

typedef struct live_stream {
  int64_t id;
  uint32_t delta[NKINDS];   /* reactions since the last tick */
  int64_t last_viewers;     /* -1: never sent */
  uint64_t watched_ms;      /* last time the room had members here (or was joined) */
  int64_t dirty_poll;       /* a vote came: results due */
  uint8_t rx_pending;       /* pushed totals but another instance broadcast: try again */
  uint8_t used;
} live_stream;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static live_stream streams[MAX_STREAMS];
static pthread_t thr;
static atomic_int run_flag;

int chat_react_kind(const char *name) {
  for (int i = 0; name && kinds[i]; i++)
    if (strcmp(kinds[i], name) == 0) return i;
  return -1;
}

/* The slot of stream id (created when create), under mu. Open addressing, no deletes
 * while running except by the ticker (which rebuilds nothing: slots are reused once
 * unused, found again by linear probe over used ones). */
static live_stream *slot(int64_t id, int create) {
  size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 52) % MAX_STREAMS;
  live_stream *free_slot = NULL;
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    live_stream *s = &streams[(h + i) % MAX_STREAMS];
    if (s->used && s->id == id) return s;
    if (!s->used && !free_slot) free_slot = s;
    if (!s->used && s->id == 0) break; /* never used: the probe ends here */
  }
  if (!create || !free_slot) return NULL;
  memset(free_slot, 0, sizeof *free_slot);
  free_slot->id = id;
  free_slot->used = 1;
  free_slot->last_viewers = -1;
  free_slot->watched_ms = vz_mono_ms();
  return free_slot;
}

void chat_live_watch(int64_t stream_id) {
  pthread_mutex_lock(&mu);
  live_stream *s = slot(stream_id, 1);
  if (s) s->watched_ms = vz_mono_ms();
  pthread_mutex_unlock(&mu);
}

void chat_react_add(int64_t stream_id, int kind) {
  pthread_mutex_lock(&mu);
  live_stream *s = slot(stream_id, 1);
  if (s) s->delta[kind]++;
  pthread_mutex_unlock(&mu);
}

void chat_poll_touch(int64_t stream_id, int64_t poll_id) {
  pthread_mutex_lock(&mu);
  live_stream *s = slot(stream_id, 1);
  if (s) s->dirty_poll = poll_id;
  pthread_mutex_unlock(&mu);
}

/* 1 when this instance is the one to broadcast what (stream or poll id) in this window. */
static int leader(const char *what, int64_t id, int64_t window) {
  char key[96];
  int64_t v = 0;
  snprintf(key, sizeof key, "chat:%s:%" PRId64 ":%" PRId64, what, id, window);
  if (cache_incrby(key, 1, 5000, &v) < 0) return 1; /* Redis down: this instance's members still hear */
  return v == 1;
}

json_t *chat_poll_json(vz_db *db, int64_t stream_id, int64_t poll_id) {
  vz_stmt *st = NULL;
  int rc = poll_id ? db_run(db, &st, "SELECT id, question, options, closes_at, closed, results FROM chat_polls WHERE id = $1",
                            "i", poll_id)
                   : db_run(db, &st, "SELECT id, question, options, closes_at, closed, results FROM chat_polls"
                            " WHERE stream_id = $1 ORDER BY id DESC LIMIT 1", "i", stream_id);
  if (rc != DB_ROW) { db_finalize(st); return NULL; }
  int64_t id = db_col_int(st, 0), closes = db_col_int(st, 3);
  int closed = (int)db_col_int(st, 4);
  json_t *opts = json_loads(db_col_text(st, 2), 0, NULL);
  json_t *p = json_pack("{s:o,s:s,s:o,s:o,s:b}", "id", vz_json_id(id), "question", db_col_text(st, 1), "options",
                        opts ? opts : json_array(), "closes_at", vz_json_time(closes), "closed", closed);
  db_finalize(st);
  size_t n = json_array_size(json_object_get(p, "options"));
  json_t *counts = json_array();
  int64_t c[5] = { 0 };
  rc = db_run(db, &st, "SELECT choice, count(*) FROM chat_poll_votes WHERE poll_id = $1 GROUP BY choice", "i", id);
  while (rc == DB_ROW) {
    int64_t ch = db_col_int(st, 0);
    if (ch >= 0 && ch < 5) c[ch] = db_col_int(st, 1);
    rc = db_step(st);
  }
  db_finalize(st);
  for (size_t i = 0; i < n && i < 5; i++) json_array_append_new(counts, json_integer(c[i]));
  json_object_set_new(p, "counts", counts);
  return p;
}

static void poll_broadcast(vz_db *db, int64_t stream_id, int64_t poll_id, const char *event) {
  json_t *p = chat_poll_json(db, stream_id, poll_id);
  if (!p) return;
  char room[48];
  chat_room(room, stream_id);
  json_object_set_new(p, "stream_id", vz_json_id(stream_id));
  sio_emit_room(CHAT_NSP, room, event, json_pack("[o]", p));
}

/* Due polls: closed with their final counts, once (the UPDATE that changes the row wins). */
static void close_due(vz_db *db) {
  vz_stmt *st = NULL;
  int64_t ids[64], sids[64];
  int n = 0;
  int rc = db_run(db, &st, "SELECT id, stream_id FROM chat_polls WHERE closed = 0 AND closes_at <= $1 LIMIT 64", "i", db_now_ms());
  while (rc == DB_ROW && n < 64) {
    ids[n] = db_col_int(st, 0);
    sids[n++] = db_col_int(st, 1);
    rc = db_step(st);
  }
  db_finalize(st);
  for (int i = 0; i < n; i++) {
    json_t *p = chat_poll_json(db, sids[i], ids[i]);
    char *res = p ? json_dumps(json_object_get(p, "counts"), JSON_COMPACT) : NULL;
    json_decref(p);
    if (!res) continue;
    rc = db_run(db, &st, "UPDATE chat_polls SET closed = 1, results = $2 WHERE id = $1 AND closed = 0", "is", ids[i], res);
    int won = rc >= 0 && db_changes(st) > 0;
    db_finalize(st);
    free(res);
    if (won) poll_broadcast(db, sids[i], ids[i], "chat:poll_closed");
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

typedef struct work { int64_t id; uint32_t delta[NKINDS]; int rx; int64_t poll; int viewers; } work;

static void tick(vz_db *db, uint64_t n) {
  static work w[MAX_STREAMS];
  int nw = 0, second = n % (1000 / TICK_MS) == 0;
  uint64_t now = vz_mono_ms();
  pthread_mutex_lock(&mu);
  for (int i = 0; i < MAX_STREAMS; i++) {
    live_stream *s = &streams[i];
    if (!s->used) continue;
    work x = { .id = s->id };
    for (int k = 0; k < NKINDS; k++) { x.delta[k] = s->delta[k]; x.rx |= s->delta[k] != 0; s->delta[k] = 0; }
    x.rx |= s->rx_pending;
    x.poll = s->dirty_poll;
    s->dirty_poll = 0;
    x.viewers = second;
    if (second && now - s->watched_ms > 30000 && s->last_viewers <= 0 && !x.rx) { s->used = 0; continue; }
    if (x.rx || x.poll || x.viewers) w[nw++] = x;
  }
  pthread_mutex_unlock(&mu);
  int64_t window = vz_wall_ms() / TICK_MS;
  char room[48], key[96];
  for (int i = 0; i < nw; i++) {
    work *x = &w[i];
    chat_room(room, x->id);
    if (x->rx) {
      json_t *totals = json_object();
      for (int k = 0; k < NKINDS; k++) {
        int64_t v = 0;
        snprintf(key, sizeof key, "chat:rx:%" PRId64 ":%s", x->id, kinds[k]);
        if (x->delta[k]) {
          cache_incrby(key, x->delta[k], 6 * 3600 * 1000LL, &v);
          /* the stream's total and analytics' counter in one transaction (analytics.h) */
          if (db_begin(db) >= 0) {
            int rc = db_run(db, NULL, "INSERT INTO chat_reaction_totals (stream_id, kind, total) VALUES ($1, $2, $3)"
                            " ON CONFLICT (stream_id, kind) DO UPDATE SET total = chat_reaction_totals.total + excluded.total",
                            "isi", x->id, kinds[k], (int64_t)x->delta[k]);
            if (rc >= 0) rc = analytics_count(db, x->id, ANALYTICS_REACTION, x->delta[k]);
            if (rc >= 0) db_commit(db);
            else db_rollback(db);
          }
        } else {
          cache_incrby(key, 0, 0, &v);
        }
        json_object_set_new(totals, kinds[k], json_integer(v));
      }
      int lead = leader("rxl", x->id, window);
      if (lead) sio_emit_room(CHAT_NSP, room, "chat:reactions", json_pack("[{s:o,s:o}]", "stream_id", vz_json_id(x->id), "totals", totals));
      else json_decref(totals);
      pthread_mutex_lock(&mu);
      live_stream *s = slot(x->id, 0);
      if (s) s->rx_pending = !lead && (x->delta[0] | x->delta[1] | x->delta[2] | x->delta[3] | x->delta[4]) != 0;
      pthread_mutex_unlock(&mu);
    }
    if (x->poll && leader("pl", x->poll, window)) poll_broadcast(db, x->id, x->poll, "chat:poll_results");
    if (x->viewers) {
      long v = sio_room_presence(CHAT_NSP, room);
      pthread_mutex_lock(&mu);
      live_stream *s = slot(x->id, 0);
      int changed = s && s->last_viewers != v;
      if (s) {
        s->last_viewers = v;
        if (v > 0) s->watched_ms = now;
      }
      pthread_mutex_unlock(&mu);
      if (changed && leader("vl", x->id, vz_wall_ms() / 1000))
        sio_emit_room(CHAT_NSP, room, "chat:viewers", json_pack("[{s:o,s:i}]", "stream_id", vz_json_id(x->id), "count", (int)v));
    }
  }
  if (second) close_due(db);
}

static void *live_main(void *arg) {
  (void)arg;
  vz_db *db = NULL;
  char err[256];
  for (uint64_t n = 0; atomic_load(&run_flag); n++) {
    uint64_t t0 = vz_mono_ms();
    if (!db && db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) db = NULL;
    if (db) tick(db, n);
    uint64_t took = vz_mono_ms() - t0;
    if (took < TICK_MS) sleep_ms((long)(TICK_MS - took));
  }
  if (db) db_close(db);
  return NULL;
}

int chat_live_start(void) {
  atomic_store(&run_flag, 1);
  if (pthread_create(&thr, NULL, live_main, NULL) != 0) return -1;
  return 0;
}

void chat_live_stop(void) {
  if (!atomic_exchange(&run_flag, 0)) return;
  pthread_join(thr, NULL);
}

/* ---- events --------------------------------------------------------------------------- */

/* chat:react {stream_id, kind}: on the loop, counted; the per-user cap is the row's rate. */
int chat_h_react(vz_req *req) {
  int k = chat_react_kind(json_string_value(json_object_get(req->json, "kind")));
  if (k < 0) return vz_fail(req, 400, "invalid_argument", "kind", "unknown reaction");
  chat_react_add(chat_json_id(req->json, "stream_id"), k);
  return vz_reply_item(req, 202, json_pack("{s:b}", "counted", 1));
}

typedef struct poll_new { vz_req *req; chat_stream s; int64_t id; } poll_new;

static int poll_tx(vz_db *db, void *ctx) {
  poll_new *p = ctx;
  json_t *in = p->req->json;
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT 1 FROM chat_polls WHERE stream_id = $1 AND closed = 0 AND closes_at > $2", "ii", p->s.id, now);
  db_finalize(st);
  if (rc < 0) return rc;
  if (rc == DB_ROW) return vz_fail(p->req, 409, "poll_open", NULL, "end the open poll first"), DB_EABORT;
  char *opts = json_dumps(json_object_get(in, "options"), JSON_COMPACT);
  if (!opts) return DB_ERROR;
  p->id = db_id_new();
  rc = db_run(db, NULL, "INSERT INTO chat_polls (id, stream_id, question, options, created_by, created_at, closes_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7)", "iissiii", p->id, p->s.id,
              json_string_value(json_object_get(in, "question")), opts, p->req->user_id, now,
              now + json_integer_value(json_object_get(in, "duration_s")) * 1000);
  free(opts);
  if (rc < 0) return rc;
  char d[64];
  snprintf(d, sizeof d, "{\"stream_id\":\"%" PRId64 "\"}", p->s.id);
  return audit_record_ip(db, p->req->user_id, "chat.poll", "chat_poll", p->id, d, p->req->ip);
}

int chat_h_poll(vz_req *req) {
  poll_new p = { .req = req };
  if (chat_stream_or_fail(req, &p.s) || chat_mod_or_fail(req, &p.s)) return req->status;
  json_t *opts = json_object_get(req->json, "options");
  if (json_array_size(opts) < 2 || json_array_size(opts) > 5)
    return vz_fail(req, 400, "invalid_argument", "options", "a poll has 2 to 5 options");
  if (vz_tx_or_fail(req, poll_tx, &p) < 0) return req->status;
  json_t *poll = chat_poll_json(req->db, p.s.id, p.id);
  if (!poll) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  char room[48];
  chat_room(room, p.s.id);
  json_object_set_new(poll, "stream_id", vz_json_id(p.s.id));
  sio_emit_room(CHAT_NSP, room, "chat:poll_started", json_pack("[O]", poll));
  return vz_reply_item(req, 201, poll);
}

/* chat:vote {stream_id, poll_id, option}: one vote per signed-in user, changeable until
 * the poll closes (an upsert on (poll, user)). */
int chat_h_vote(vz_req *req) {
  int64_t sid = chat_json_id(req->json, "stream_id"), pid = chat_json_id(req->json, "poll_id");
  int64_t opt = json_integer_value(json_object_get(req->json, "option"));
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT options, closed, closes_at FROM chat_polls WHERE id = $1 AND stream_id = $2", "ii", pid, sid);
  size_t nopts = 0;
  int open = 0;
  if (rc == DB_ROW) {
    json_t *o = json_loads(db_col_text(st, 0), 0, NULL);
    nopts = json_array_size(o);
    json_decref(o);
    open = !db_col_int(st, 1) && db_col_int(st, 2) > db_now_ms();
  }
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "poll_id", "no such poll");
  if (!open) return vz_fail(req, 409, "poll_closed", "poll_id", "the poll is closed");
  if (opt < 0 || (size_t)opt >= nopts) return vz_fail(req, 400, "invalid_argument", "option", "no such option");
  rc = db_run(req->db, NULL, "INSERT INTO chat_poll_votes (poll_id, user_id, choice, updated_at) VALUES ($1, $2, $3, $4)"
              " ON CONFLICT (poll_id, user_id) DO UPDATE SET choice = excluded.choice, updated_at = excluded.updated_at",
              "iiii", pid, req->user_id, opt, db_now_ms());
  if (rc < 0) return vz_fail_db(req, rc);
  chat_poll_touch(sid, pid);
  return vz_reply_item(req, 200, json_pack("{s:o,s:I}", "poll_id", vz_json_id(pid), "option", (json_int_t)opt));
}

/* chat:poll_end {stream_id, poll_id}: closes it now (the ticker stores the result). */
int chat_h_poll_end(vz_req *req) {
  chat_stream s;
  if (chat_stream_or_fail(req, &s) || chat_mod_or_fail(req, &s)) return req->status;
  int64_t pid = chat_json_id(req->json, "poll_id");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "UPDATE chat_polls SET closes_at = $3 WHERE id = $1 AND stream_id = $2 AND closed = 0", "iii", pid,
                  s.id, db_now_ms());
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!n) return vz_fail(req, 404, "not_found", "poll_id", "no open poll with that id");
  char d[64];
  snprintf(d, sizeof d, "{\"stream_id\":\"%" PRId64 "\"}", s.id);
  audit_record_ip(req->db, req->user_id, "chat.poll_end", "chat_poll", pid, d, req->ip);
  return vz_reply_item(req, 200, json_pack("{s:o,s:b}", "poll_id", vz_json_id(pid), "closing", 1));
}
