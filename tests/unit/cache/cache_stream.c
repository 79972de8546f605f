/* Invariant: stream ids pack "<ms>-<seq>" so that numeric order is stream order, and
 * format back to the same text. On Redis (VZ_TEST_REDIS_URL): appended entries come back
 * from a range with their exact bytes, after a given id only, and a range from an id
 * the stream no longer holds says so (CACHE_MISS) instead of returning a silent gap; a
 * pipelined batch lands in order; the follower gets every entry appended after it
 * started, in order, exactly once, also across Redis dropping its connection. Local
 * backend: no stream (unavailable). */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "cache/cache_int.h"

TEST(cache_stream_ids) {
  uint64_t a, b;
  char txt[CACHE_STREAM_ID_LEN];
  CHECK_EQ_INT(cache_stream_id_parse("1732544000000-0", &a), 0);
  CHECK_EQ_INT(cache_stream_id_parse("1732544000000-7", &b), 0);
  CHECK(b == a + 7);
  CHECK_EQ_INT(cache_stream_id_parse("1732544000001-0", &b), 0);
  CHECK(b > a + 7); /* the next millisecond sorts after any sequence of this one */
  cache_stream_id_format(a + 7, txt);
  CHECK_EQ_STR(txt, "1732544000000-7");
  CHECK(cache_stream_id_parse("12", &a) < 0);
  CHECK(cache_stream_id_parse("1-2x", &a) < 0);
  CHECK(cache_stream_id_parse("1-4194304", &a) < 0); /* sequence beyond 22 bits */
  CHECK(cache_stream_id_parse(NULL, &a) < 0);
}

TEST(cache_stream_local_unavailable) {
  const char *v[1] = { "x" };
  size_t len[1] = { 1 };
  uint64_t id;
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
  CHECK_EQ_INT(cache_stream_add("t:s", 10, 1, v, len, &id), CACHE_EUNAVAILABLE);
  cache_shutdown();
}

typedef struct seen { uint64_t ids[64]; char first[64][8]; int n; } seen;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static seen followed;

