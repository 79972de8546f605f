/* conn: one HTTP/1.1 client connection on its io loop. Private to the core. */
#ifndef VZ_CONN_H
#define VZ_CONN_H
#include <http_parser.h>
#include <uv.h>
#include "core/http.h"
#include "core/loop.h"

typedef struct vz_conn {
  uv_tcp_t tcp;              /* first: a uv handle pointer is a conn pointer */
  uv_timer_t timer;          /* head / idle timeout */
  http_parser parser;
  vz_loop *loop;
  struct vz_conn *prev, *next;
  vz_req *req;               /* being parsed */
  vz_req *inflight;          /* dispatched, reply not yet sent */
  char *stash;               /* bytes read while a request was in flight */
  size_t stash_len;
  char *acc;                 /* header field/value accumulator (arena memory) */
  size_t acc_len, acc_cap;
  size_t head_bytes, body_cap, body_alloc, write_pending;
  int err_status;            /* 413/431/400 found while parsing */
  int last_cb;               /* 1 field, 2 value */
  int nreqs;
  unsigned closing : 1, close_after : 1, detached : 1, reading : 1, in_feed : 1;
  unsigned upgrade_wait : 1; /* an upgrade waits for earlier replies to leave (see conn_feed) */
  unsigned lingering : 1;    /* error reply sent, write side shut, discarding the rest */
  uv_shutdown_t shutdown;    /* lingering close: FIN after the queued replies */
  int open_handles;          /* tcp + timer not yet closed; freed at 0 */
  char ip[46];
} vz_conn;

void vz_conn_accept(vz_loop *l, uv_stream_t *server);
/* Drain: close idle connections; force=1 closes all. */
void vz_conn_close_all(vz_loop *l, int force);
/* Fuzzing and tests only (fuzz_entry.c): the parser callbacks the server uses, and a
 * replacement for vz_dispatch at message-complete. NULL in the server. */
const http_parser_settings *vz_conn_settings(void);
extern void (*vz_conn_dispatch_hook)(vz_req *req);
/* Routing and middleware, then the handler (dispatch.c). */
void vz_dispatch(vz_req *req);
/* Sets req->request_id (the client's valid X-Request-Id, or a new one); vz_dispatch does
 * it first, and an error answered before dispatch (413, 431...) calls it itself. */
void vz_req_set_id(vz_req *req);
/* Called by dispatch when the reply is set: writes it and resumes the connection. */
void vz_conn_reply_done(vz_req *req);
/* Parse-time routing (router.c): finds the route at headers-complete. */
void vz_route_match(vz_req *req);
void vz_req_free(vz_req *req);
/* Access log line + metrics for a finished request (dispatch.c). */
void vz_req_log_and_count(vz_req *req);
#endif
