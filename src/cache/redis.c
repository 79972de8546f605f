/* redis.c: connections to Redis for the cache. Blocking hiredis, one connection per thread
 * (a pthread key frees it when the thread exits): the callers are worker threads that
 * already block on the database, so a pool with locking would buy nothing. Built to never
 * hold a request hostage: 300 ms to connect, 1 s per command, and after a failed connect
 * the thread does not try again for a second, answering "unavailable" at once. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "cache/cache_int.h"
#include "core/log.h"

#define CONNECT_TIMEOUT_MS 300
#define COMMAND_TIMEOUT_MS 1000
#define RETRY_AFTER_FAIL_US 1000000

cache_target cache_kv_target, cache_ps_target;

int64_t cache_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Rate-limited per call site: a Redis outage must not flood the log. */
void cache_log(atomic_llong *last, int level, const char *msg, const char *detail) {
  if (level < vz_log_level || !vz_log_allow(last, 10000)) return;
  if (detail) vz_log(level, msg, "module", "cache", "detail", detail, (char *)0);
  else vz_log(level, msg, "module", "cache", (char *)0);
}

/* redis://[[user]:password@]host[:port][/db] */
int cache_url_parse(const char *url, cache_target *t, char *err, size_t errlen) {
  const char *p, *at, *end, *colon;
  char *e;
  long v;

  t->on = 0;
  t->host[0] = t->user[0] = t->pass[0] = 0;
  t->port = 6379;
  t->db = 0;
  if (!url || !*url) return 0;
  if (strncmp(url, "redis://", 8) != 0) goto bad;
  p = url + 8;
  end = p + strcspn(p, "/?");
  at = memchr(p, '@', (size_t)(end - p));
  if (at) { /* userinfo: "user:pass", ":pass" or "pass" */
    colon = memchr(p, ':', (size_t)(at - p));
    const char *ps = colon ? colon + 1 : p;
    if (colon && colon > p) snprintf(t->user, sizeof t->user, "%.*s", (int)(colon - p), p);
    if ((size_t)(at - ps) >= sizeof t->pass) goto bad;
    snprintf(t->pass, sizeof t->pass, "%.*s", (int)(at - ps), ps);
    p = at + 1;
  }
  colon = memchr(p, ':', (size_t)(end - p));
  const char *hend = colon ? colon : end;
  if (hend == p || (size_t)(hend - p) >= sizeof t->host) goto bad;
  snprintf(t->host, sizeof t->host, "%.*s", (int)(hend - p), p);
  if (colon) {
    errno = 0;
    v = strtol(colon + 1, &e, 10);
    if (errno || e != end || v < 1 || v > 65535) goto bad;
    t->port = (int)v;
  }
  if (*end == '/' && end[1] && end[1] != '?') {
    errno = 0;
    v = strtol(end + 1, &e, 10);
    if (errno || (*e && *e != '?') || v < 0 || v > 1000) goto bad;
    t->db = (int)v;
  }
  t->on = 1;
  return 0;
bad:
  /* never echo the URL: it may carry a password */
  if (err && errlen) snprintf(err, errlen, "cache: malformed redis url (want redis://[:pass@]host[:port][/db])");
  return CACHE_ERROR;
}

redisContext *cache_redis_connect(const cache_target *t, int timeout_ms, char *err,
                                  size_t errlen) {
  struct timeval ctv = { 0, CONNECT_TIMEOUT_MS * 1000 };
  struct timeval rtv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  redisContext *c = redisConnectWithTimeout(t->host, t->port, ctv);
  redisReply *r = NULL;

  if (!c || c->err) {
    snprintf(err, errlen, "connect %s:%d: %s", t->host, t->port, c ? c->errstr : "out of memory");
    goto fail;
  }
  if (redisSetTimeout(c, rtv) != REDIS_OK) { /* {0,0}: block forever (subscriber) */
    snprintf(err, errlen, "set timeout: %s", c->errstr);
    goto fail;
  }
  redisEnableKeepAlive(c);
  if (t->pass[0]) {
    if (t->user[0]) r = redisCommand(c, "AUTH %s %s", t->user, t->pass);
    else r = redisCommand(c, "AUTH %s", t->pass);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      snprintf(err, errlen, "auth failed%s%s", r ? ": " : "", r ? r->str : "");
      goto fail;
    }
    freeReplyObject(r);
    r = NULL;
  }
  if (t->db) {
    r = redisCommand(c, "SELECT %d", t->db);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      snprintf(err, errlen, "select %d failed", t->db);
      goto fail;
    }
    freeReplyObject(r);
  }
  return c;
