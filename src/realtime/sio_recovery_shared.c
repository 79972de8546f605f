/* sio_recovery_shared: the cross-instance store behind connection state recovery.
 *
 * Why one stream for all rooms: its ids give every packet of every instance one order,
 * and each instance's follower hands them to its loops in that order (FIFO post
 * queues), so "everything after my last offset" means the same on every instance. A
 * reconnecting client's missed packets are the entries after its offset that belong to
 * its rooms and did not skip its socket. The follower also keeps every entry in the
 * local history (sio.c), which serves most recoveries; the range read here is for the
 * rest. The race with packets in flight is closed by the reading order: the range is
 * read after the follower saw everything it has posted, so packets the loop has yet to
 * run are either in the range (skipped live: min_seq) or newer than all of it.
 *
 * Appends. Emitters (io loops, workers) only queue; one appender thread takes whatever
 * has queued up and sends it as one pipeline of XADDs (cache_stream_add_many). The queue
 * is FIFO, so one emitter's packets keep their order in the stream; a loop never waits
 * on Redis, and a burst costs one round trip instead of one each. Before the thread runs
 * (or after it stopped), appends are synchronous on the caller's thread.
 *
 * Entry fields: 0 the room key ("nsp\x1froom"), 1 the socket id the emit skipped, 2 the
 * encoded Engine.IO packet without its offset. Sessions: "vz:sio:sess:<pid>" holding
 * {"sid", "uid", "keys"} with the window as TTL, read and checked for ownership first,
 * then taken with GETDEL so two instances cannot both restore one session. */
#include "realtime/sio_recovery_shared.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "core/log.h"

#define APPEND_BATCH 256

static sio_rec_shared_fn deliver_fn;
static sio_rec_lost_fn lost_fn;
static atomic_ullong last_id;
static atomic_int following;

typedef struct pending {
  struct pending *next;
  ws_buf *b;
  size_t klen;
  char except[21];
  char key[];
} pending;

static pthread_mutex_t amu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acv = PTHREAD_COND_INITIALIZER;
static pending *ahead, **atail = &ahead;
static size_t aqueued;
static int arunning, astop;
static pthread_t athread;

void sio_rec_shared_enable(sio_rec_shared_fn deliver, sio_rec_lost_fn lost) {
  deliver_fn = deliver;
  lost_fn = lost;
}
int sio_rec_shared_enabled(void) { return deliver_fn != NULL; }
uint64_t sio_rec_shared_last(void) { return atomic_load(&last_id); }
uint64_t sio_rec_shared_since(void) { return cache_stream_follow_since(); }

static int on_entry(const cache_entry *e, void *unused) {
  (void)unused;
  if (!e->v[0] || !e->v[2]) return 0;
  char except[21] = "";
  if (e->v[1] && e->len[1] < sizeof except) memcpy(except, e->v[1], e->len[1]);
  atomic_store(&last_id, e->id);
  deliver_fn(e->id, e->v[0], e->len[0], except, e->v[2], e->len[2], e->replayed);
  return 0;
}

/* Sends up to n queued packets in one pipeline; hands the ones Redis did not take to
 * lost_fn. Frees the list. */
static void append_batch(pending *list, int n) {
  cache_entry e[APPEND_BATCH];
  uint64_t ids[APPEND_BATCH];
  pending *p = list;
  for (int i = 0; i < n; i++, p = p->next) {
    e[i] = (cache_entry){ .n = 3, .v = { p->key, p->except, (const char *)p->b->data },
                          .len = { p->klen, strlen(p->except), p->b->len } };
  }
  int taken = cache_stream_add_many(SIO_REC_SHARED_STREAM, SIO_REC_SHARED_MAXLEN, n, e, ids);
  for (int i = 0; list; i++) {
    p = list;
    list = p->next;
    if (i >= taken && lost_fn) lost_fn(p->key, p->klen, p->except, p->b);
    ws_buf_unref(p->b);
    free(p);
  }
}

