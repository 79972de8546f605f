/* Invariant: a message published on a vz:* channel reaches the subscriber callback with
 * its channel and exact bytes (NULs included), other channels do not; after Redis kills
 * the subscriber connection it resubscribes by itself and messages flow again. Local
 * backend: publish calls the callback directly. */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "cache/cache_int.h"

/* A plain connection to the test Redis, for admin commands (CLIENT KILL). */
static redisContext *admin_connect(const char *url) {
  cache_target t;
  if (cache_url_parse(url, &t, NULL, 0) < 0 || !t.on) return NULL;
  return redisConnect(t.host, t.port);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int got;
static char got_ch[64], got_data[64];
static size_t got_len;

static void on_msg(const char *ch, const void *data, size_t len, void *arg) {
  pthread_mutex_lock(&mu);
  got++;
  snprintf(got_ch, sizeof got_ch, "%s", ch);
  got_len = len < sizeof got_data ? len : sizeof got_data;
  memcpy(got_data, data, got_len);
  *(int *)arg += 1;
  pthread_mutex_unlock(&mu);
}

static int got_count(void) {
  pthread_mutex_lock(&mu);
  int n = got;
  pthread_mutex_unlock(&mu);
  return n;
}

static int wait_for(int (*cond)(int), int arg) {
  for (int i = 0; i < 500; i++) { /* 5 s */
    if (cond(arg)) return 1;
    usleep(10000);
  }
  return 0;
}
static int is_ready(int unused) { return cache_pubsub_ready(); }
static int got_at_least(int n) { return got_count() >= n; }
static int gen_above(int g) { return cache_pubsub_ready() && cache_pubsub_generation() > (unsigned)g; }

static const char payload[] = { 'h', 'i', 0, 'x', (char)0xfe };

TEST(cache_pubsub_local) {
  int calls = 0;
  got = 0;
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
  CHECK_EQ_INT(cache_pubsub_start(NULL, on_msg, &calls), 0);
  CHECK(cache_pubsub_ready());
  CHECK_EQ_INT(cache_publish("vz:stream:1", payload, sizeof payload), 1);
  CHECK_EQ_INT(cache_publish("other:1", "x", 1), 0);
  CHECK_EQ_INT(calls, 1);
  CHECK_EQ_STR(got_ch, "vz:stream:1");
  CHECK_EQ_INT(got_len, sizeof payload);
  CHECK(memcmp(got_data, payload, sizeof payload) == 0);
  cache_shutdown();
}

TEST(cache_pubsub_redis_roundtrip_and_reconnect) {
  const char *url = getenv("VZ_TEST_REDIS_URL");
  int calls = 0, sent;
  char err[128];
  if (!url || !*url) return;
  got = 0;
  CHECK_EQ_INT(cache_init(url, err, sizeof err), 0);
  CHECK_EQ_INT(cache_pubsub_start(url, on_msg, &calls), 0);
  CHECK(wait_for(is_ready, 0));
  unsigned gen = cache_pubsub_generation();
  CHECK_EQ_INT(cache_publish("other:1", "x", 1), 0); /* nobody listens there */
  sent = cache_publish("vz:room:7", payload, sizeof payload);
  CHECK(sent >= 1);
  CHECK(wait_for(got_at_least, 1));
  pthread_mutex_lock(&mu);
  int ok = got == 1 && strcmp(got_ch, "vz:room:7") == 0 && got_len == sizeof payload &&
           memcmp(got_data, payload, sizeof payload) == 0;
  pthread_mutex_unlock(&mu);
  CHECK(ok);

  /* Redis drops the subscriber (as on a restart or failover) */
  redisContext *admin = admin_connect(url);
  CHECK(admin && !admin->err);
  redisReply *r = redisCommand(admin, "CLIENT KILL TYPE pubsub");
  CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
  freeReplyObject(r);
  redisFree(admin);
  CHECK(wait_for(gen_above, (int)gen));
  CHECK(cache_publish("vz:room:7", "again", 5) >= 1);
  CHECK(wait_for(got_at_least, 2));
  pthread_mutex_lock(&mu);
  ok = got_len == 5 && memcmp(got_data, "again", 5) == 0;
  pthread_mutex_unlock(&mu);
  CHECK(ok);
  cache_shutdown();
  CHECK(!cache_pubsub_ready());
}