fail:
  if (r) freeReplyObject(r);
  if (c) redisFree(c);
  return NULL;
}

/* ---- per-thread connections ----------------------------------------------------------- */

typedef struct rconn {
  redisContext *c;
  unsigned gen;
  int64_t retry_at_us;
} rconn;
typedef struct tls_conns { rconn kv, ps; } tls_conns;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p) {
  tls_conns *t = p;
  if (t->kv.c) redisFree(t->kv.c);
  if (t->ps.c) redisFree(t->ps.c);
  free(t);
}
static void tls_init(void) { pthread_key_create(&tls_key, tls_free); }

static rconn *conn_slot(cache_target *t) {
  tls_conns *tc;
  pthread_once(&tls_once, tls_init);
  tc = pthread_getspecific(tls_key);
  if (!tc) {
    if (!(tc = calloc(1, sizeof *tc))) return NULL;
    pthread_setspecific(tls_key, tc);
  }
  return t == &cache_ps_target ? &tc->ps : &tc->kv;
}

void cache_redis_thread_close(void) {
  pthread_once(&tls_once, tls_init);
  tls_conns *tc = pthread_getspecific(tls_key);
  if (tc) {
    tls_free(tc);
    pthread_setspecific(tls_key, NULL);
  }
}

static atomic_llong log_down, log_lost;

/* This thread's connection to t, opened if needed (NULL: unavailable, or within a second
 * of a failed connect). */
static rconn *live_conn(cache_target *t) {
  rconn *rc = conn_slot(t);
  unsigned gen = atomic_load(&t->gen);
  char err[256];
  if (!rc || !t->on) return NULL;
  if (rc->c && rc->gen != gen) { /* cache_init since: drop the old server's connection */
    redisFree(rc->c);
    rc->c = NULL;
    rc->retry_at_us = 0;
  }
  if (!rc->c) {
    if (rc->retry_at_us && cache_mono_us() < rc->retry_at_us) return NULL;
    rc->c = cache_redis_connect(t, COMMAND_TIMEOUT_MS, err, sizeof err);
    rc->gen = gen;
    if (!rc->c) {
      rc->retry_at_us = cache_mono_us() + RETRY_AFTER_FAIL_US;
      cache_log(&log_down, VZ_LOG_WARN, "redis unavailable", err);
      return NULL;
    }
    rc->retry_at_us = 0;
  }
  return rc;
}

/* After an I/O error the context is unusable. A reused one most likely died while idle
 * (server restart, timeout) before the command reached it: returns 1 to retry once. */
static int drop_conn(rconn *rc, int reused) {
  char err[256];
  snprintf(err, sizeof err, "%s", rc->c->errstr);
  redisFree(rc->c);
  rc->c = NULL;
  if (!reused) {
    rc->retry_at_us = cache_mono_us() + RETRY_AFTER_FAIL_US;
    return 0;
  }
  cache_log(&log_lost, VZ_LOG_WARN, "redis connection lost, reconnecting", err);
  return 1;
}

redisReply *cache_redis_argv(cache_target *t, int argc, const char **argv, const size_t *lens) {
  for (int attempt = 0; attempt < 2; attempt++) {
    rconn *rc = conn_slot(t);
    int reused = rc && rc->c != NULL;
    if (!(rc = live_conn(t))) return NULL;
    redisReply *r = redisCommandArgv(rc->c, argc, argv, lens);
    if (r) return r;
    if (!drop_conn(rc, reused)) break;
  }
  return NULL;
}

