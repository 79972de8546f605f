/* kv.c: backend selection (cache_init) and the key-value calls: get/set/del for hot
 * reads with invalidation, incrby for counters. Each call goes to the local table or to
 * Redis; Redis failures come back as CACHE_EUNAVAILABLE at once (see redis.c for the
 * timeouts), and callers treat that as a miss. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_int.h"

extern cache_script cache_gcra_script; /* ratelimit.c */

/* INCRBY and (re)arming the expiry must be one step, or a crash between them leaves a
 * counter that never expires. */
static cache_script incr_script = {
  .src = "local v = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
         "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
         "return v\n",
};

int cache_init(const char *redis_url, char *err, size_t errlen) {
  cache_target t;
  int rc = cache_url_parse(redis_url, &t, err, errlen);
  if (rc < 0) return rc;
  cache_kv_target.on = t.on;
  memcpy(cache_kv_target.host, t.host, sizeof t.host);
  memcpy(cache_kv_target.user, t.user, sizeof t.user);
  memcpy(cache_kv_target.pass, t.pass, sizeof t.pass);
  cache_kv_target.port = t.port;
  cache_kv_target.db = t.db;
  atomic_fetch_add(&cache_kv_target.gen, 1);
  /* hash the scripts now, before worker threads race to do it */
  cache_script_hash(&incr_script);
  cache_script_hash(&cache_gcra_script);
  return 0;
}

void cache_shutdown(void) {
  cache_stream_unfollow();
  cache_pubsub_stop();
  cache_redis_thread_close();
  cache_local_clear();
}

int cache_backend(void) { return cache_kv_target.on ? CACHE_REDIS : CACHE_LOCAL; }

static int reply_done(redisReply *r, int ok_type) {
  int rc;
  if (!r) return CACHE_EUNAVAILABLE;
  rc = r->type == ok_type || (ok_type == REDIS_REPLY_STATUS && r->type == REDIS_REPLY_STATUS)
           ? CACHE_OK : CACHE_ERROR;
  freeReplyObject(r);
  return rc;
}

/* GET or GETDEL */
static int get_or_take(const char *cmd, const char *key, char **out, size_t *len) {
  const char *argv[2] = { cmd, key };
  redisReply *r;
  *out = NULL;
  if (len) *len = 0;
  if (!key) return CACHE_ERROR;
  if (!cache_kv_target.on) return cache_local_get(key, out, len, cmd[3] != 0);
  if (!(r = cache_redis_argv(&cache_kv_target, 2, argv, NULL))) return CACHE_EUNAVAILABLE;
  int rc = CACHE_ERROR;
  if (r->type == REDIS_REPLY_NIL) {
    rc = CACHE_MISS;
  } else if (r->type == REDIS_REPLY_STRING && (*out = malloc(r->len + 1))) {
    memcpy(*out, r->str, r->len);
    (*out)[r->len] = 0;
    if (len) *len = r->len;
    rc = CACHE_OK;
  }
  freeReplyObject(r);
  return rc;
}

int cache_get(const char *key, char **out, size_t *len) { return get_or_take("GET", key, out, len); }
int cache_take(const char *key, char **out, size_t *len) { return get_or_take("GETDEL", key, out, len); }

int cache_set(const char *key, const void *value, size_t len, int64_t ttl_ms) {
  char ttl[24];
  const char *argv[5] = { "SET", key, value ? value : "", "PX", ttl };
  size_t lens[5];
  if (!key || (!value && len)) return CACHE_ERROR;
  if (!cache_kv_target.on) return cache_local_set(key, value, len, ttl_ms);
  lens[0] = 3;
  lens[1] = strlen(key);
  lens[2] = len;
  lens[3] = 2;
  lens[4] = (size_t)snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
  return reply_done(cache_redis_argv(&cache_kv_target, ttl_ms > 0 ? 5 : 3, argv, lens),
                    REDIS_REPLY_STATUS);
}

int cache_del(const char *key) {
  const char *argv[2] = { "DEL", key };
  if (!key) return CACHE_ERROR;
  if (!cache_kv_target.on) return cache_local_del(key);
  return reply_done(cache_redis_argv(&cache_kv_target, 2, argv, NULL), REDIS_REPLY_INTEGER);
}

int cache_incrby(const char *key, int64_t delta, int64_t ttl_ms, int64_t *out) {
  char d[24], t[24];
  const char *args[3] = { key, d, t };
  redisReply *r;
  if (!key) return CACHE_ERROR;
  if (!cache_kv_target.on) return cache_local_incrby(key, delta, ttl_ms, out);
  snprintf(d, sizeof d, "%" PRId64, delta);
  snprintf(t, sizeof t, "%" PRId64, ttl_ms > 0 ? ttl_ms : 0);
  if (!(r = cache_redis_script(&cache_kv_target, &incr_script, 1, 3, args, NULL)))
    return CACHE_EUNAVAILABLE;
  int rc = r->type == REDIS_REPLY_INTEGER ? CACHE_OK : CACHE_ERROR;
  if (rc == CACHE_OK && out) *out = r->integer;
  freeReplyObject(r);
  return rc;
}
