/* local.c: the in-process backend, for a single vidzo instance. One hash table of
 * key -> bytes with a monotonic-clock expiry, behind one mutex: every operation is a
 * few hundred nanoseconds, far below the request cost, so finer locking would not pay.
 * Rate-limit state and counters are stored as decimal strings, as Redis stores them, so
 * both backends agree on what a key holds. Bounded: at LOCAL_MAX entries expired keys
 * are swept, and if none expired an arbitrary entry of the target bucket is evicted
 * (acceptable for a cache; rate limits then forget one idle key). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_int.h"

#define LOCAL_BUCKETS 16384
#define LOCAL_MAX 200000

typedef struct entry {
  struct entry *next;
  unsigned hash;
  int64_t expire_us; /* 0: never */
  size_t len;
  char *key;
  char *val; /* NUL-terminated beyond len */
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *buckets[LOCAL_BUCKETS];
static size_t count;

static unsigned hash_key(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void entry_free(entry *e) {
  free(e->key);
  free(e->val);
  free(e);
}

static int expired(const entry *e, int64_t now) { return e->expire_us && e->expire_us <= now; }

/* Finds a live entry; unlinks and frees an expired one on the way. */
static entry **find(const char *key, unsigned h, int64_t now) {
  for (entry **pp = &buckets[h % LOCAL_BUCKETS]; *pp; pp = &(*pp)->next) {
    entry *e = *pp;
    if (e->hash != h || strcmp(e->key, key) != 0) continue;
    if (expired(e, now)) {
      *pp = e->next;
      entry_free(e);
      count--;
      return NULL;
    }
    return pp;
  }
  return NULL;
}

static void make_room(unsigned h, int64_t now) {
  if (count < LOCAL_MAX) return;
  for (int i = 0; i < LOCAL_BUCKETS; i++) {
    for (entry **pp = &buckets[i]; *pp;) {
      if (expired(*pp, now)) {
        entry *e = *pp;
        *pp = e->next;
        entry_free(e);
        count--;
      } else {
        pp = &(*pp)->next;
      }
    }
  }
  for (int i = 0; count >= LOCAL_MAX && i < LOCAL_BUCKETS; i++) {
    entry **pp = &buckets[(h + (unsigned)i) % LOCAL_BUCKETS];
    if (*pp) {
      entry *e = *pp;
      *pp = e->next;
      entry_free(e);
      count--;
    }
  }
}

/* Replaces (or creates) key's value; mu held. */
static int put(const char *key, unsigned h, const void *v, size_t len, int64_t expire_us,
               int64_t now) {
  entry **pp = find(key, h, now), *e;
  char *val = malloc(len + 1);
  if (!val) return CACHE_ERROR;
  if (len) memcpy(val, v, len);
  val[len] = 0;
  if (pp) {
    e = *pp;
    free(e->val);
  } else {
    make_room(h, now);
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
      free(e);
      free(val);
      return CACHE_ERROR;
    }
    e->hash = h;
    e->next = buckets[h % LOCAL_BUCKETS];
    buckets[h % LOCAL_BUCKETS] = e;
    count++;
  }
  e->val = val;
  e->len = len;
  e->expire_us = expire_us;
  return CACHE_OK;
}

int cache_local_get(const char *key, char **out, size_t *len, int take) {
  int64_t now = cache_mono_us();
  int rc = CACHE_MISS;
  pthread_mutex_lock(&mu);
  entry **pp = find(key, hash_key(key), now);
  if (pp) {
    entry *e = *pp;
    *out = malloc(e->len + 1);
    if (*out) {
      memcpy(*out, e->val, e->len + 1);
      if (len) *len = e->len;
      rc = CACHE_OK;
      if (take) {
        *pp = e->next;
        entry_free(e);
        count--;
      }
    } else {
      rc = CACHE_ERROR;
    }
  }
  pthread_mutex_unlock(&mu);
  return rc;
}

int cache_local_set(const char *key, const void *v, size_t len, int64_t ttl_ms) {
  int64_t now = cache_mono_us();
  pthread_mutex_lock(&mu);
  int rc = put(key, hash_key(key), v, len, ttl_ms > 0 ? now + ttl_ms * 1000 : 0, now);
  pthread_mutex_unlock(&mu);
  return rc;
}

int cache_local_del(const char *key) {
  int64_t now = cache_mono_us();
  pthread_mutex_lock(&mu);
  entry **pp = find(key, hash_key(key), now);
  if (pp) {
    entry *e = *pp;
    *pp = e->next;
    entry_free(e);
    count--;
  }
  pthread_mutex_unlock(&mu);
  return CACHE_OK;
}

static int parse_i64(const entry *e, int64_t *v) {
  char *end;
  errno = 0;
  *v = strtoll(e->val, &end, 10);
  return (errno || end == e->val || *end) ? -1 : 0;
}

int cache_local_incrby(const char *key, int64_t delta, int64_t ttl_ms, int64_t *out) {
  int64_t now = cache_mono_us(), v = 0;
  unsigned h = hash_key(key);
  char buf[24];
  int rc = CACHE_OK;
  pthread_mutex_lock(&mu);
  entry **pp = find(key, h, now);
  int64_t expire = pp ? (*pp)->expire_us : 0;
  if (pp && parse_i64(*pp, &v) < 0) rc = CACHE_ERROR; /* not a counter */
  else if ((delta > 0 && v > INT64_MAX - delta) || (delta < 0 && v < INT64_MIN - delta))
    rc = CACHE_ERROR; /* Redis refuses overflow too */
  if (rc == CACHE_OK) {
    v += delta;
    if (ttl_ms > 0) expire = now + ttl_ms * 1000;
    rc = put(key, h, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v), expire, now);
  }
  pthread_mutex_unlock(&mu);
  if (rc == CACHE_OK && out) *out = v;
  return rc;
}

/* GCRA on the stored theoretical arrival time (tat, microseconds), see ratelimit.c. */
int cache_local_gcra(const char *key, int64_t now_us, int64_t tol_us, int64_t inc_us,
                     int64_t *retry_after_ms) {
  unsigned h = hash_key(key);
  int64_t tat = now_us;
  char buf[24];
  int allowed;
  pthread_mutex_lock(&mu);
  entry **pp = find(key, h, now_us);
  if (pp && parse_i64(*pp, &tat) < 0) tat = now_us;
  if (tat < now_us) tat = now_us;
  int64_t new_tat = tat + inc_us, allow_at = new_tat - tol_us;
  allowed = allow_at <= now_us;
  if (allowed) {
    /* kept until the bucket is full again, then it would equal a missing key */
    put(key, h, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, new_tat), new_tat + 1,
        now_us);
    if (retry_after_ms) *retry_after_ms = 0;
  } else if (retry_after_ms) {
    *retry_after_ms = (allow_at - now_us + 999) / 1000;
  }
  pthread_mutex_unlock(&mu);
  return allowed;
}

void cache_local_clear(void) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < LOCAL_BUCKETS; i++) {
    while (buckets[i]) {
      entry *e = buckets[i];
      buckets[i] = e->next;
      entry_free(e);
    }
  }
  count = 0;
  pthread_mutex_unlock(&mu);
}
