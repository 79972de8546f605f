/* stream.c: an ordered log shared by every instance, on Redis Streams (see cache.h).
 *
 * Appends go through the calling thread's command connection (XADD with approximate
 * MAXLEN trimming: Redis drops whole macro-nodes, which is cheap). Ranges are read in
 * pages with XRANGE. The follower is one thread with its own blocking connection that
 * loops on XREAD BLOCK from the last id it handed over, so a dropped connection or a
 * Redis restart loses nothing that Redis still holds: it reconnects with backoff and goes
 * on from where it was (pub/sub, by contrast, forgets what was sent meanwhile). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_int.h"
#include "core/log.h"

#define PAGE 512
#define FOLLOW_BLOCK_MS "2000"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SEQ_BITS 22

static const char *const field_names[CACHE_STREAM_MAX_FIELDS] = { "0", "1", "2", "3" };

/* "<ms>-<seq>" <-> ms << 22 | seq. 42 bits of milliseconds last until 2109; 4 million
 * entries within one millisecond are beyond what one Redis appends. */
int cache_stream_id_parse(const char *s, uint64_t *id) {
  unsigned long long ms, seq;
  char tail;
  if (!s || sscanf(s, "%llu-%llu%c", &ms, &seq, &tail) != 2) return -1;
  if (ms >> (64 - SEQ_BITS) || seq >> SEQ_BITS) return -1;
  *id = (uint64_t)ms << SEQ_BITS | seq;
  return 0;
}

void cache_stream_id_format(uint64_t id, char out[CACHE_STREAM_ID_LEN]) {
  snprintf(out, CACHE_STREAM_ID_LEN, "%" PRIu64 "-%" PRIu64, id >> SEQ_BITS,
           id & (((uint64_t)1 << SEQ_BITS) - 1));
}

/* XADD stream MAXLEN ~ max * 0 v0 1 v1 ... into argv/lens (6 + 2n slots). */
static int xadd_args(const char *stream, const char *max, int n, const char *const *v, const size_t *len,
                     const char **argv, size_t *lens) {
  const char *head[] = { "XADD", stream, "MAXLEN", "~", max, "*" };
  int argc = 0;
  for (int i = 0; i < 6; i++) {
    argv[argc] = head[i];
    lens[argc++] = strlen(head[i]);
  }
  for (int i = 0; i < n; i++) {
    argv[argc] = field_names[i];
    lens[argc++] = 1;
    argv[argc] = v[i] ? v[i] : "";
    lens[argc++] = len[i];
  }
  return argc;
}

int cache_stream_add(const char *stream, size_t maxlen, int n, const char *const *v,
                     const size_t *len, uint64_t *id) {
  cache_entry e = { .n = n };
  if (n < 1 || n > CACHE_STREAM_MAX_FIELDS) return CACHE_ERROR;
  for (int i = 0; i < n; i++) {
    e.v[i] = v[i];
    e.len[i] = len[i];
  }
  int rc = cache_stream_add_many(stream, maxlen, 1, &e, id);
  return rc == 1 ? CACHE_OK : rc < 0 ? rc : CACHE_EUNAVAILABLE;
}

int cache_stream_add_many(const char *stream, size_t maxlen, int n, const cache_entry *e, uint64_t *ids) {
  enum { ARGS = 6 + 2 * CACHE_STREAM_MAX_FIELDS };
  char max[24];
  if (!stream || n < 1) return CACHE_ERROR;
  for (int i = 0; i < n; i++)
    if (e[i].n < 1 || e[i].n > CACHE_STREAM_MAX_FIELDS) return CACHE_ERROR;
  if (!cache_kv_target.on) return CACHE_EUNAVAILABLE;
  snprintf(max, sizeof max, "%zu", maxlen);
  const char **argv = malloc((size_t)n * ARGS * sizeof *argv);
  size_t *lens = malloc((size_t)n * ARGS * sizeof *lens);
  int *argc = malloc((size_t)n * sizeof *argc);
  const char ***av = malloc((size_t)n * sizeof *av);
  const size_t **lv = malloc((size_t)n * sizeof *lv);
  redisReply **out = malloc((size_t)n * sizeof *out);
  int rc = CACHE_ERROR;
  if (!argv || !lens || !argc || !av || !lv || !out) goto done;
  for (int i = 0; i < n; i++) {
    av[i] = argv + i * ARGS;
    lv[i] = lens + i * ARGS;
    argc[i] = xadd_args(stream, max, e[i].n, e[i].v, e[i].len, argv + i * ARGS, lens + i * ARGS);
  }
  int got = cache_redis_pipeline(&cache_kv_target, n, argc, (const char *const *const *)av, lv, out);
  if (got < 0) { rc = got; goto done; }
  rc = 0; /* entries taken, in order: the first failure ends the count */
  for (int i = 0; i < got; i++) {
    if (rc == i && out[i]->type == REDIS_REPLY_STRING && cache_stream_id_parse(out[i]->str, &ids[i]) == 0) rc++;
    freeReplyObject(out[i]);
  }
done:
  free(argv);
  free(lens);
  free(argc);
  free(av);
  free(lv);
  free(out);
  return rc;
}

