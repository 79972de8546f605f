/* dispatch: the fixed middleware order every request passes (nginx phases): request id,
 * CORS, route found, rate limit, auth/role, validation, then the handler on the worker pool
 * (the default) or, for VZ_ON_LOOP / VZ_ASYNC routes, on the loop. The reply is finished
 * here: common headers, gzip, log, metrics. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/forwarded.h"
#include "core/conn.h"
#include "core/fault.h"
#include "core/idempotency.h"
#include "core/log.h"
#include "core/loop_internal.h"
#include "core/respcache.h"
#include "db/db.h"
#include "lib/clock.h"

vz_hooks vz_hook;
int vz_validate_body_or_fail(vz_req *req);
int vz_validate_query_or_fail(vz_req *req);
char *vz_route_allow(vz_req *req);
void vz_gzip_reply(vz_req *req);

static _Thread_local uint64_t rid_counter;
static _Thread_local unsigned rid_prefix;

static int rid_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
          *s == '_' || *s == '.'))
      return 0;
  return 1;
}

void vz_req_set_id(vz_req *req) {
  const char *in = vz_req_header(req, "X-Request-Id");
  if (in && rid_ok(in)) {
    snprintf(req->request_id, sizeof req->request_id, "%s", in);
    return;
  }
  if (!rid_prefix) {
    uint32_t r;
    do { r = (uint32_t)random() ^ (uint32_t)(vz_mono_ns() >> 7) ^ (uint32_t)(uintptr_t)&rid_counter; } while (!r);
    rid_prefix = r;
  }
  snprintf(req->request_id, sizeof req->request_id, "%08x%012llx", rid_prefix, (unsigned long long)++rid_counter);
}

/* Origin allowed by --cors-origins ("*" or an exact comma-separated match). */
static int origin_allowed(const char *origin) {
  const char *list = vz_cfg.cors_origins;
  if (!*list || !origin) return 0;
  if (strcmp(list, "*") == 0) return 1;
  size_t n = strlen(origin);
  for (const char *s = list; s && *s;) {
    while (*s == ' ') s++;
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    while (len && s[len - 1] == ' ') len--;
    if (len == n && strncmp(s, origin, n) == 0) return 1;
    s = comma ? comma + 1 : NULL;
  }
  return 0;
}