static void *appender(void *unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&amu);
    while (!ahead && !astop) pthread_cond_wait(&acv, &amu);
    if (!ahead) { /* stopping, and everything is sent */
      pthread_mutex_unlock(&amu);
      break;
    }
    pending *list = ahead, *last = ahead;
    int n = 1;
    while (n < APPEND_BATCH && last->next) { last = last->next; n++; }
    ahead = last->next;
    if (!ahead) atail = &ahead;
    last->next = NULL;
    aqueued -= (size_t)n;
    pthread_mutex_unlock(&amu);
    append_batch(list, n);
  }
  return NULL;
}

static void appender_stop(void) {
  pthread_mutex_lock(&amu);
  astop = 1;
  pthread_cond_signal(&acv);
  int joined = arunning;
  arunning = 0;
  pthread_mutex_unlock(&amu);
  if (joined) pthread_join(athread, NULL); /* it sends what is queued first */
}

int sio_rec_shared_follow(void) {
  if (!deliver_fn || atomic_exchange(&following, 1)) return 0;
  pthread_mutex_lock(&amu);
  astop = 0;
  arunning = pthread_create(&athread, NULL, appender, NULL) == 0;
  pthread_mutex_unlock(&amu);
  /* the recovery window before this instance started, for clients that come back here */
  if (cache_stream_follow(SIO_REC_SHARED_STREAM, SIO_REC_WINDOW_MS, on_entry, NULL) < 0) {
    appender_stop();
    atomic_store(&following, 0);
    return -1;
  }
  return 0;
}

void sio_rec_shared_stop(void) {
  if (!atomic_exchange(&following, 0)) return;
  appender_stop();
  cache_stream_unfollow();
}

int sio_rec_shared_append(const char *key, size_t klen, const char *except_sid, ws_buf *b) {
  pending *p = malloc(sizeof *p + klen + 1);
  if (!p) return -1;
  p->next = NULL;
  p->b = b;
  p->klen = klen;
  memcpy(p->key, key, klen);
  p->key[klen] = 0;
  snprintf(p->except, sizeof p->except, "%s", except_sid ? except_sid : "");
  ws_buf_ref(b);
  pthread_mutex_lock(&amu);
  if (arunning && aqueued >= SIO_REC_SHARED_QUEUE_MAX) { /* Redis is not keeping up */
    pthread_mutex_unlock(&amu);
    ws_buf_unref(b);
    free(p);
    return -1;
  }
  if (arunning) {
    *atail = p;
    atail = &p->next;
    aqueued++;
    pthread_cond_signal(&acv);
    pthread_mutex_unlock(&amu);
    return 0;
  }
  pthread_mutex_unlock(&amu);
  append_batch(p, 1); /* no appender (yet, or any more): on this thread */
  return 0;
}

static void sess_key(char *out, size_t n, const char *pid) { snprintf(out, n, "vz:sio:sess:%s", pid); }

int sio_rec_shared_persist(const sio_rec_session *s) {
  json_t *keys = json_array();
  for (int i = 0; i < s->nkeys; i++) json_array_append_new(keys, json_string(s->keys[i]));
  json_t *o = json_pack("{s:s,s:I,s:o}", "sid", s->sid, "uid", (json_int_t)s->user_id, "keys", keys);
  char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!txt) return -1;
  char k[64];
  sess_key(k, sizeof k, s->pid);
  int rc = cache_set(k, txt, strlen(txt), SIO_REC_WINDOW_MS) == CACHE_OK ? 0 : -1;
  free(txt);
  return rc;
}

