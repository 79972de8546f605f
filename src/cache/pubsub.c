/* pubsub.c: cross-instance fan-out. Each vidzo instance runs one subscriber thread with
 * a blocking hiredis connection, PSUBSCRIBE "vz:*", and hands every message to one
 * callback (the real-time gateway routes it to its loops). A subscriber connection can do
 * nothing but listen, so publishing goes through the calling thread's ordinary command
 * connection. On a lost connection the thread reconnects with exponential backoff
 * (100 ms doubling to 5 s) and subscribes again; stopping shuts the socket down under it so
 * the blocking read returns at once. Without Redis, publish calls the callback directly. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cache/cache_int.h"
#include "core/log.h"

#define PATTERN "vz:*"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static cache_bg ps = CACHE_BG_INIT; /* the subscriber thread; ps.mu guards ps_cb/_arg/_local */
static int ps_local;
static cache_msg_cb ps_cb;
static void *ps_arg;
static atomic_int ps_ready;
static atomic_uint ps_gen;
static atomic_llong log_sub, log_lost, log_pub, log_back;

int cache_pubsub_ready(void) { return atomic_load(&ps_ready); }
unsigned cache_pubsub_generation(void) { return atomic_load(&ps_gen); }

/* ["pmessage", pattern, channel, payload] */
static void deliver(redisReply *r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return;
  redisReply **e = r->element;
  if (e[0]->type != REDIS_REPLY_STRING || strcmp(e[0]->str, "pmessage") != 0) return;
  if (e[2]->type != REDIS_REPLY_STRING || e[3]->type != REDIS_REPLY_STRING) return;
  ps_cb(e[2]->str, e[3]->str, e[3]->len, ps_arg);
}

static void *ps_main(void *unused) {
  int backoff = BACKOFF_MIN_MS, subs = 0;
  char err[256];
  (void)unused;
  for (;;) {
    redisContext *c = cache_redis_connect(&cache_ps_target, 0, err, sizeof err);
    redisReply *r = NULL;
    if (cache_bg_attach(&ps, c)) {
      if (c) redisFree(c);
      break;
    }

    if (c) r = redisCommand(c, "PSUBSCRIBE %s", PATTERN);
    if (r && r->type == REDIS_REPLY_ARRAY) {
      freeReplyObject(r);
      r = NULL;
      atomic_store(&ps_ready, 1);
      atomic_fetch_add(&ps_gen, 1);
      if (subs++) cache_log(&log_back, VZ_LOG_INFO, "pubsub resubscribed", NULL);
      backoff = BACKOFF_MIN_MS;
      while (redisGetReply(c, (void **)&r) == REDIS_OK && r) {
        deliver(r);
        freeReplyObject(r);
        r = NULL;
      }
      atomic_store(&ps_ready, 0);
      snprintf(err, sizeof err, "%s", c->errstr);
      if (!cache_bg_wait(&ps, 0)) cache_log(&log_lost, VZ_LOG_WARN, "pubsub connection lost, resubscribing", err);
    } else if (c) {
      snprintf(err, sizeof err, "psubscribe: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
      cache_log(&log_sub, VZ_LOG_WARN, "pubsub subscribe failed", err);
    } else {
      cache_log(&log_sub, VZ_LOG_WARN, "pubsub cannot reach redis", err);
    }
    if (r) freeReplyObject(r);
    cache_bg_attach(&ps, NULL);
    if (c) redisFree(c);
    if (cache_bg_wait(&ps, backoff)) break;
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  return NULL;
}

int cache_pubsub_start(const char *redis_url, cache_msg_cb on_message, void *arg) {
  cache_target t;
  int rc;
  if (!on_message) return CACHE_ERROR;
  cache_pubsub_stop();
  if (!redis_url && cache_kv_target.on) { /* same server as the kv calls */
    t = cache_kv_target;
  } else if ((rc = cache_url_parse(redis_url, &t, NULL, 0)) < 0) {
    return rc;
  }
  memcpy(cache_ps_target.host, t.host, sizeof t.host);
  memcpy(cache_ps_target.user, t.user, sizeof t.user);
  memcpy(cache_ps_target.pass, t.pass, sizeof t.pass);
  cache_ps_target.port = t.port;
  cache_ps_target.db = t.db;
  cache_ps_target.on = t.on;
  atomic_fetch_add(&cache_ps_target.gen, 1);
  pthread_mutex_lock(&ps.mu);
  ps_cb = on_message;
  ps_arg = arg;
  ps_local = !t.on;
  pthread_mutex_unlock(&ps.mu);
  if (ps_local) {
    atomic_store(&ps_ready, 1);
    atomic_fetch_add(&ps_gen, 1);
    return 0;
  }
  return cache_bg_start(&ps, ps_main);
}

void cache_pubsub_stop(void) {
  cache_bg_stop(&ps);
  pthread_mutex_lock(&ps.mu);
  ps_cb = NULL;
  ps_local = 0;
  pthread_mutex_unlock(&ps.mu);
  atomic_store(&ps_ready, 0);
  cache_ps_target.on = 0;
}

int cache_publish(const char *channel, const void *data, size_t len) {
  const char *argv[3] = { "PUBLISH", channel, data ? data : "" };
  size_t lens[3];
  redisReply *r;
  if (!channel || (!data && len)) return CACHE_ERROR;
  if (!cache_ps_target.on) {
    cache_msg_cb cb;
    void *arg;
    pthread_mutex_lock(&ps.mu);
    cb = ps_local ? ps_cb : NULL;
    arg = ps_arg;
    pthread_mutex_unlock(&ps.mu);
    if (!cb || strncmp(channel, "vz:", 3) != 0) return 0;
    cb(channel, data ? data : "", len, arg);
    return 1;
  }
  lens[0] = 7;
  lens[1] = strlen(channel);
  lens[2] = len;
  if (!(r = cache_redis_argv(&cache_ps_target, 3, argv, lens))) {
    cache_log(&log_pub, VZ_LOG_WARN, "publish dropped: redis unavailable", channel);
    return CACHE_EUNAVAILABLE;
  }
  int rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : CACHE_ERROR;
  freeReplyObject(r);
  return rc;
}
