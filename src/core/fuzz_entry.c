/* fuzz_entry: the request path without sockets, for tests/fuzz/http_request.c. Bytes go
 * through http-parser with the server's own callbacks (conn.c: limits, header
 * accumulation, body framing, routing at headers-complete), then each complete request
 * through what dispatch runs before a handler: query and body validation, fields=,
 * limit, cursor decoding and the 404/405 answers. Nothing here is reached by `serve`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop_internal.h"
#include "core/ops.h"
#include "core/service.h"
#include "services/services.h"

int vz_fuzz_http(const uint8_t *data, size_t len);
int vz_validate_query_or_fail(vz_req *req);
int vz_validate_body_or_fail(vz_req *req);
char *vz_route_allow(vz_req *req);

static vz_loop fuzz_loop;

static void fuzz_dispatch(vz_req *r) {
  vz_conn *c = r->conn;
  if (r->route) {
    if (!vz_validate_query_or_fail(r) && !vz_validate_body_or_fail(r)) {
      (void)vz_req_limit(r);
      const char *cur = vz_req_query(r, "cursor");
      if (cur) (void)vz_cursor_decode_or_fail(r, cur);
      const char *id = vz_req_param(r, "id");
      int64_t v;
      if (id) (void)vz_parse_id(id, &v);
      if (vz_req_query(r, "fields")) vz_reply_item(r, 200, json_pack("{s:s, s:i}", "id", "1", "name", 2));
    }
  } else if (r->status == 405) {
    (void)vz_route_allow(r);
  }
  c->inflight = NULL;
  vz_req_free(r);
}

/* Runs once; a failure is remembered, so no later input runs with the socket-writing
 * dispatcher instead of fuzz_dispatch. */
static int fuzz_init(void) {
  static int state; /* 0: not yet, 1: ready, -1: failed */
  if (state) return state > 0 ? 0 : -1;
  state = -1;
  vz_config_defaults(&vz_cfg);
  vz_log_level = VZ_LOG_ERROR + 1;
  /* Services keep files under the data dir (media, a generated secret): give them a
   * private one, so the target runs in a fresh checkout and writes nothing into it. */
  char dir[] = "/tmp/vidzo-fuzz-XXXXXX";
  if (!mkdtemp(dir)) return -1;
  snprintf(vz_cfg.data_dir, sizeof vz_cfg.data_dir, "%s", dir);
  snprintf(vz_cfg.jwt_secret, sizeof vz_cfg.jwt_secret, "fuzz-secret-0123456789abcdef0123456789");
  if (uv_loop_init(&fuzz_loop.uv)) return -1;
  char err[256];
  /* Services may open the database at start (payments keeps a connection for its
   * sandbox): give them a file in the private dir. Requests never reach a handler here,
   * so it needs no tables. */
  snprintf(vz_cfg.db_url, sizeof vz_cfg.db_url, "sqlite:%s/vidzo.db", dir);
  if (vz_ops_init() < 0 || vz_services_init(vz_service_list, err, sizeof err) < 0 ||
      vz_services_start(vz_service_list, err, sizeof err) < 0) {
    fprintf(stderr, "fuzz_init: %s\n", err);
    return -1;
  }
  vz_conn_dispatch_hook = fuzz_dispatch;
  state = 1;
  return 0;
}

/* Returns 0 when the input parsed to the end, 1 when the parser refused it. */
int vz_fuzz_http(const uint8_t *data, size_t len) {
  if (fuzz_init() < 0) return -1;
  vz_conn *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->loop = &fuzz_loop;
  uv_timer_init(&fuzz_loop.uv, &c->timer);
  c->timer.data = c;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  /* The first byte picks a split point, so callbacks also see values cut in two. */
  size_t split = len ? (size_t)data[0] % (len + 1) : 0;
  const char *p = (const char *)data;
  const char *parts[2] = { p, p + split };
  size_t lens[2] = { split, len - split };
  int refused = 0;
  for (int i = 0; i < 2 && !refused; i++) {
    const char *d = parts[i];
    size_t n = lens[i];
    while (n > 0) {
      size_t used = http_parser_execute(&c->parser, vz_conn_settings(), d, n);
      enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
      d += used;
      n -= used;
      if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        if (c->inflight) fuzz_dispatch(c->inflight); /* upgrade: dispatched after the pause */
        if (c->parser.upgrade) { refused = 1; break; }
        continue;
      }
      if (e != HPE_OK || c->parser.upgrade) { refused = 1; break; }
    }
  }
  if (c->req) vz_req_free(c->req);
  free(c->acc);
  free(c->stash);
  uv_close((uv_handle_t *)&c->timer, NULL);
  uv_run(&fuzz_loop.uv, UV_RUN_NOWAIT);
  free(c);
  return refused;
}
