/* denylist: see denylist.h. A small open hash table (sid -> until) under one mutex. The
 * latest expiry of all entries is kept apart: past it nothing is denied, so the request
 * path takes no lock at all outside the minutes after a revocation. Expired entries
 * are dropped when the table would grow. */
#include "services/auth/denylist.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bus.h"
#include "core/log.h"

typedef struct ent { int64_t id, until_s; } ent;
typedef struct table { ent *v; size_t cap, n; } table;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static table sessions;
static atomic_llong deny_until; /* the latest until_s of any entry */
static int64_t ttl = 930;

static int64_t now_s(void) { return (int64_t)time(NULL); }

static size_t slot(const table *t, int64_t id) {
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 20) & (t->cap - 1);
  while (t->v[i].id && t->v[i].id != id) i = (i + 1) & (t->cap - 1);
  return i;
}

static int put(table *t, int64_t id, int64_t until);

/* Doubles (or just rebuilds without the expired entries). */
static int regrow(table *t) {
  table old = *t;
  size_t cap = old.cap ? old.cap : 64;
  int64_t now = now_s();
  size_t alive = 0;
  for (size_t i = 0; i < old.cap; i++) alive += old.v[i].id && old.v[i].until_s > now;
  if ((alive + 1) * 2 > cap) cap *= 2;
  ent *v = calloc(cap, sizeof *v);
  if (!v) return -1;
  *t = (table){ .v = v, .cap = cap };
  for (size_t i = 0; i < old.cap; i++)
    if (old.v[i].id && old.v[i].until_s > now) put(t, old.v[i].id, old.v[i].until_s);
  free(old.v);
  return 0;
}

static int put(table *t, int64_t id, int64_t until) {
  if ((t->n + 1) * 2 > t->cap && regrow(t) < 0) return -1;
  size_t i = slot(t, id);
  if (!t->v[i].id) t->n++;
  ent *e = &t->v[i];
  e->id = id;
  if (until > e->until_s) e->until_s = until;
  return 0;
}

static void (*on_revoke)(int64_t sid);

void denylist_on_revoke(void (*fn)(int64_t sid)) { on_revoke = fn; }

static void apply(int64_t sid) {
  if (sid <= 0) return;
  int64_t until = now_s() + ttl;
  pthread_mutex_lock(&mu);
  put(&sessions, sid, until);
  if (until > atomic_load(&deny_until)) atomic_store(&deny_until, until); /* set under mu */
  pthread_mutex_unlock(&mu);
  if (on_revoke) on_revoke(sid);
}

/* Message: the session id in decimal. */
static void on_bus(const char *topic, const void *data, size_t len) {
  char buf[32], *end;
  if (strcmp(topic, "auth:deny") != 0 || len == 0 || len >= sizeof buf) return;
  memcpy(buf, data, len);
  buf[len] = 0;
  long long sid = strtoll(buf, &end, 10);
  if (*end == 0) apply(sid);
}

void denylist_session(int64_t sid) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRId64, sid);
  apply(sid); /* here first: the bus may be down, and its echo is harmless */
  static atomic_llong warned;
  if (vz_bus_publish("auth:deny", buf, (size_t)n) < 0 && vz_log_allow(&warned, 10000))
    vz_log_warn("session revocation not sent to other instances: bus down; they honour it at the token's expiry");
}

int denylist_rejects(int64_t sid) {
  int64_t now = now_s();
  if (sid <= 0 || now >= atomic_load_explicit(&deny_until, memory_order_relaxed)) return 0;
  pthread_mutex_lock(&mu);
  const ent *e = sessions.cap ? &sessions.v[slot(&sessions, sid)] : NULL;
  int deny = e && e->id == sid && e->until_s > now;
  pthread_mutex_unlock(&mu);
  return deny;
}

int denylist_init(vz_db *db, int64_t ttl_s) {
  ttl = ttl_s;
  if (vz_bus_subscribe("auth:deny", on_bus) < 0) return -1;
  if (!db) return 0;
  vz_stmt *st = NULL;
  int n = 0, rc = db_run(db, &st, "SELECT DISTINCT family_id FROM refresh_tokens WHERE revoked_at > $1", "i",
                         (now_s() - ttl) * 1000);
  /* before on_revoke is set and before any connection: nothing to end yet */
  for (; rc == DB_ROW; rc = db_step(st), n++) apply(db_col_int(st, 0));
  if (st) db_finalize(st);
  if (rc < 0) {
    vz_log_warn("recent session revocations not loaded: they are honoured at the tokens' expiry");
    return 0;
  }
  if (n) {
    char c[16];
    snprintf(c, sizeof c, "%d", n);
    vz_log_info("recently revoked sessions loaded", "count", c);
  }
  return 0;
}

void denylist_free(void) {
  pthread_mutex_lock(&mu);
  free(sessions.v);
  sessions = (table){ 0 };
  atomic_store(&deny_until, 0);
  pthread_mutex_unlock(&mu);
}
