/* Invariant: GCRA admits exactly `burst` units at once from idle, then one unit per
 * emission interval; a denied request is told exactly how long to wait; cost > burst is
 * never admitted. Checked on the local math with a synthetic clock, and through the
 * public call on both backends (Redis when VZ_TEST_REDIS_URL is set), where the limit is
 * shared by separate connections. With Redis unreachable, limits fail open at once. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "cache/cache_int.h"

#define T_US 100000 /* 10 per second */

TEST(cache_gcra_burst_then_rate) {
  const char *k = "t:gcra:1";
  int64_t t0 = 1000000000, retry = -1;
  cache_local_clear();
  for (int i = 0; i < 5; i++) CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, T_US, &retry), 1);
  CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, T_US, &retry), 0);
  CHECK_EQ_INT(retry, 100);
  CHECK_EQ_INT(cache_local_gcra(k, t0 + 40000, 5 * T_US, T_US, &retry), 0);
  CHECK_EQ_INT(retry, 60);
  CHECK_EQ_INT(cache_local_gcra(k, t0 + T_US, 5 * T_US, T_US, &retry), 1); /* refilled one */
  CHECK_EQ_INT(retry, 0);
  CHECK_EQ_INT(cache_local_gcra(k, t0 + T_US, 5 * T_US, T_US, &retry), 0);
  /* idle for a second: the full burst is back, and not more */
  int n = 0;
  for (int i = 0; i < 10; i++) n += cache_local_gcra(k, t0 + 2000000, 5 * T_US, T_US, NULL);
  CHECK_EQ_INT(n, 5);
  cache_local_clear();
}

TEST(cache_gcra_cost) {
  const char *k = "t:gcra:2";
  int64_t t0 = 1000000000, retry = -1;
  cache_local_clear();
  CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, 3 * T_US, &retry), 1);
  CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, 3 * T_US, &retry), 0); /* 2 left, 3 asked */
  CHECK_EQ_INT(retry, 100);
  CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, 2 * T_US, &retry), 1);
  CHECK_EQ_INT(cache_local_gcra(k, t0, 5 * T_US, 0, &retry), 1); /* cost 0: a peek */
  CHECK_EQ_INT(cache_local_gcra("t:gcra:3", t0, 5 * T_US, 6 * T_US, &retry), 0); /* > burst */
  CHECK_EQ_INT(retry, 100);
  cache_local_clear();
}

static void unique_key(char *buf, size_t n, const char *what) {
  snprintf(buf, n, "t:%s:%d:%lld", what, (int)getpid(), (long long)cache_mono_us());
}

TEST(cache_ratelimit_local_public) {
  char k[96];
  int64_t retry = 0;
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
  CHECK_EQ_INT(cache_backend(), CACHE_LOCAL);
  unique_key(k, sizeof k, "rl");
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(cache_ratelimit(k, 0.5, 3, 1, &retry), 1);
  CHECK_EQ_INT(cache_ratelimit(k, 0.5, 3, 1, &retry), 0);
  CHECK(retry > 1900 && retry <= 2000);
  CHECK_EQ_INT(cache_ratelimit(k, 0, 3, 1, &retry), CACHE_ERROR);
  cache_shutdown();
}

struct rl_arg { const char *key; int tries, allowed; };

static void *rl_thread(void *p) {
  struct rl_arg *a = p;
  for (int i = 0; i < a->tries; i++) a->allowed += cache_ratelimit(a->key, 0.1, 5, 1, NULL) == 1;
  cache_redis_thread_close();
  return NULL;
}

TEST(cache_ratelimit_redis_shared) {
  const char *url = getenv("VZ_TEST_REDIS_URL");
  char k[96], err[128];
  int64_t retry = 0;
  pthread_t th;
  if (!url || !*url) return;
  CHECK_EQ_INT(cache_init(url, err, sizeof err), 0);
  CHECK_EQ_INT(cache_backend(), CACHE_REDIS);
  unique_key(k, sizeof k, "rl");
  /* two threads = two connections; one bucket of 5 between them */
  struct rl_arg a = { k, 3, 0 }, b = { k, 5, 0 };
  pthread_create(&th, NULL, rl_thread, &a);
  pthread_join(th, NULL);
  pthread_create(&th, NULL, rl_thread, &b);
  pthread_join(th, NULL);
  CHECK_EQ_INT(a.allowed, 3);
  CHECK_EQ_INT(b.allowed, 2);
  CHECK_EQ_INT(cache_ratelimit(k, 0.1, 5, 1, &retry), 0);
  CHECK(retry > 9000 && retry <= 10000);
  cache_shutdown();
}

TEST(cache_ratelimit_redis_down_fails_open) {
  char err[128];
  int64_t t0 = cache_mono_us(), retry = -1;
  char *v = NULL;
  CHECK_EQ_INT(cache_init("redis://127.0.0.1:1/0", err, sizeof err), 0); /* nothing there */
  for (int i = 0; i < 50; i++) CHECK_EQ_INT(cache_ratelimit("t:down", 1, 1, 1, &retry), 1);
  CHECK_EQ_INT(retry, 0);
  CHECK_EQ_INT(cache_get("t:down", &v, NULL), CACHE_EUNAVAILABLE);
  CHECK(v == NULL);
  /* no request waits on a dead Redis: one refused connect, then "down" for a second */
  CHECK(cache_mono_us() - t0 < 1000000);
  cache_shutdown();
  CHECK_EQ_INT(cache_init("http://x", err, sizeof err), CACHE_ERROR);
  CHECK_EQ_INT(cache_init("redis://:secret@", err, sizeof err), CACHE_ERROR);
  CHECK(strstr(err, "secret") == NULL); /* never echo credentials */
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
}
