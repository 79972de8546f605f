/* respcache: see respcache.h. The table is a small chained hash per loop; when it fills
 * up it is simply emptied (hot keys come back at once, cold ones stay out). */
#include "core/respcache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bus.h"
#include "core/loop_internal.h"
#include "db/db.h"
#include "lib/clock.h"

#define GROUPS 16
#define BUCKETS 128
#define MAX_ENTRIES 512

static struct { const char *name; atomic_uint gen; } groups[GROUPS];
static int ngroups;

typedef struct entry {
  struct entry *next;
  unsigned gen;
  uint64_t expires_ns;
  int gzip;       /* variant: stored for a client that accepts gzip */
  int encoded;    /* body is gzipped (only bodies over 1 KB are, see vz_gzip_reply) */
  char *key, *body;
  size_t len;
  const char *type;
} entry;

typedef struct rcache { entry *b[BUCKETS]; int n; } rcache;

static int group_index(const char *name) {
  for (int i = 0; i < ngroups; i++)
    if (strcmp(groups[i].name, name) == 0) return i;
  return -1;
}

/* Groups are registered at start (single-threaded), looked up read-only afterwards. */
static int group_of(const vz_route *r) {
  if (!r->cache_group) return -1;
  int g = group_index(r->cache_group);
  if (g < 0 && ngroups < GROUPS) {
    groups[ngroups].name = r->cache_group;
    g = ngroups++;
  }
  return g;
}

static void bump_local(const char *name) {
  int g = group_index(name);
  if (g >= 0) atomic_fetch_add(&groups[g].gen, 1);
}

static void bump_now(const char *group) {
  bump_local(group);
  char topic[64];
  snprintf(topic, sizeof topic, "inv:%s", group);
  vz_bus_publish(topic, "", 0); /* other instances; our own echo bumps once more, harmless */
}

static void bump_after_commit(void *group) {
  bump_now(group);
  free(group);
}

vz_db *vz_worker_db_current(void);

/* Inside a transaction the bump waits for its commit: bumped earlier, a read between the
 * bump and the commit would cache the old rows again for the whole cache_ms. */
void vz_cache_bump(const char *group) {
  vz_db *db = vz_worker_db_current();
  if (db && db_tx_depth(db) > 0) {
    char *g = strdup(group);
    if (g && db_after_commit(db, bump_after_commit, g, free) == 0) return;
    free(g);
  }
  bump_now(group);
}

static void on_invalidate(const char *topic, const void *data, size_t len) {
  (void)data;
  (void)len;
  bump_local(topic + 4);
}

int vz_respcache_init(void) {
  for (int i = 0; i < vz_route_count(); i++) group_of(vz_route_at(i));
  return vz_bus_subscribe("inv:", on_invalidate);
}

static unsigned long hash(const char *s) {
  unsigned long h = 5381;
  while (*s) h = h * 33 + (unsigned char)*s++;
  return h;
}

static char *key_of(vz_req *req) {
  return vz_arena_printf(req->arena, "%d %s?%s", req->route->idx, req->path, req->query);
}

static int cacheable(vz_req *req) {
  return req->route && req->route->cache_ms > 0 && !strcmp(req->method, "GET") &&
         !vz_req_header(req, "Authorization");
}

int vz_respcache_lookup(vz_req *req) {
  if (!cacheable(req)) return 0;
  rcache *c = req->loop->rcache;
  int g = group_of(req->route);
  if (!c || g < 0) return 0;
  char *key = key_of(req);
  if (!key) return 0;
  unsigned gen = atomic_load_explicit(&groups[g].gen, memory_order_relaxed);
  for (entry *e = c->b[hash(key) % BUCKETS]; e; e = e->next) {
    if (e->gzip != req->accepts_gzip || strcmp(e->key, key)) continue;
    if (e->gen != gen || vz_mono_ns() > e->expires_ns) return 0;
    vz_reply_bytes(req, 200, e->type, e->body, e->len);
    if (e->encoded) {
      vz_add_header(req, "Content-Encoding", "gzip");
      vz_add_header(req, "Vary", "Accept-Encoding");
    }
    vz_add_header(req, "X-Cache", "hit");
    return 1;
  }
  return 0;
}

static void free_entry(entry *e) {
  free(e->key);
  free(e->body);
  free(e);
}

static void clear(rcache *c) {
  for (int i = 0; i < BUCKETS; i++) {
    for (entry *e = c->b[i], *n; e; e = n) {
      n = e->next;
      free_entry(e);
    }
    c->b[i] = NULL;
  }
  c->n = 0;
}

void vz_respcache_store(vz_req *req) {
  if (!cacheable(req) || req->status != 200 || !req->res_body || !req->loop) return;
  int g = group_of(req->route);
  if (g < 0) return;
  rcache *c = req->loop->rcache;
  if (!c && !(c = req->loop->rcache = calloc(1, sizeof *c))) return;
  char *key = key_of(req);
  if (!key) return;
  unsigned long h = hash(key) % BUCKETS;
  for (entry **p = &c->b[h]; *p; p = &(*p)->next) /* drop a stale copy */
    if ((*p)->gzip == req->accepts_gzip && !strcmp((*p)->key, key)) {
      entry *old = *p;
      *p = old->next;
      free_entry(old);
      c->n--;
      break;
    }
  if (c->n >= MAX_ENTRIES) clear(c);
  entry *e = calloc(1, sizeof *e);
  if (!e) return;
  e->key = strdup(key);
  e->body = malloc(req->res_len);
  if (!e->key || !e->body) { free_entry(e); return; }
  memcpy(e->body, req->res_body, req->res_len);
  e->len = req->res_len;
  e->type = req->res_type;
  e->gzip = req->accepts_gzip;
  for (int i = 0; i < req->nres_headers; i++)
    if (!strcasecmp(req->res_headers[i].name, "Content-Encoding")) e->encoded = 1;
  /* The generation read at dispatch, before the handler ran: if a write bumped it while
   * the handler read the database, this copy is stale at once and never served. */
  e->gen = req->cache_gen;
  e->expires_ns = vz_mono_ns() + (uint64_t)req->route->cache_ms * 1000000ull;
  e->next = c->b[h];
  c->b[h] = e;
  c->n++;
}

void vz_respcache_free(vz_loop *l) {
  if (!l->rcache) return;
  clear(l->rcache);
  free(l->rcache);
  l->rcache = NULL;
}

unsigned vz_respcache_gen(const vz_route *r) {
  int g = group_of(r);
  return g < 0 ? 0 : atomic_load(&groups[g].gen);
}