int cache_redis_pipeline(cache_target *t, int n, const int *argc, const char *const *const *argv,
                         const size_t *const *lens, redisReply **out) {
  for (int i = 0; i < n; i++) out[i] = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    rconn *rc = conn_slot(t);
    int reused = rc && rc->c != NULL, got = 0;
    if (!(rc = live_conn(t))) return CACHE_EUNAVAILABLE;
    for (int i = 0; i < n; i++)
      if (redisAppendCommandArgv(rc->c, argc[i], (const char **)argv[i], lens[i]) != REDIS_OK) {
        drop_conn(rc, 0);
        return CACHE_EUNAVAILABLE;
      }
    while (got < n && redisGetReply(rc->c, (void **)&out[got]) == REDIS_OK && out[got]) got++;
    if (got == n) return n;
    /* a reply came back, so commands ran: retrying could run them twice */
    if (!drop_conn(rc, reused && got == 0) || got) return got;
  }
  return CACHE_EUNAVAILABLE;
}

void cache_script_hash(cache_script *s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  static const char hex[] = "0123456789abcdef";
  if (s->sha[0]) return;
  EVP_Digest(s->src, strlen(s->src), md, &n, EVP_sha1(), NULL);
  for (unsigned i = 0; i < n && i < 20; i++) {
    s->sha[2 * i] = hex[md[i] >> 4];
    s->sha[2 * i + 1] = hex[md[i] & 15];
  }
  s->sha[40] = 0;
}

/* Scripts run by hash: the body crosses the wire only the first time a server sees it. */
redisReply *cache_redis_script(cache_target *t, cache_script *s, int nkeys, int nargs,
                               const char **args, const size_t *lens) {
  const char *argv[16];
  size_t alen[16];
  char nk[12];
  redisReply *r;

  if (nargs > 12) return NULL;
  if (!s->sha[0]) cache_script_hash(s); /* normally done by cache_init */
  snprintf(nk, sizeof nk, "%d", nkeys);
  argv[0] = "EVALSHA";
  argv[1] = s->sha;
  argv[2] = nk;
  for (int i = 0; i < 3; i++) alen[i] = strlen(argv[i]);
  for (int i = 0; i < nargs; i++) {
    argv[3 + i] = args[i];
    alen[3 + i] = lens ? lens[i] : strlen(args[i]);
  }
  r = cache_redis_argv(t, 3 + nargs, argv, alen);
  if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
    freeReplyObject(r);
    argv[0] = "EVAL";
    argv[1] = s->src;
    alen[0] = 4;
    alen[1] = strlen(s->src);
    r = cache_redis_argv(t, 3 + nargs, argv, alen);
  }
  return r;
}

/* ---- background threads ---------------------------------------------------------------- */

int cache_bg_start(cache_bg *b, void *(*fn)(void *)) {
  pthread_mutex_lock(&b->mu);
  b->stop = 0;
  pthread_mutex_unlock(&b->mu);
  if (pthread_create(&b->thread, NULL, fn, NULL) != 0) return CACHE_ERROR;
  b->running = 1;
  return 0;
}

int cache_bg_wait(cache_bg *b, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&b->mu);
  while (!b->stop && pthread_cond_timedwait(&b->cv, &b->mu, &ts) == 0) {}
  int stop = b->stop;
  pthread_mutex_unlock(&b->mu);
  return stop;
}

int cache_bg_attach(cache_bg *b, redisContext *c) {
  pthread_mutex_lock(&b->mu);
  int stop = b->stop;
  b->ctx = stop ? NULL : c;
  pthread_mutex_unlock(&b->mu);
  return stop;
}

void cache_bg_stop(cache_bg *b) {
  pthread_mutex_lock(&b->mu);
  b->stop = 1;
  if (b->ctx) shutdown(b->ctx->fd, SHUT_RDWR); /* wakes the blocking read */
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  if (b->running) {
    pthread_join(b->thread, NULL);
    b->running = 0;
  }
}