static int keep(const cache_entry *e, void *arg) {
  seen *s = arg;
  pthread_mutex_lock(&mu);
  if (s->n < 64) {
    s->ids[s->n] = e->id;
    snprintf(s->first[s->n], sizeof s->first[0], "%.*s", (int)e->len[0], e->v[0] ? e->v[0] : "");
    s->n++;
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

static int followed_count(void) {
  pthread_mutex_lock(&mu);
  int n = followed.n;
  pthread_mutex_unlock(&mu);
  return n;
}

static int wait_followed(int n) {
  for (int i = 0; i < 500 && followed_count() < n; i++) usleep(10000);
  return followed_count() >= n;
}

static int add(const char *stream, const char *a, uint64_t *id) {
  const char *v[3] = { a, "", "\x01\x00z" };
  size_t len[3] = { strlen(a), 0, 3 };
  return cache_stream_add(stream, 1000, 3, v, len, id);
}

TEST(cache_stream_redis) {
  const char *url = getenv("VZ_TEST_REDIS_URL");
  char err[128], stream[64];
  uint64_t ids[5], before;
  if (!url || !*url) return;
  snprintf(stream, sizeof stream, "t:stream:%d", (int)getpid());
  CHECK_EQ_INT(cache_init(url, err, sizeof err), 0);
  CHECK_EQ_INT(add(stream, "old", &before), CACHE_OK); /* before the follower: not followed */
  memset(&followed, 0, sizeof followed);
  CHECK_EQ_INT(cache_stream_follow(stream, 0, keep, &followed), 0);
  for (int i = 0; i < 3; i++) {
    char a[8];
    snprintf(a, sizeof a, "e%d", i);
    CHECK_EQ_INT(add(stream, a, &ids[i]), CACHE_OK);
    CHECK(i == 0 ? ids[0] > before : ids[i] > ids[i - 1]);
  }
  CHECK(wait_followed(3));
  CHECK_EQ_INT(followed.n, 3);
  CHECK(followed.ids[0] == ids[0] && followed.ids[2] == ids[2]);
  CHECK_EQ_STR(followed.first[0], "e0");
  CHECK_EQ_STR(followed.first[2], "e2");

  /* range: strictly after the id, exact bytes */
  seen r = { 0 };
  CHECK_EQ_INT(cache_stream_range(stream, ids[0], 100, keep, &r), CACHE_OK);
  CHECK_EQ_INT(r.n, 2);
  CHECK(r.ids[0] == ids[1] && r.ids[1] == ids[2]);
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(cache_stream_range(stream, ids[2], 100, keep, &r), CACHE_OK);
  CHECK_EQ_INT(r.n, 0);
  CHECK_EQ_INT(cache_stream_range(stream, 1, 100, keep, &r), CACHE_MISS); /* never there */
  CHECK_EQ_INT(cache_stream_range(stream, ids[0], 1, keep, &r), CACHE_ERROR);     /* over max */

  /* several in one round trip: ids in order, after the others */
  cache_entry many[3];
  uint64_t mids[3];
  for (int i = 0; i < 3; i++) many[i] = (cache_entry){ .n = 1, .v = { "m" }, .len = { 1 } };
  CHECK_EQ_INT(cache_stream_add_many(stream, 1000, 3, many, mids), 3);
  CHECK(mids[0] > ids[2] && mids[1] > mids[0] && mids[2] > mids[1]);
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(cache_stream_range(stream, ids[2], 100, keep, &r), CACHE_OK);
  CHECK_EQ_INT(r.n, 3);
  CHECK(r.ids[2] == mids[2]);
  CHECK(wait_followed(6));

  /* the follower survives Redis dropping its connection, and misses nothing meanwhile */
  cache_target t;
  CHECK_EQ_INT(cache_url_parse(url, &t, NULL, 0), 0);
  redisContext *admin = redisConnect(t.host, t.port);
  CHECK(admin && !admin->err);
  redisReply *rr = redisCommand(admin, "CLIENT KILL TYPE normal SKIPME yes");
  CHECK(rr && rr->type == REDIS_REPLY_INTEGER && rr->integer >= 1);
  freeReplyObject(rr);
  CHECK_EQ_INT(add(stream, "e3", &ids[3]), CACHE_OK);
  CHECK(wait_followed(7));
  CHECK_EQ_STR(followed.first[6], "e3");

  /* trimmed away: an offset older than what is kept cannot be replayed */
  rr = redisCommand(admin, "XTRIM %s MAXLEN 1", stream);
  freeReplyObject(rr);
  CHECK_EQ_INT(cache_stream_range(stream, ids[1], 100, keep, &r), CACHE_MISS);
  rr = redisCommand(admin, "DEL %s", stream);
  freeReplyObject(rr);
  redisFree(admin);
  cache_shutdown();
  CHECK_EQ_INT(followed_count(), 7); /* exactly once each */
}

/* A follower with a backfill first hands over, marked replayed, what the stream holds
 * from that window up to the moment it began, then new entries live; `since` is the
 * first entry it handed over. */
static int nreplayed, nlive;
static uint64_t first_seen;
static int count_kind(const cache_entry *e, void *arg) {
  pthread_mutex_lock(&mu);
  if (!first_seen) first_seen = e->id;
  if (e->replayed) nreplayed++;
  else nlive++;
  pthread_mutex_unlock(&mu);
  return 0;
}
static int kinds_at_least(int live) {
  for (int i = 0; i < 500; i++) {
    pthread_mutex_lock(&mu);
    int ok = nlive >= live;
    pthread_mutex_unlock(&mu);
    if (ok) return 1;
    usleep(10000);
  }
  return 0;
}

TEST(cache_stream_backfill) {
  const char *url = getenv("VZ_TEST_REDIS_URL");
  char err[128], stream[64];
  uint64_t ids[4];
  if (!url || !*url) return;
  snprintf(stream, sizeof stream, "t:backfill:%d", (int)getpid());
  CHECK_EQ_INT(cache_init(url, err, sizeof err), 0);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(add(stream, "old", &ids[i]), CACHE_OK);
  nreplayed = nlive = 0;
  first_seen = 0;
  CHECK_EQ_INT(cache_stream_follow(stream, 60000, count_kind, NULL), 0);
  CHECK_EQ_INT(add(stream, "new", &ids[3]), CACHE_OK);
  CHECK(kinds_at_least(1));
  pthread_mutex_lock(&mu);
  int replayed = nreplayed, live = nlive;
  uint64_t first = first_seen;
  pthread_mutex_unlock(&mu);
  CHECK_EQ_INT(replayed, 3);
  CHECK_EQ_INT(live, 1);
  CHECK(first == ids[0]);
  CHECK(cache_stream_follow_since() == ids[0]);
  cache_target t;
  CHECK_EQ_INT(cache_url_parse(url, &t, NULL, 0), 0);
  redisContext *admin = redisConnect(t.host, t.port);
  redisReply *rr = admin ? redisCommand(admin, "DEL %s", stream) : NULL;
  if (rr) freeReplyObject(rr);
  if (admin) redisFree(admin);
  cache_shutdown();
}