/* One [id, [name, value, ...]] element of an XRANGE / XREAD reply. */
static int entry_from(const redisReply *e, cache_entry *out) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) return -1;
  const redisReply *f = e->element[1];
  if (cache_stream_id_parse(e->element[0]->str, &out->id) < 0 || f->type != REDIS_REPLY_ARRAY) return -1;
  memset(out->v, 0, sizeof out->v);
  memset(out->len, 0, sizeof out->len);
  out->n = out->replayed = 0;
  for (size_t i = 0; i + 1 < f->elements; i += 2) {
    const redisReply *k = f->element[i], *val = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING || k->len != 1) continue;
    int at = k->str[0] - '0';
    if (at < 0 || at >= CACHE_STREAM_MAX_FIELDS) continue;
    out->v[at] = val->str;
    out->len[at] = val->len;
    if (at + 1 > out->n) out->n = at + 1;
  }
  return 0;
}

int cache_stream_range(const char *stream, uint64_t after, size_t max, cache_entry_fn fn, void *arg) {
  char start[CACHE_STREAM_ID_LEN + 1], count[16];
  int first_page = 1;
  size_t seen = 0;
  if (!stream || !fn) return CACHE_ERROR;
  if (!cache_kv_target.on) return CACHE_EUNAVAILABLE;
  snprintf(count, sizeof count, "%d", PAGE);
  cache_stream_id_format(after, start); /* inclusive: the first entry proves `after` is kept */
  for (;;) {
    const char *argv[] = { "XRANGE", stream, start, "+", "COUNT", count };
    redisReply *r = cache_redis_argv(&cache_kv_target, 6, argv, NULL);
    if (!r) return CACHE_EUNAVAILABLE;
    if (r->type != REDIS_REPLY_ARRAY) { freeReplyObject(r); return CACHE_ERROR; }
    size_t i = 0;
    int rc = CACHE_OK, stop = 0;
    cache_entry e;
    if (first_page) {
      if (r->elements == 0 || entry_from(r->element[0], &e) < 0 || e.id != after) rc = CACHE_MISS;
      i = 1;
      first_page = 0;
    }
    for (; rc == CACHE_OK && !stop && i < r->elements; i++) {
      if (entry_from(r->element[i], &e) < 0) continue;
      if (++seen > max) { rc = CACHE_ERROR; break; }
      stop = fn(&e, arg) != 0;
      cache_stream_id_format(e.id, start + 1);
      start[0] = '('; /* exclusive from here on (Redis 6.2+) */
    }
    size_t got = r->elements;
    freeReplyObject(r);
    if (rc != CACHE_OK || stop || got < PAGE) return rc;
  }
}

/* ---- the follower ---------------------------------------------------------------------- */

static cache_bg fol = CACHE_BG_INIT;
static char fstream[128];
static cache_entry_fn ffn;
static void *farg;
static uint64_t flast;
static int fhave_last, fbackfilled;
static int64_t fbackfill_ms;
static atomic_ullong fsince = UINT64_MAX; /* every entry from this id on is delivered */
static atomic_llong log_follow;

/* The newest id in the stream (0 when empty): where a new follower starts. */
static int newest_id(redisContext *c, uint64_t *id) {
  redisReply *r = c ? redisCommand(c, "XREVRANGE %s + - COUNT 1", fstream)
                    : cache_redis_argv(&cache_kv_target, 6,
                                       (const char *[]){ "XREVRANGE", fstream, "+", "-", "COUNT", "1" }, NULL);
  cache_entry e;
  int rc = -1;
  if (r && r->type == REDIS_REPLY_ARRAY) {
    *id = 0;
    rc = r->elements == 0 || entry_from(r->element[0], &e) == 0 ? 0 : -1;
    if (r->elements && rc == 0) *id = e.id;
  }
  if (r) freeReplyObject(r);
  return rc;
}

