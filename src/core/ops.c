/* ops: the endpoints operators and load balancers use. /healthz answers on the loop
 * (alive), /readyz asks the database on a worker and goes 503 as soon as draining
 * starts, so a balancer stops sending before the listener closes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/fault.h"
#include "core/http.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/ops.h"
#include "core/contract.h"
#include "db/db.h"

static int healthz(vz_req *req) {
  static const char ok[] = "{\"status\":\"ok\"}";
  return vz_reply_bytes(req, 200, "application/json", ok, sizeof ok - 1);
}

static int readyz(vz_req *req) {
  if (vz_draining()) {
    vz_add_header(req, "Retry-After", "5");
    return vz_fail(req, 503, "draining", NULL, "shutting down");
  }
  if (db_ping(req->db) != 0) {
    vz_add_header(req, "Retry-After", "2");
    return vz_fail(req, 503, "unavailable", NULL, "database unreachable");
  }
  if (vz_hook.ready && vz_hook.ready() != 0) {
    vz_add_header(req, "Retry-After", "2");
    return vz_fail(req, 503, "unavailable", NULL, "a dependency is unreachable");
  }
  char why[192];
  if (vz_hook.ready_why && vz_hook.ready_why(why, sizeof why) != 0) {
    vz_add_header(req, "Retry-After", "2");
    return vz_fail(req, 503, "unavailable", NULL, "a dependency is unreachable: %s", why);
  }
  static const char ok[] = "{\"status\":\"ready\"}";
  return vz_reply_bytes(req, 200, "application/json", ok, sizeof ok - 1);
}

/* --metrics-token: the series name routes, counts and memory; an operator may keep them
 * from the public. Compared as fixed-size digests so timing says nothing of the token. */
static int metrics_allowed(vz_req *req) {
  if (!vz_cfg.metrics_token[0]) return 1;
  const char *h = vz_req_header(req, "Authorization");
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 0;
  unsigned char want[32], got[32];
  crypto_generichash(want, sizeof want, (const unsigned char *)vz_cfg.metrics_token, strlen(vz_cfg.metrics_token),
                     NULL, 0);
  crypto_generichash(got, sizeof got, (const unsigned char *)h + 7, strlen(h + 7), NULL, 0);
  return sodium_memcmp(want, got, sizeof want) == 0;
}

/* Rendering walks every route x status on every loop: done on the pool, not the io loop,
 * so a scraper (or an attacker, when the endpoint is open) cannot stall other clients. */
typedef struct metrics_job { uv_work_t w; vz_req *req; char *text; size_t len; } metrics_job;

static void metrics_render_cb(uv_work_t *w) {
  metrics_job *j = w->data;
  j->text = vz_metrics_render(&j->len);
}

static void metrics_done_cb(uv_work_t *w, int status) {
  metrics_job *j = w->data;
  vz_req *req = j->req;
  if (status < 0 || !j->text) {
    free(j->text);
    vz_fail(req, 503, "unavailable", NULL, "metrics unavailable");
  } else {
    vz_reply_empty(req, 200);
    req->res_body = j->text;
    req->res_len = j->len;
    req->res_type = "text/plain; version=0.0.4";
  }
  vz_req_finish(req);
}

static int metrics(vz_req *req) {
  if (!metrics_allowed(req)) {
    vz_add_header(req, "WWW-Authenticate", "Bearer");
    return vz_fail(req, 401, "unauthenticated", NULL, "metrics need the operator's bearer token");
  }
  metrics_job *j = vz_arena_calloc(req->arena, sizeof *j);
  if (!j) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  j->req = req;
  j->w.data = j;
  if (uv_queue_work(vz_loop_uv(req->loop), &j->w, metrics_render_cb, metrics_done_cb) != 0)
    return vz_fail(req, 503, "unavailable", NULL, "server busy");
  return VZ_PENDING;
}

static vz_route ops_routes[] = {
  /* alive: answered by the loop itself, so a stuck pool does not look like a dead process */
  VZ_GET("/healthz", healthz, .op = "getHealth", .summary = "Alive: answered on the io loop, no database",
         .res = "=Health", .tag = "ops", .flags = VZ_ON_LOOP | VZ_NO_LOG),
  VZ_GET("/v1/health", healthz, .op = "getHealthV1", .summary = "The same as /healthz, under /v1", .res = "=Health",
         .tag = "ops", .flags = VZ_ON_LOOP | VZ_NO_LOG),
  /* asks the database: on the pool */
  VZ_GET("/readyz", readyz, .op = "getReady",
         .summary = "Ready for traffic: the database answers and the server is not draining", .res = "=Ready",
         .tag = "ops", .flags = VZ_NO_LOG),
  VZ_GET("/metrics", metrics, .op = "getMetrics",
         .summary = "Prometheus text exposition (bearer token when --metrics-token is set)", .res = "=Metrics",
         .res_type = "text/plain; version=0.0.4", .errors = "401 503", .tag = "ops", .flags = VZ_ASYNC | VZ_NO_LOG),
  { 0 },
};

int vz_ops_init(void) {
  if (vz_routes_add(ops_routes) < 0 || vz_contract_routes_add() < 0) return -1;
#ifdef VZ_DEBUG
  /* fault injection (core/fault.h): debug builds run with --dev only; release has no route */
  if (vz_cfg.dev && vz_fault_routes_add() < 0) return -1;
#endif
  return 0;
}