static void add_common_headers(vz_req *req) {
  if (req->cors_ok) {
    vz_add_header(req, "Access-Control-Allow-Origin", req->origin);
    vz_add_header(req, "Access-Control-Allow-Credentials", "true");
    vz_add_header(req, "Vary", "Origin");
    vz_add_header(req, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Idempotent-Replayed");
  }
  /* API answers are never framed, sniffed or cached by intermediaries. */
  vz_add_header(req, "X-Content-Type-Options", "nosniff");
  if (!req->route || !(req->route->flags & VZ_PREFIX)) {
    vz_add_header(req, "X-Frame-Options", "DENY");
    vz_add_header(req, "Referrer-Policy", "no-referrer");
  }
}

static const char *vz_req_res_header(vz_req *req, const char *name) {
  for (int i = 0; i < req->nres_headers; i++)
    if (!strcasecmp(req->res_headers[i].name, name)) return req->res_headers[i].value;
  return NULL;
}

void vz_req_free(vz_req *req) {
  free(req->res_body);
  vz_arena_free(req->arena);
}

void vz_req_log_and_count(vz_req *req) {
  double secs = (double)(vz_mono_ns() - req->start_ns) / 1e9;
  vz_metrics_observe(&req->loop->m, req->route ? req->route->idx : VZ_MAX_ROUTES, req->status, secs);
  if (vz_log_level > VZ_LOG_INFO || (req->route && (req->route->flags & VZ_NO_LOG))) return;
  char st[8], ms[32], uid[24];
  snprintf(st, sizeof st, "%d", req->status);
  snprintf(ms, sizeof ms, "%.3f", secs * 1000);
  snprintf(uid, sizeof uid, "%lld", (long long)req->user_id);
  vz_log(req->status >= 500 ? VZ_LOG_ERROR : VZ_LOG_INFO, "request", "rid", req->request_id, "method", req->method,
         "path", req->path, "route", req->route ? req->route->path : "", "status", st, "ms", ms, "uid",
         req->user_id ? uid : "", "ip", req->ip, (char *)0);
}

/* Everything after the handler: the reply leaves here, on the owning loop. */
static void finish(vz_req *req) {
  if (!req->replied) vz_fail(req, 500, "internal", NULL, "the server could not answer");
  add_common_headers(req);
  if (req->accepts_gzip && !vz_req_res_header(req, "Content-Encoding")) vz_gzip_reply(req);
  if (req->route && req->route->cache_ms && !vz_req_res_header(req, "X-Cache")) vz_respcache_store(req);
  vz_req_log_and_count(req);
  vz_conn_reply_done(req);
}

void vz_req_finish(vz_req *req) { finish(req); }

/* ---- worker pool ---------------------------------------------------------------- */

typedef struct job { uv_work_t w; vz_req *req; } job;
static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static vz_db *all_dbs[512];
static int ndbs;
static _Thread_local vz_db *tl_db, *tl_db_read;

static vz_db *open_tracked(const char *url) {
  vz_db *db = NULL;
  char err[256];
  if (db_open(url, &db, err, sizeof err) < 0) {
    vz_log_error("database unavailable", "error", err);
    return NULL;
  }
  pthread_mutex_lock(&dbs_lock);
  if (ndbs < 512) all_dbs[ndbs++] = db;
  pthread_mutex_unlock(&dbs_lock);
  return db;
}

/* This thread's connection, opened on first use (each worker owns one). */
vz_db *vz_worker_db(void) {
  if (!tl_db) tl_db = open_tracked(vz_cfg.db_url);
  return tl_db;
}

/* This thread's connection if it has one, never opening it (NULL off the workers). */
vz_db *vz_worker_db_current(void) { return tl_db; }

/* The replica is an optimisation, never a dependency: when it cannot be opened or a
 * request on it failed with 503 and a ping confirms it is gone, this thread reads from
 * the primary for REPLICA_RETRY_NS before trying the replica again. */
#define REPLICA_RETRY_NS 5000000000ull
static _Thread_local uint64_t tl_replica_down_until;

vz_db *vz_worker_db_read(void) {
  if (!vz_cfg.replica_url[0] || vz_mono_ns() < tl_replica_down_until) return vz_worker_db();
  if (!tl_db_read) tl_db_read = open_tracked(vz_cfg.replica_url);
  if (!tl_db_read) tl_replica_down_until = vz_mono_ns() + REPLICA_RETRY_NS;
  return tl_db_read ? tl_db_read : vz_worker_db();
}

static void replica_check(vz_req *req) {
  if (req->status != 503 || !tl_db_read || req->db_read != tl_db_read || db_ping(tl_db_read) == 0) return;
  tl_replica_down_until = vz_mono_ns() + REPLICA_RETRY_NS;
  vz_log_warn("read replica unreachable: reading from the primary for 5 s", "error", db_errmsg(tl_db_read));
}

void vz_worker_close_all(void) {
  pthread_mutex_lock(&dbs_lock);
  for (int i = 0; i < ndbs; i++) db_close(all_dbs[i]);
  ndbs = 0;
  pthread_mutex_unlock(&dbs_lock);
}

/* A route whose records must commit with its change (audit row, stored idempotent answer)
 * runs inside the request transaction (idempotency.h); any other runs as it is. Either
 * way no transaction level survives the request: a dangling one would make the next
 * request's db_begin on this connection a savepoint of it (db.h). */
static void work_cb(uv_work_t *w) {
  vz_req *req = ((job *)w)->req;
  vz_metrics_queue(-1);
  vz_log_context_set(req->request_id, req->user_id, req->route->path);
  uint64_t t0 = vz_mono_ns();
  req->db = vz_worker_db();
  req->db_read = vz_worker_db_read();
  if (!req->db) {
    vz_add_header(req, "Retry-After", "2");
    vz_fail(req, 503, "unavailable", NULL, "database unavailable, retry shortly");
    vz_log_context_clear();
    return;
  }
  vz_fault_enter(req->method, req->route->path); /* debug builds: the fault-count window */
  if (req->route->flags & (VZ_AUDIT | VZ_IDEMPOTENT)) vz_tx_run(req); /* one transaction with its audit row */
  else req->route->handler(req);
  vz_fault_leave();
  if (db_tx_depth(req->db) > 0) {
    vz_log_warn("handler left a transaction open; rolled back");
    while (db_tx_depth(req->db) > 0) db_rollback(req->db);
  }
  if (req->route->flags & VZ_IDEMPOTENT) vz_idem_sweep(req->db);
  replica_check(req);
  req->db = req->db_read = NULL;
  vz_metrics_db((double)(vz_mono_ns() - t0) / 1e9);
  vz_log_context_clear();
}

static void after_work_cb(uv_work_t *w, int status) {
  vz_req *req = ((job *)w)->req;
  if (status == UV_ECANCELED) vz_fail(req, 503, "unavailable", NULL, "server shutting down");
  finish(req);
}

/* ---- the pipeline ---------------------------------------------------------------- */

int vz_role_flag(int r) {
  switch (r) {
  case VZ_R_USER: return VZ_AUTH;
  case VZ_R_SELLER: return VZ_ROLE_SELLER;
  case VZ_R_MODERATOR: return VZ_ROLE_MODERATOR;
  case VZ_R_ADMIN: return VZ_ROLE_ADMIN;
  default: return 0;
  }
}

int vz_role_allows(int have, int need) {
  need &= VZ_AUTH | VZ_ROLE_FLAGS;
  if (!need) return 1;
  if (have < VZ_R_USER || have > VZ_R_ADMIN) return 0;
  if (!(need & VZ_ROLE_FLAGS) || have == VZ_R_ADMIN) return 1;
  return (need & vz_role_flag(have) & VZ_ROLE_FLAGS) != 0;
}

static int authenticate_or_fail(vz_req *req) {
  const char *h = vz_req_header(req, "Authorization");
  int need = req->route->flags & (VZ_AUTH | VZ_ROLE_FLAGS);
  if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
    if (!need) return 0;
    vz_add_header(req, "WWW-Authenticate", "Bearer");
    return vz_fail(req, 401, "unauthenticated", NULL, "sign in first (Authorization: Bearer <token>)");
  }
  if (!vz_hook.authenticate || vz_hook.authenticate(h + 7, &req->user_id, &req->role, &req->session_id) != 0) {
    req->user_id = 0;
    req->role = VZ_R_NONE;
    if (!need) return 0; /* a public route still answers, as anonymous */
    vz_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return vz_fail(req, 401, "unauthenticated", NULL, "invalid or expired token");
  }
  if (vz_role_allows(req->role, need)) return 0;
  return vz_fail(req, 403, "forbidden", NULL, "your role may not do this");
}