/* Hands over, marked replayed, the entries of the last fbackfill_ms up to flast (the end
 * when following began), so a new follower starts with the recent past. `since` becomes
 * the first entry handed over: older ones may have been trimmed, so only from there on
 * is everything known. 0 done, -1 connection trouble (tried again on reconnect). */
static int backfill(redisContext *c) {
  struct timespec ts;
  char start[CACHE_STREAM_ID_LEN + 1], end[CACHE_STREAM_ID_LEN];
  uint64_t first = 0;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t from_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - fbackfill_ms;
  cache_stream_id_format(from_ms > 0 ? (uint64_t)from_ms << SEQ_BITS : 0, start);
  cache_stream_id_format(flast, end);
  for (;;) {
    redisReply *r = redisCommand(c, "XRANGE %s %s %s COUNT %d", fstream, start, end, PAGE);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
      if (r) freeReplyObject(r);
      return -1;
    }
    cache_entry e;
    for (size_t i = 0; i < r->elements; i++) {
      if (entry_from(r->element[i], &e) < 0) continue;
      if (!first) first = e.id;
      e.replayed = 1;
      ffn(&e, farg);
      start[0] = '(';
      cache_stream_id_format(e.id, start + 1);
    }
    size_t got = r->elements;
    freeReplyObject(r);
    if (got < PAGE || cache_bg_wait(&fol, 0)) break;
  }
  atomic_store(&fsince, first ? first : flast);
  return 0;
}

static void *follow_main(void *unused) {
  int backoff = BACKOFF_MIN_MS;
  char err[256], from[CACHE_STREAM_ID_LEN];
  (void)unused;
  for (;;) {
    redisContext *c = cache_redis_connect(&cache_kv_target, 0, err, sizeof err);
    if (cache_bg_attach(&fol, c)) {
      if (c) redisFree(c);
      break;
    }
    if (c && !fhave_last && newest_id(c, &flast) == 0) {
      fhave_last = 1;
      if (!fbackfill_ms) atomic_store(&fsince, flast);
    }
    if (c && fhave_last && fbackfill_ms && !fbackfilled) fbackfilled = backfill(c) == 0;
    while (c && fhave_last) {
      cache_stream_id_format(flast, from);
      redisReply *r = redisCommand(c, "XREAD COUNT %d BLOCK %s STREAMS %s %s", PAGE, FOLLOW_BLOCK_MS, fstream, from);
      if (!r) break;
      if (r->type == REDIS_REPLY_ERROR) { /* e.g. the key holds something else: back off */
        snprintf(err, sizeof err, "%s", r->str);
        freeReplyObject(r);
        break;
      }
      backoff = BACKOFF_MIN_MS;
      /* [[stream, [entry, ...]]], or nil when BLOCK ran out */
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
          r->element[0]->elements == 2) {
        const redisReply *list = r->element[0]->element[1];
        for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
          cache_entry e = { 0 };
          if (entry_from(list->element[i], &e) < 0 || e.id <= flast) continue;
          flast = e.id;
          ffn(&e, farg);
        }
      }
      freeReplyObject(r);
      if (cache_bg_wait(&fol, 0)) break;
    }
    if (c && c->err) snprintf(err, sizeof err, "%s", c->errstr);
    cache_bg_attach(&fol, NULL);
    if (c) redisFree(c);
    if (cache_bg_wait(&fol, 0)) break;
    cache_log(&log_follow, VZ_LOG_WARN, "stream follower lost redis, reconnecting", err);
    if (cache_bg_wait(&fol, backoff)) break;
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  return NULL;
}

int cache_stream_follow(const char *stream, int64_t backfill_ms, cache_entry_fn fn, void *arg) {
  if (!stream || !fn || strlen(stream) >= sizeof fstream) return CACHE_ERROR;
  if (!cache_kv_target.on) return CACHE_EUNAVAILABLE;
  cache_stream_unfollow();
  snprintf(fstream, sizeof fstream, "%s", stream);
  ffn = fn;
  farg = arg;
  fbackfill_ms = backfill_ms > 0 ? backfill_ms : 0;
  fbackfilled = 0;
  /* Known now, so appends made after this call are delivered live; when Redis is down,
   * the thread takes the end it finds once it gets through. */
  atomic_store(&fsince, UINT64_MAX);
  fhave_last = newest_id(NULL, &flast) == 0;
  if (fhave_last && !fbackfill_ms) atomic_store(&fsince, flast);
  return cache_bg_start(&fol, follow_main);
}

void cache_stream_unfollow(void) { cache_bg_stop(&fol); }

uint64_t cache_stream_follow_since(void) { return atomic_load(&fsince); }
