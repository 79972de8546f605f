/* ops: the endpoints operators and load balancers use. /healthz answers on the loop
 * (alive), /readyz asks the database on a worker and goes 503 as soon as draining
 * starts, so a balancer stops sending before the listener closes. */
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/ops.h"
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
  static const char ok[] = "{\"status\":\"ready\"}";
  return vz_reply_bytes(req, 200, "application/json", ok, sizeof ok - 1);
}

static int metrics(vz_req *req) {
  size_t len = 0;
  char *text = vz_metrics_render(&len);
  if (!text) return vz_fail(req, 503, "unavailable", NULL, "out of memory");
  vz_reply_empty(req, 200);
  req->res_body = text;
  req->res_len = len;
  req->res_type = "text/plain; version=0.0.4";
  return 200;
}

static vz_route ops_routes[] = {
  { "GET", "/healthz", healthz, NULL, VZ_NO_LOG, NULL, 0, 0, 0 },
  { "GET", "/v1/health", healthz, NULL, VZ_NO_LOG, NULL, 0, 0, 0 },
  { "GET", "/readyz", readyz, NULL, VZ_WORKER | VZ_NO_LOG, NULL, 0, 0, 0 },
  { "GET", "/metrics", metrics, NULL, VZ_NO_LOG, NULL, 0, 0, 0 },
  { 0 },
};

int vz_ops_init(void) { return vz_routes_add(ops_routes); }
