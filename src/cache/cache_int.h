/* Internals shared by the cache files (not for other modules): the Redis target and
 * its per-thread connections (redis.c), the local table (local.c), logging. */
#ifndef VZ_CACHE_INT_H
#define VZ_CACHE_INT_H
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"

typedef struct cache_target {
  int on;              /* 0: local backend */
  char host[256];
  int port, db;
  char user[128], pass[256];
  atomic_uint gen;     /* bumped by every re-init: per-thread connections reopen */
} cache_target;

extern cache_target cache_kv_target; /* cache_init's URL */
extern cache_target cache_ps_target; /* cache_pubsub_start's URL */

int cache_url_parse(const char *url, cache_target *t, char *err, size_t errlen);
/* Opens, authenticates and selects; timeout_ms 0 = no read timeout (subscriber). */
redisContext *cache_redis_connect(const cache_target *t, int timeout_ms, char *err,
                                  size_t errlen);
/* Runs one command on this thread's connection to t, connecting or reconnecting as
 * needed (one retry when a reused connection turns out dead). NULL: Redis unavailable. */
redisReply *cache_redis_argv(cache_target *t, int argc, const char **argv, const size_t *lens);
/* n commands in one round trip (pipelined) on this thread's connection. Returns how many
 * replies came back (out[0..k), the rest NULL: those commands may not have run), or
 * CACHE_EUNAVAILABLE. Free each reply. */
int cache_redis_pipeline(cache_target *t, int n, const int *argc, const char *const *const *argv,
                         const size_t *const *lens, redisReply **out);
/* A Lua script run by EVALSHA, falling back to EVAL when the server lacks it. */
typedef struct cache_script { const char *src; char sha[41]; } cache_script;
redisReply *cache_redis_script(cache_target *t, cache_script *s, int nkeys, int nargs,
                               const char **args, const size_t *lens);
void cache_redis_thread_close(void);
/* Fills s->sha (SHA-1 of the body, as Redis names scripts). */
void cache_script_hash(cache_script *s);

/* A background thread on its own blocking connection (the pub/sub subscriber, the
 * stream follower): its sleeps end early on stop, and stop shuts the socket down under
 * a blocking read so the thread returns at once. mu also guards what its owner keeps
 * beside it (callbacks). */
typedef struct cache_bg {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int running, stop;
  redisContext *ctx;
} cache_bg;
#define CACHE_BG_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER }
int cache_bg_start(cache_bg *b, void *(*fn)(void *));
/* Sleeps ms (0: just looks) unless stopped meanwhile; 1 when stopping. */
int cache_bg_wait(cache_bg *b, int ms);
/* Makes c (or NULL) the connection stop shuts down; 1 when stopping (c is then not kept). */
int cache_bg_attach(cache_bg *b, redisContext *c);
void cache_bg_stop(cache_bg *b);

/* Local backend (local.c). */
/* take: remove the entry too (cache_take) */
int cache_local_get(const char *key, char **out, size_t *len, int take);
int cache_local_set(const char *key, const void *v, size_t len, int64_t ttl_ms);
int cache_local_del(const char *key);
int cache_local_incrby(const char *key, int64_t delta, int64_t ttl_ms, int64_t *out);
int cache_local_gcra(const char *key, int64_t now_us, int64_t tol_us, int64_t inc_us,
                     int64_t *retry_after_ms);
void cache_local_clear(void);
void cache_pubsub_local_deliver(const char *channel, const void *data, size_t len);

int64_t cache_mono_us(void);
/* vz_log with module "cache", at most once per 10 s per call site (*last holds its time).
 * level is VZ_LOG_* (core/log.h). */
void cache_log(atomic_llong *last, int level, const char *msg, const char *detail);
#endif
