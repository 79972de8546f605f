/* cache: the shared fast state of vidzo, callable from any thread. Two backends behind one
 * interface, chosen once by cache_init: local (in-process tables under a mutex: one
 * instance, nothing to run) and Redis (every instance sees the same counters, limits and
 * messages). What lives here is, by design, allowed to be lost: rate-limit state, hot
 * read copies with a TTL, presence counters, and cross-instance fan-out. Durable data
 * belongs to db/. When Redis is down, rate limits fail open (with a log line) and the
 * other calls return CACHE_EUNAVAILABLE at once, so callers fall back to the database
 * instead of waiting. */
#ifndef VZ_CACHE_H
#define VZ_CACHE_H
#include <stddef.h>
#include <stdint.h>

enum {
  CACHE_OK = 0,
  CACHE_MISS = 1,          /* cache_get: no such key (or expired) */
  CACHE_ERROR = -1,        /* bad argument, wrong value type, out of memory */
  CACHE_EUNAVAILABLE = -4, /* Redis unreachable: treat as a miss / skip the cache */
};
enum cache_backend { CACHE_LOCAL = 1, CACHE_REDIS = 2 };

/* redis://[[user]:password@]host[:port][/db], or NULL/"" for the local backend. Only parses
 * and resets state: connections are opened lazily, one per thread, so a Redis that is
 * down at start does not stop vidzo. Call before other threads use the cache (or again
 * in tests). Returns 0, or CACHE_ERROR for a malformed URL (err says why). */
int cache_init(const char *redis_url, char *err, size_t errlen);
/* Stops pub/sub, frees the local tables and this thread's connection. */
void cache_shutdown(void);
int cache_backend(void);

/* GCRA rate limit: `burst` units may be spent at once, refilled at rate_per_sec. Spends
 * `cost` units of key if they are there. Returns 1 allowed, 0 limited (with
 * *retry_after_ms set when non-NULL: the wait until `cost` would be allowed). With Redis
 * the check-and-spend is one script, so the limit holds across instances; with Redis
 * down it returns 1 (fail open). */
int cache_ratelimit(const char *key, double rate_per_sec, int burst, int cost,
                    int64_t *retry_after_ms);

/* Key-value with TTL (ttl_ms <= 0: no expiry). Values are bytes, binary-safe. cache_get
 * returns CACHE_OK with *out malloc'd (NUL-terminated beyond *len, free() it), CACHE_MISS,
 * or <0. */
int cache_get(const char *key, char **out, size_t *len);
int cache_set(const char *key, const void *value, size_t len, int64_t ttl_ms);
int cache_del(const char *key);
/* Get and delete in one step (GETDEL): of several callers racing for one key, one
 * gets it. Same returns as cache_get. */
int cache_take(const char *key, char **out, size_t *len);
/* Adds delta to an integer counter (missing = 0) and, when ttl_ms > 0, (re)arms its
 * expiry; *out gets the new value. For presence counts, views, per-window tallies. */
int cache_incrby(const char *key, int64_t delta, int64_t ttl_ms, int64_t *out);

/* Pub/sub for cross-instance fan-out. cache_pubsub_start runs a subscriber thread that
 * pattern-subscribes to "vz:*" and calls on_message (on that thread) for each message;
 * it reconnects with backoff and resubscribes after a Redis restart (messages published
 * while it was away are lost: pub/sub is fire and forget). url NULL: the cache_init URL;
 * if that is local too, cache_publish calls on_message directly on the publishing thread.
 * The channel string is NUL-terminated; data is binary-safe. */
typedef void (*cache_msg_cb)(const char *channel, const void *data, size_t len, void *arg);
int cache_pubsub_start(const char *redis_url, cache_msg_cb on_message, void *arg);
void cache_pubsub_stop(void);
/* 1 while the subscriber is subscribed (always 1 for local); for health checks and tests. */
int cache_pubsub_ready(void);
/* Number of (re)subscriptions so far: a test can wait for it to move after a kill. */
unsigned cache_pubsub_generation(void);
/* Returns the number of subscribers that got it (Redis) or 0/1 (local), or <0. */
int cache_publish(const char *channel, const void *data, size_t len);

/* Streams: an ordered log every instance shares (Redis Streams). Redis backend only: the
 * local backend answers CACHE_EUNAVAILABLE (one process keeps its own history). An entry
 * is up to 4 binary fields; its id is Redis's "<ms>-<seq>" packed into one number,
 * ms << 22 | seq, so ids compare as integers. Entries are valid during the callback only.
 * Like everything here, a stream may lose its tail when Redis restarts without
 * persistence: it is for replay within minutes, not for records. */
#define CACHE_STREAM_MAX_FIELDS 4
#define CACHE_STREAM_ID_LEN 48
typedef struct cache_entry {
  uint64_t id;
  int n;
  int replayed; /* follower: from the backfill (appended before following began) */
  const char *v[CACHE_STREAM_MAX_FIELDS];
  size_t len[CACHE_STREAM_MAX_FIELDS];
} cache_entry;
/* Returns nonzero to stop a range early (ignored by the follower). */
typedef int (*cache_entry_fn)(const cache_entry *e, void *arg);
/* Appends n fields, trimming the stream to about maxlen entries; *id gets the entry id. */
int cache_stream_add(const char *stream, size_t maxlen, int n, const char *const *v,
                     const size_t *len, uint64_t *id);
/* Appends n entries (their v/len/n) in one round trip; ids[i] gets each id. Returns how
 * many were appended, counted from the first (the rest may not have been), or <0. */
int cache_stream_add_many(const char *stream, size_t maxlen, int n, const cache_entry *e, uint64_t *ids);
/* Calls fn for the entries after id `after`, oldest first. CACHE_MISS when `after` itself
 * is no longer in the stream (trimmed, or never there): what followed it may be gone.
 * CACHE_ERROR when more than max entries follow. */
int cache_stream_range(const char *stream, uint64_t after, size_t max, cache_entry_fn fn, void *arg);
/* One follower per process: a thread that calls fn for every entry appended after this
 * call, in stream order, across reconnects (it resumes from the last id it delivered).
 * With backfill_ms > 0 it first hands over, marked replayed, what the stream holds from
 * that long ago up to this call. */
int cache_stream_follow(const char *stream, int64_t backfill_ms, cache_entry_fn fn, void *arg);
void cache_stream_unfollow(void);
/* The follower has delivered every entry from this id on (every one after it, without a
 * backfill: the id is then the end when it began); UINT64_MAX while it does not know
 * (Redis unreachable so far, or the backfill still running). */
uint64_t cache_stream_follow_since(void);
int cache_stream_id_parse(const char *s, uint64_t *id);
void cache_stream_id_format(uint64_t id, char out[CACHE_STREAM_ID_LEN]);
#endif
