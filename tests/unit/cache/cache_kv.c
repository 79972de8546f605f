/* Invariant: get returns exactly the bytes set (NULs included) until the TTL passes or
 * the key is deleted or taken (take: once); incrby adds atomically from 0 and re-arms its TTL; a value that is
 * not an integer is refused, not reinterpreted. Same behaviour on the local backend and,
 * when VZ_TEST_REDIS_URL is set, on Redis, including after Redis drops our connection. */
#include <hiredis/hiredis.h>
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

static void kv_body(int *vz_failed) {
  char k[64], c[96], *v = NULL;
  size_t len = 0;
  int64_t n = 0;
  static const char bin[] = { 'a', 0, 'b', 0, (char)0xff };
  snprintf(k, sizeof k, "t:kv:%d:%p", (int)getpid(), (void *)&k);
  snprintf(c, sizeof c, "%s:count", k);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_MISS);
  CHECK_EQ_INT(cache_set(k, bin, sizeof bin, 0), CACHE_OK);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_OK);
  CHECK_EQ_INT(len, sizeof bin);
  int same = memcmp(v, bin, sizeof bin) == 0 && v[len] == 0;
  free(v);
  CHECK(same);
  CHECK_EQ_INT(cache_set(k, "", 0, 0), CACHE_OK); /* empty is a value, not a miss */
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_OK);
  CHECK_EQ_INT(len, 0);
  free(v);
  CHECK_EQ_INT(cache_del(k), CACHE_OK);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_MISS);
  CHECK_EQ_INT(cache_del(k), CACHE_OK); /* deleting a missing key is fine */

  /* take: the value once, then gone */
  CHECK_EQ_INT(cache_set(k, "once", 4, 0), CACHE_OK);
  CHECK_EQ_INT(cache_take(k, &v, &len), CACHE_OK);
  CHECK_EQ_INT(len, 4);
  CHECK_EQ_STR(v, "once");
  free(v);
  CHECK_EQ_INT(cache_take(k, &v, &len), CACHE_MISS);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_MISS);

  CHECK_EQ_INT(cache_set(k, "x", 1, 50), CACHE_OK);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_OK);
  free(v);
  usleep(120000);
  CHECK_EQ_INT(cache_get(k, &v, &len), CACHE_MISS);

  CHECK_EQ_INT(cache_incrby(c, 5, 0, &n), CACHE_OK);
  CHECK_EQ_INT(n, 5);
  CHECK_EQ_INT(cache_incrby(c, -7, 80, &n), CACHE_OK);
  CHECK_EQ_INT(n, -2);
  CHECK_EQ_INT(cache_get(c, &v, &len), CACHE_OK);
  CHECK_EQ_STR(v, "-2");
  free(v);
  usleep(150000);
  CHECK_EQ_INT(cache_incrby(c, 1, 0, &n), CACHE_OK); /* expired: starts again from 0 */
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_INT(cache_set(k, "abc", 3, 0), CACHE_OK);
  CHECK_EQ_INT(cache_incrby(k, 1, 0, &n), CACHE_ERROR);
  cache_del(k);
  cache_del(c);
}

TEST(cache_kv_local) {
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
  kv_body(vz_failed);
  cache_shutdown();
}

TEST(cache_kv_redis) {
  const char *url = getenv("VZ_TEST_REDIS_URL");
  char err[128], *v = NULL;
  size_t len;
  if (!url || !*url) return;
  CHECK_EQ_INT(cache_init(url, err, sizeof err), 0);
  kv_body(vz_failed);
  if (*vz_failed) goto out;
  CHECK_EQ_INT(cache_set("t:kv:reconnect", "1", 1, 10000), CACHE_OK);
  /* Redis drops every ordinary client (as on a restart): the next call reconnects */
  redisContext *admin = admin_connect(url);
  if (admin && !admin->err) {
    redisReply *r = redisCommand(admin, "CLIENT KILL TYPE normal SKIPME yes");
    if (r) freeReplyObject(r);
  }
  if (admin) redisFree(admin);
  CHECK_EQ_INT(cache_get("t:kv:reconnect", &v, &len), CACHE_OK);
  CHECK_EQ_STR(v, "1");
  free(v);
out:
  cache_shutdown();
}