/* A stored session ({"sid","uid","keys"}) as a sio_rec_session, or NULL. */
static sio_rec_session *session_parse(const char *pid, const char *txt, size_t n) {
  json_t *o = json_loadb(txt, n, 0, NULL);
  const char *sid = json_string_value(json_object_get(o, "sid"));
  json_t *keys = json_object_get(o, "keys");
  sio_rec_session *s = NULL;
  if (!sid || strlen(sid) >= sizeof s->sid || !json_is_array(keys)) goto done;
  if (!(s = calloc(1, sizeof *s)) || !(s->keys = calloc(json_array_size(keys) + 1, sizeof *s->keys))) {
    free(s);
    s = NULL;
    goto done;
  }
  snprintf(s->pid, sizeof s->pid, "%s", pid);
  snprintf(s->sid, sizeof s->sid, "%s", sid);
  s->user_id = json_integer_value(json_object_get(o, "uid"));
  size_t i;
  json_t *jk;
  json_array_foreach(keys, i, jk) {
    const char *key = json_string_value(jk);
    if (!key || !(s->keys[s->nkeys] = strdup(key))) {
      sio_rec_session_free(s);
      s = NULL;
      goto done;
    }
    s->nkeys++;
  }
done:
  json_decref(o);
  return s;
}

/* Ownership before removal: GET and check (sio_rec_owned), and only then GETDEL, whose
 * single winner keeps two instances from restoring one session. A stranger's pid thus
 * reads the session and leaves it for its owner. Between the two steps the key can only
 * have been taken (then NULL) or stored again by its owner's socket, whose value is
 * checked once more. Two round trips, on a recovery only; no script needed. */
sio_rec_session *sio_rec_shared_take(const char *pid, int64_t user_id, const char *nsp) {
  char k[64], *txt = NULL;
  size_t n;
  if (strlen(pid) >= sizeof ((sio_rec_session *)0)->pid) return NULL;
  sess_key(k, sizeof k, pid);
  if (cache_get(k, &txt, &n) != CACHE_OK) return NULL;
  sio_rec_session *s = session_parse(pid, txt, n);
  free(txt);
  int owned = s && sio_rec_owned(s, user_id, nsp);
  sio_rec_session_free(s);
  if (!owned || cache_take(k, &txt, &n) != CACHE_OK) return NULL;
  s = session_parse(pid, txt, n);
  if (s && !sio_rec_owned(s, user_id, nsp)) { /* replaced meanwhile: not ours to take */
    cache_set(k, txt, n, SIO_REC_WINDOW_MS);
    sio_rec_session_free(s);
    s = NULL;
  }
  free(txt);
  return s;
}

typedef struct replay {
  const sio_rec_session *s;
  ws_buf **v;
  size_t n, cap, bytes;
  uint64_t last;
  int failed;
} replay;

static int in_rooms(const sio_rec_session *s, const char *key, size_t klen) {
  for (int i = 0; i < s->nkeys; i++)
    if (strlen(s->keys[i]) == klen && memcmp(s->keys[i], key, klen) == 0) return 1;
  return 0;
}

static int collect(const cache_entry *e, void *arg) {
  replay *r = arg;
  r->last = e->id;
  if (!e->v[0] || !e->v[2] || !in_rooms(r->s, e->v[0], e->len[0])) return 0;
  if (e->v[1] && e->len[1] == strlen(r->s->sid) && memcmp(e->v[1], r->s->sid, e->len[1]) == 0) return 0;
  r->bytes += e->len[2];
  if (r->bytes > SIO_REC_SHARED_MAX_REPLAY) { r->failed = 1; return 1; }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    ws_buf **nv = realloc(r->v, cap * sizeof *nv);
    if (!nv) { r->failed = 1; return 1; }
    r->v = nv;
    r->cap = cap;
  }
  ws_buf *b = sio_rec_with_offset(e->v[2], e->len[2], e->id);
  if (!b) { r->failed = 1; return 1; }
  r->v[r->n++] = b;
  return 0;
}

int sio_rec_shared_missed(const sio_rec_session *s, uint64_t offset, ws_buf ***out, uint64_t *last_seq) {
  replay r = { .s = s, .last = offset };
  *out = NULL;
  int rc = cache_stream_range(SIO_REC_SHARED_STREAM, offset, SIO_REC_SHARED_MAXLEN * 2, collect, &r);
  if (rc != CACHE_OK || r.failed) {
    for (size_t i = 0; i < r.n; i++) ws_buf_unref(r.v[i]);
    free(r.v);
    return -1;
  }
  *out = r.v;
  *last_seq = r.last;
  return (int)r.n;
}
