/* ratelimit.c: GCRA (the generic cell rate algorithm, as in ATM traffic shaping and
 * redis-cell). Per key it stores one number, the theoretical arrival time (TAT): when the
 * bucket would be empty again if requests kept coming at exactly the allowed rate. With
 * T = 1/rate (the emission interval), a request of cost c is allowed iff
 *     max(TAT, now) + c*T - burst*T <= now,
 * and then TAT := max(TAT, now) + c*T. From idle that admits exactly `burst` units at once,
 * then one unit every T. One integer per key, no timers, exact retry-after.
 * With Redis the check-and-set is one Lua script, atomic on the server, and "now" is
 * Redis's own clock (TIME), so instances with skewed clocks still share one limit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cache/cache_int.h"
#include "core/log.h"

/* Times in microseconds. Lua numbers are doubles: exact up to 2^53 us (285 years), but
 * tostring() would print 1.7e+15, so the stored TAT is formatted with %.0f. */
cache_script cache_gcra_script = {
  .src = "local t = redis.call('TIME')\n"
         "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
         "local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now\n"
         "if tat < now then tat = now end\n"
         "local new_tat = tat + tonumber(ARGV[2])\n"
         "local allow_at = new_tat - tonumber(ARGV[1])\n"
         "if allow_at > now then\n"
         "  return {0, math.ceil((allow_at - now) / 1000)}\n"
         "end\n"
         "redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',\n"
         "           math.ceil((new_tat - now) / 1000) + 1)\n"
         "return {1, 0}\n",
};

static atomic_llong log_open;

int cache_ratelimit(const char *key, double rate_per_sec, int burst, int cost,
                    int64_t *retry_after_ms) {
  if (retry_after_ms) *retry_after_ms = 0;
  if (!key || !(rate_per_sec > 0) || burst < 1 || cost < 0) return CACHE_ERROR;
  /* emission interval, at least 1 us; tolerance and increment in whole microseconds */
  double t_us = fmax(1.0, 1e6 / rate_per_sec);
  int64_t tol = (int64_t)llround(t_us * burst), inc = (int64_t)llround(t_us * cost);

  if (!cache_kv_target.on) return cache_local_gcra(key, cache_mono_us(), tol, inc, retry_after_ms);

  char a1[24], a2[24];
  const char *args[3] = { key, a1, a2 };
  snprintf(a1, sizeof a1, "%lld", (long long)tol);
  snprintf(a2, sizeof a2, "%lld", (long long)inc);
  redisReply *r = cache_redis_script(&cache_kv_target, &cache_gcra_script, 1, 3, args, NULL);
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
    /* Fail open: a cache outage must not become a full outage. Abuse protection is
     * degraded for that while, which the log line says. */
    cache_log(&log_open, VZ_LOG_WARN, "rate limit failing open: redis unavailable",
              r && r->type == REDIS_REPLY_ERROR ? r->str : NULL);
    if (r) freeReplyObject(r);
    return 1;
  }
  int allowed = r->element[0]->integer == 1;
  if (!allowed && retry_after_ms) *retry_after_ms = r->element[1]->integer;
  freeReplyObject(r);
  return allowed;
}