int (*vz_ratelimit_hook)(const char *key, int per_min, int *retry_after_s);

/* rate_per_min for this route and caller: per signed-in user on VZ_RATE_USER routes (many
 * users share one NAT address), else per client IP. 1 when refused (429 sent). */
static int rate_limit_or_fail(vz_req *req) {
  const vz_route *r = req->route;
  if (!r->rate_per_min || !vz_ratelimit_hook) return 0;
  char key[160];
  int retry = 0;
  if ((r->flags & VZ_RATE_USER) && req->user_id)
    snprintf(key, sizeof key, "rl:%d:u%lld", r->idx, (long long)req->user_id);
  else
    snprintf(key, sizeof key, "rl:%d:%s", r->idx, req->ip);
  if (vz_ratelimit_hook(key, r->rate_per_min, &retry)) return 0;
  char ra[16];
  snprintf(ra, sizeof ra, "%d", retry > 0 ? retry : 1);
  vz_add_header(req, "Retry-After", ra);
  req->loop->m.ratelimited++;
  vz_fail(req, 429, "rate_limited", NULL, "too many requests, retry in %s s", ra);
  return 1;
}

static int preflight(vz_req *req) {
  if (!req->cors_ok) return vz_fail(req, 403, "forbidden", NULL, "origin not allowed");
  vz_add_header(req, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  const char *h = vz_req_header(req, "Access-Control-Request-Headers");
  vz_add_header(req, "Access-Control-Allow-Headers", h && strlen(h) < 512 ? h : "Authorization, Content-Type");
  vz_add_header(req, "Access-Control-Max-Age", "600");
  return vz_reply_empty(req, 204);
}

/* Every X-Forwarded-For line joined in order (RFC 9110 5.3: repeated fields are one
 * comma list). HAProxy's forwardfor adds its own line after the client's, so reading only
 * the first line would read the client's. */
static const char *forwarded_for(vz_req *req) {
  const char *joined = NULL;
  for (int i = 0; i < req->nheaders; i++) {
    if (strcasecmp(req->headers[i].name, "X-Forwarded-For")) continue;
    joined = joined ? vz_arena_printf(req->arena, "%s, %s", joined, req->headers[i].value) : req->headers[i].value;
    if (!joined) return NULL;
  }
  return joined;
}

void vz_dispatch(vz_req *req) {
  vz_req_set_id(req);
  if (vz_cfg.trust_proxy) /* behind N proxies: the Nth hop from the right (forwarded.c) */
    vz_forwarded_client(forwarded_for(req), vz_cfg.trust_proxy, req->ip, sizeof req->ip);
  const char *ae = vz_req_header(req, "Accept-Encoding");
  req->accepts_gzip = ae && strstr(ae, "gzip") != NULL;
  req->origin = vz_req_header(req, "Origin");
  req->cors_ok = origin_allowed(req->origin);
  const vz_route *r = req->route;
  int st = req->status;
  req->status = 0;

  if (strcmp(req->method, "OPTIONS") == 0 && vz_req_header(req, "Access-Control-Request-Method") &&
      !(r && (r->flags & VZ_PREFIX) && strcmp(r->method, "*") == 0)) {
    preflight(req);
    goto done;
  }
  if (!r) {
    if (st == 400) vz_fail(req, 400, "bad_request", NULL, "malformed or unsafe path");
    else if (st == 405) {
      vz_add_header(req, "Allow", vz_route_allow(req));
      vz_fail(req, 405, "method_not_allowed", NULL, "%s is not allowed here", req->method);
    } else vz_fail(req, 404, "not_found", NULL, "no such endpoint");
    goto done;
  }
  /* per IP before anything else is spent; VZ_RATE_USER routes count once the user is known */
  if (!(r->flags & VZ_RATE_USER) && rate_limit_or_fail(req)) goto done;
  if (r->cache_ms) {
    req->cache_gen = vz_respcache_gen(r);
    if (vz_respcache_lookup(req)) goto done;
  }
  if (authenticate_or_fail(req) || ((r->flags & VZ_RATE_USER) && rate_limit_or_fail(req)) ||
      vz_validate_query_or_fail(req) || vz_validate_body_or_fail(req))
    goto done;
  if ((r->flags & VZ_IDEMPOTENT) && vz_idem_check_or_fail(req)) goto done; /* pool routes only (router.c) */
  if (vz_route_on_pool(r)) {
    job *j = vz_arena_calloc(req->arena, sizeof *j);
    if (!j) { vz_fail(req, 503, "unavailable", NULL, "server busy"); goto done; }
    j->req = req;
    j->w.data = j;
    vz_metrics_queue(1);
    if (uv_queue_work(vz_loop_uv(req->loop), &j->w, work_cb, after_work_cb) == 0) return;
    vz_metrics_queue(-1);
    vz_fail(req, 503, "unavailable", NULL, "server busy");
    goto done;
  }
  /* on-loop handlers log with the request's context too; cleared before the access line
   * and before the loop serves anything else (a VZ_ASYNC reply that comes later is
   * outside it) */
  vz_log_context_set(req->request_id, req->user_id, r->path);
  vz_fault_enter(req->method, r->path);
  int hrc = r->handler(req);
  vz_fault_leave();
  vz_log_context_clear();
  if (hrc == VZ_PENDING) return; /* VZ_ASYNC: vz_req_finish comes later */
  if (!req->conn) { /* the handler took the connection (WebSocket upgrade) */
    if (!req->status) req->status = 101;
    vz_req_log_and_count(req);
    vz_req_free(req);
    return;
  }
done:
  finish(req);
}
