/* conn: HTTP/1.1 connections: read, parse (http-parser), limits, timeouts, write.
 *
 * Reads land in the loop's shared 64 KB buffer (no per-connection buffer while idle,
 * which keeps 10k idle keep-alive connections cheap). The parser copies what it needs
 * into the request's arena as it goes. Pipelined requests are answered in order: while
 * one is in flight (worker pool, long-poll) further bytes are stashed, not parsed.
 * Limits: head size (431), URL length (414), body size (413), head/body/idle timeouts
 * (408 or a silent close), so a slow or hostile client costs bounded memory and time. */
#include "core/conn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop_internal.h"
#include "lib/clock.h"

#define MAX_HEADERS 64
#define MAX_URL 8192
#define MAX_STASH (256 * 1024)
/* Replies queued for a client that does not read: past this many bytes the connection
 * stops reading AND parsing, so pipelined requests cannot pile up replies in memory
 * (63 KB of pipelined GET /metrics once held 16 MB). One large reply still goes out. */
#define WRITE_HIGH_WATER (256 * 1024)
/* Lingering close after an error reply (413 to an upload, 400...): the client is often
 * still sending its body; closing with unread bytes makes the kernel send RST, which
 * destroys the reply before most clients read it. Shut the write side, discard what
 * arrives for at most this long, then close (nginx's lingering_close, same reason). */
#define LINGER_MS 3000

static http_parser_settings settings;
void (*vz_conn_dispatch_hook)(vz_req *req);
const http_parser_settings *vz_conn_settings(void) { return &settings; }

static void conn_close(vz_conn *c);
static void conn_feed(vz_conn *c, const char *data, size_t len);
static void conn_linger(vz_conn *c);

static int write_blocked(const vz_conn *c) { return c->write_pending >= WRITE_HIGH_WATER; }

/* ---- timers ---------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t) {
  vz_conn *c = t->data;
  /* Processing is not the client's fault; an upgrade held back because the client does
   * not read its earlier replies is (see conn_feed). */
  if (c->inflight && !c->upgrade_wait) return;
  if (c->lingering) { conn_close(c); return; }
  if (c->req) {
    c->loop->m.bad_requests++;
    /* Content-Length is computed, not written by hand: a wrong one left clients waiting. */
    static const char body[] = "{\"error\":{\"code\":\"timeout\",\"message\":\"request not received in time\"}}";
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  }
  conn_close(c);
}

static void arm_timer(vz_conn *c, int ms) { uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0); }

/* ---- lifecycle ---------------------------------------------------------------- */

static void unlink_conn(vz_conn *c) {
  vz_loop *l = c->loop;
  if (c->prev) c->prev->next = c->next;
  else if (l->conns == c) l->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* Both handles are closed together and the conn is freed when the last one is done.
 * Closing the timer from the tcp close callback instead raced the drain deadline: the
 * loop's final uv_walk closed the still-open timer first, then the callback closed it
 * again (libuv asserts !uv__is_closing) and the conn leaked. */
static void on_handle_closed(uv_handle_t *h) {
  vz_conn *c = h->data;
  if (--c->open_handles == 0) free(c);
}

static void close_handles(vz_conn *c) {
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void drop_parse_state(vz_conn *c) {
  if (c->req) {
    vz_req_free(c->req);
    c->req = NULL;
  }
  free(c->acc);
  c->acc = NULL;
  c->acc_len = c->acc_cap = 0;
  free(c->stash);
  c->stash = NULL;
  c->stash_len = 0;
}

static void conn_close(vz_conn *c) {
  if (c->closing) return;
  c->closing = 1;
  vz_loop *l = c->loop;
  unlink_conn(c);
  l->nconns--;
  l->m.conns_open--;
  drop_parse_state(c);
  if (c->upgrade_wait && c->inflight) { /* never dispatched: nobody else holds it */
    vz_req_free(c->inflight);
    c->inflight = NULL;
  }
  if (c->inflight) {
    vz_req *r = c->inflight;
    r->conn = NULL; /* orphaned: the worker or async owner finishes and frees it */
    if ((r->route && (r->route->flags & VZ_ASYNC)) && r->on_abort) {
      c->inflight = NULL;
      r->on_abort(r);
      vz_req_free(r);
    }
  }
  uv_timer_stop(&c->timer);
  close_handles(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  vz_conn *c = h->data;
  vz_loop *l = c->loop;
  /* One shared buffer per loop: a read callback always runs before the next alloc. */
  buf->base = l->read_buf;
  buf->len = 65536;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  vz_conn *c = s->data;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0) return;
  if (c->lingering) return; /* the rest of a refused request: discarded */
  if (c->inflight || c->in_feed || write_blocked(c)) {
    /* Reply pending: keep the bytes for later (bounded), keep reading to see EOF. */
    if (c->stash_len + (size_t)n > MAX_STASH) {
      uv_read_stop(s);
      c->reading = 0;
      return;
    }
    char *ns = realloc(c->stash, c->stash_len + (size_t)n);
    if (!ns) { conn_close(c); return; }
    memcpy(ns + c->stash_len, buf->base, (size_t)n);
    c->stash = ns;
    c->stash_len += (size_t)n;
    return;
  }
  conn_feed(c, buf->base, (size_t)n);
}

static void start_reading(vz_conn *c) {
  if (c->reading || c->closing || c->detached) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) c->reading = 1;
}

void vz_conn_accept(vz_loop *l, uv_stream_t *server) {
  vz_conn *c = calloc(1, sizeof *c);
  if (!c) return;
  uv_tcp_init(&l->uv, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
    return;
  }
  c->tcp.data = c;
  c->loop = l;
  uv_timer_init(&l->uv, &c->timer);
  c->timer.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) uv_ip4_name((struct sockaddr_in *)&ss, c->ip, sizeof c->ip);
    else uv_ip6_name((struct sockaddr_in6 *)&ss, c->ip, sizeof c->ip);
  }
  c->next = l->conns;
  if (l->conns) l->conns->prev = c;
  l->conns = c;
  l->nconns++;
  l->m.conns_open++;
  l->m.conns_total++;
  arm_timer(c, vz_cfg.header_timeout_ms);
  start_reading(c);
}

void vz_conn_close_all(vz_loop *l, int force) {
  vz_conn *c = l->conns;
  while (c) {
    vz_conn *next = c->next;
    if (force || (!c->inflight && !c->req && !c->write_pending)) conn_close(c);
    else c->close_after = 1;
    c = next;
  }
}

/* ---- writing ------------------------------------------------------------------- */

/* The write request carries its connection: the handle's data pointer is not ours
 * once a WebSocket upgrade took the handle (it points at the WebSocket then). */
typedef struct wreq { uv_write_t w; vz_conn *c; char *head, *body; size_t bytes; } wreq;

static void resume(vz_conn *c);

static void after_write(uv_write_t *w, int status) {
  wreq *r = (wreq *)w;
  vz_conn *c = r->c;
  free(r->head);
  free(r->body);
  c->write_pending -= r->bytes;
  free(r);
  if (c->closing || c->detached) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (c->lingering) return;
  if (c->upgrade_wait) { /* the replies before the upgrade have left: now it may run */
    if (c->write_pending) return;
    c->upgrade_wait = 0;
    uv_timer_stop(&c->timer);
    vz_dispatch(c->inflight);
    return;
  }
  if (c->close_after && !c->write_pending && !c->inflight) conn_close(c);
  else if (!c->inflight && !write_blocked(c)) resume(c); /* parse what waited, read again */
}

/* Writes head+body, taking ownership of both buffers. */
static void conn_write(vz_conn *c, char *head, size_t hlen, char *body, size_t blen) {
  uv_buf_t bufs[2] = { uv_buf_init(head, (unsigned)hlen), uv_buf_init(body ? body : "", (unsigned)blen) };
  int nb = blen ? 2 : 1;
  int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)nb);
  if (n == (int)(hlen + blen)) {
    free(head);
    free(body);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    free(head);
    free(body);
    conn_close(c);
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  if (done >= hlen) {
    bufs[0] = uv_buf_init(body + (done - hlen), (unsigned)(blen - (done - hlen)));
    nb = 1;
  } else {
    bufs[0].base += done;
    bufs[0].len -= done;
  }
  wreq *r = malloc(sizeof *r);
  if (!r) { free(head); free(body); conn_close(c); return; }
  r->c = c;
  r->head = head;
  r->body = body;
  r->bytes = hlen + blen - done;
  c->write_pending += r->bytes;
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, bufs, (unsigned)nb, after_write) < 0) {
    c->write_pending -= r->bytes;
    free(head);
    free(body);
    free(r);
    conn_close(c);
    return;
  }
  if (write_blocked(c) && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

static const char *reason(int s) {
  switch (s) {
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static const char *date_header(vz_loop *l) {
  time_t now = time(NULL);
  if (now != l->date_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(l->date, sizeof l->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    l->date_sec = now;
  }
  return l->date;
}

void vz_conn_reply_done(vz_req *req) {
  vz_conn *c = req->conn;
  if (!c) { /* the client left meanwhile */
    vz_req_free(req);
    return;
  }
  c->inflight = NULL;
  if (!req->keep_alive || vz_draining() || c->err_status || c->parser.upgrade) c->close_after = 1;
  size_t cap = 512;
  for (int i = 0; i < req->nres_headers; i++)
    cap += strlen(req->res_headers[i].name) + strlen(req->res_headers[i].value) + 4;
  char *head = malloc(cap);
  if (!head) { vz_req_free(req); conn_close(c); return; }
  int n = snprintf(head, cap,
                   "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n%s%s%s",
                   req->status, reason(req->status), date_header(c->loop), req->res_len, req->request_id,
                   req->res_type ? "Content-Type: " : "", req->res_type ? req->res_type : "",
                   req->res_type ? "\r\n" : "");
  for (int i = 0; i < req->nres_headers && n > 0 && (size_t)n < cap; i++)
    n += snprintf(head + n, cap - (size_t)n, "%s: %s\r\n", req->res_headers[i].name, req->res_headers[i].value);
  if (n > 0 && (size_t)n < cap)
    n += snprintf(head + n, cap - (size_t)n, "%s\r\n",
                  c->close_after ? "Connection: close\r\n"
                                 : (req->parser_http10 ? "Connection: keep-alive\r\n" : ""));
  if (n < 0 || (size_t)n >= cap) { free(head); vz_req_free(req); conn_close(c); return; }
  char *body = req->head_only ? NULL : req->res_body;
  size_t blen = req->head_only ? 0 : req->res_len;
  if (req->head_only) free(req->res_body);
  req->res_body = NULL;
  vz_req_free(req);
  conn_write(c, head, (size_t)n, body, blen);
  if (c->closing) return;
  if (c->close_after && c->err_status) { /* the client may still be sending: linger */
    conn_linger(c);
    return;
  }
  if (c->close_after && !c->write_pending) {
    conn_close(c);
    return;
  }
  if (!c->in_feed) resume(c);
}

static void on_shutdown(uv_shutdown_t *s, int status) {
  vz_conn *c = s->handle->data;
  if (status < 0 && status != UV_ECANCELED && !c->closing) conn_close(c);
}

/* After an error reply: FIN once the reply is out (uv_shutdown waits for queued writes),
 * keep reading and discarding until the client closes or LINGER_MS pass. */
static void conn_linger(vz_conn *c) {
  c->lingering = 1;
  drop_parse_state(c);
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
    conn_close(c);
    return;
  }
  arm_timer(c, LINGER_MS);
  start_reading(c);
}

/* After a reply: parse what arrived meanwhile, then read again. */
static void resume(vz_conn *c) {
  if (c->closing || c->inflight || c->lingering) return;
  if (write_blocked(c)) { /* the client is not reading its replies: after_write resumes */
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    return;
  }
  if (c->stash_len) {
    char *s = c->stash;
    size_t n = c->stash_len;
    c->stash = NULL;
    c->stash_len = 0;
    conn_feed(c, s, n);
    free(s);
    if (c->closing || c->inflight) return;
  }
  if (!c->req) arm_timer(c, vz_cfg.idle_timeout_ms);
  if (!write_blocked(c)) start_reading(c);
}

/* ---- parsing ------------------------------------------------------------------- */

static int acc_add(vz_conn *c, const char *at, size_t len) {
  if (c->acc_len + len + 1 > c->acc_cap) {
    size_t cap = c->acc_cap ? c->acc_cap * 2 : 256;
    while (cap < c->acc_len + len + 1) cap *= 2;
    char *n = realloc(c->acc, cap);
    if (!n) return -1;
    c->acc = n;
    c->acc_cap = cap;
  }
  memcpy(c->acc + c->acc_len, at, len);
  c->acc_len += len;
  c->acc[c->acc_len] = 0;
  return 0;
}

static int fail_parse(vz_conn *c, int status) {
  c->err_status = status;
  return -1; /* any value but 0, 1, 2 stops http-parser (1 in headers-complete means "no body") */
}

static int on_message_begin(http_parser *p) {
  vz_conn *c = p->data;
  vz_arena *a = vz_arena_new(0);
  vz_req *r = a ? vz_arena_calloc(a, sizeof *r) : NULL;
  if (!r) { vz_arena_free(a); return fail_parse(c, 503); }
  r->arena = a;
  r->conn = c;
  r->loop = c->loop;
  r->start_ns = vz_mono_ns();
  r->headers = vz_arena_alloc(a, MAX_HEADERS * sizeof(vz_header));
  memcpy(r->ip, c->ip, sizeof c->ip);
  c->req = r;
  c->head_bytes = 0;
  c->last_cb = 0;
  c->acc_len = 0;
  c->nreqs++;
  arm_timer(c, vz_cfg.header_timeout_ms);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  vz_conn *c = p->data;
  c->head_bytes += len;
  if (c->acc_len + len > MAX_URL) return fail_parse(c, 414);
  return acc_add(c, at, len) ? fail_parse(c, 503) : 0;
}

static int commit_url(vz_conn *c) {
  if (c->req->path) return 0;
  c->req->path = vz_arena_strndup(c->req->arena, c->acc ? c->acc : "", c->acc_len);
  c->acc_len = 0;
  return c->req->path ? 0 : -1;
}

static int commit_header(vz_conn *c) {
  vz_req *r = c->req;
  if (r->nheaders >= MAX_HEADERS) return fail_parse(c, 431);
  if (!c->acc) return fail_parse(c, 400); /* a header line with neither name nor value */
  char *sep = memchr(c->acc, 0, c->acc_len); /* field\0value */
  if (!sep || sep == c->acc) return fail_parse(c, 400);
  /* RFC 9112 5.1: "A server MUST reject, with a response status code of 400 (Bad Request),
   * any received request message that contains whitespace between a header field name
   * and colon." http-parser (non-strict) lets spaces into names; a name is a token. */
  for (const char *p = c->acc; p < sep; p++)
    if (!strchr("!#$%&'*+-.^_`|~", *p) && !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return fail_parse(c, 400);
  vz_header *h = &r->headers[r->nheaders++];
  h->name = vz_arena_strdup(r->arena, c->acc);
  h->value = vz_arena_strndup(r->arena, sep + 1, c->acc_len - (size_t)(sep + 1 - c->acc));
  c->acc_len = 0;
  return h->name && h->value ? 0 : fail_parse(c, 503);
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  vz_conn *c = p->data;
  c->head_bytes += len;
  if (c->head_bytes > vz_cfg.max_header) return fail_parse(c, 431);
  if (c->last_cb == 0 && commit_url(c)) return fail_parse(c, 503);
  if (c->last_cb == 2 && commit_header(c)) return -1;
  c->last_cb = 1;
  return acc_add(c, at, len) ? fail_parse(c, 503) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  vz_conn *c = p->data;
  c->head_bytes += len;
  if (c->head_bytes > vz_cfg.max_header) return fail_parse(c, 431);
  if (c->last_cb == 1) {
    static const char nul = 0;
    if (acc_add(c, &nul, 1)) return fail_parse(c, 503); /* NUL separates field from value */
  }
  c->last_cb = 2;
  return acc_add(c, at, len) ? fail_parse(c, 503) : 0;
}

static int on_headers_complete(http_parser *p) {
  vz_conn *c = p->data;
  vz_req *r = c->req;
  if (c->last_cb == 0 && commit_url(c)) return fail_parse(c, 503);
  if (c->last_cb == 2 && commit_header(c)) return fail_parse(c, c->err_status ? c->err_status : 400);
  free(c->acc);
  c->acc = NULL;
  c->acc_len = c->acc_cap = 0;
  /* RFC 9110 15.6.6: 505 for a major version we do not speak (http-parser takes any digit). */
  if (p->http_major != 1 || p->http_minor > 1) return fail_parse(c, 505);
  r->method = http_method_str((enum http_method)p->method);
  r->keep_alive = http_should_keep_alive(p) ? 1 : 0;
  r->parser_http10 = p->http_major == 1 && p->http_minor == 0;
  r->head_only = p->method == HTTP_HEAD;
  vz_route_match(r);
  size_t max = vz_cfg.max_body;
  if (r->route && r->route->max_body) max = r->route->max_body;
  c->body_cap = max;
  if (p->content_length != ULLONG_MAX && p->content_length > max) return fail_parse(c, 413);
  if (p->content_length != ULLONG_MAX && p->content_length > 0) {
    char *b = vz_arena_alloc(r->arena, (size_t)p->content_length + 1);
    if (!b) return fail_parse(c, 413);
    r->body = b;
    c->body_alloc = (size_t)p->content_length + 1;
  } else {
    c->body_alloc = 0;
  }
  arm_timer(c, vz_cfg.idle_timeout_ms);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  vz_conn *c = p->data;
  vz_req *r = c->req;
  if (r->body_len + len > c->body_cap) return fail_parse(c, 413);
  if (r->body_len + len + 1 > c->body_alloc) { /* chunked or longer than announced */
    size_t cap = c->body_alloc > 512 ? c->body_alloc : 1024;
    while (cap < r->body_len + len + 1) cap *= 2;
    char *nb = vz_arena_alloc(r->arena, cap);
    if (!nb) return fail_parse(c, 413);
    if (r->body_len) memcpy(nb, r->body, r->body_len);
    r->body = nb;
    c->body_alloc = cap;
  }
  memcpy((char *)r->body + r->body_len, at, len);
  r->body_len += len;
  return 0;
}

static int on_message_complete(http_parser *p) {
  vz_conn *c = p->data;
  vz_req *r = c->req;
  if (r->body) ((char *)r->body)[r->body_len] = 0;
  else r->body = "";
  uv_timer_stop(&c->timer);
  c->req = NULL;
  c->inflight = r;
  if (p->upgrade) {
    /* The bytes after this request belong to the new protocol: conn_feed collects them
     * into the stash before dispatching, so vz_conn_detach can hand them over. */
    http_parser_pause(p, 1);
    return 0;
  }
  if (vz_conn_dispatch_hook) vz_conn_dispatch_hook(r);
  else vz_dispatch(r);
  /* Stop at a reply still being made, and at replies the client is not reading: the
   * rest of the bytes wait in the stash (bounded) instead of becoming more replies. */
  if (c->inflight || c->closing || write_blocked(c)) http_parser_pause(p, 1);
  return 0;
}

static void reply_parse_error(vz_conn *c, int status) {
  vz_req *r = c->req;
  c->req = NULL;
  if (!r) { /* error before a request began: make a bare one to reply with */
    vz_arena *a = vz_arena_new(0);
    r = a ? vz_arena_calloc(a, sizeof *r) : NULL;
    if (!r) { vz_arena_free(a); conn_close(c); return; }
    r->arena = a;
    r->loop = c->loop;
    r->conn = c;
    r->start_ns = vz_mono_ns();
    r->method = "?";
  }
  if (!r->path) r->path = "";
  r->route = NULL;
  c->loop->m.bad_requests++;
  c->close_after = 1;
  c->inflight = r;
  const char *msg = status == 413 ? "request body too large"
                    : status == 431 ? "request headers too large"
                    : status == 414 ? "request URL too long"
                    : status == 503 ? "server busy"
                    : status == 505 ? "only HTTP/1.0 and HTTP/1.1 are served" : "malformed HTTP request";
  const char *code = status == 413 ? "payload_too_large"
                     : status == 431 ? "headers_too_large"
                     : status == 414 ? "uri_too_long"
                     : status == 503 ? "unavailable"
                     : status == 505 ? "http_version_not_supported" : "bad_request";
  if (!r->request_id[0]) vz_req_set_id(r); /* the answer and its log line carry one too */
  vz_fail(r, status, code, NULL, "%s", msg);
  vz_req_log_and_count(r);
  vz_conn_reply_done(r);
}

static void conn_feed(vz_conn *c, const char *data, size_t len) {
  c->in_feed = 1;
  while (len > 0 && !c->closing) {
    size_t n = http_parser_execute(&c->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    data += n;
    len -= n;
    if (e == HPE_PAUSED) {
      http_parser_pause(&c->parser, 0);
      if (c->parser.upgrade && c->inflight) {
        /* Hand the rest to the upgrade handler through the stash. */
        if (len) {
          char *s = malloc(len);
          if (!s) { conn_close(c); break; }
          memcpy(s, data, len);
          free(c->stash);
          c->stash = s;
          c->stash_len = len;
        }
        len = 0;
        c->in_feed = 0;
        if (c->write_pending) {
          /* Earlier pipelined replies are still queued on the handle, and the upgrade
           * hands the handle to the WebSocket: wait until they have left (after_write
           * dispatches), reading nothing meanwhile; the idle timer ends a client that
           * never reads them. */
          c->upgrade_wait = 1;
          if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
          c->reading = 0;
          arm_timer(c, vz_cfg.idle_timeout_ms);
          return;
        }
        vz_dispatch(c->inflight);
        return;
      }
      if ((c->inflight || write_blocked(c)) && len) {
        char *s = realloc(c->stash, c->stash_len + len);
        if (!s) { conn_close(c); break; }
        memmove(s + len, s, c->stash_len); /* unparsed bytes go before later reads */
        memcpy(s, data, len);
        c->stash = s;
        c->stash_len += len;
        len = 0;
      }
      if (!c->inflight && write_blocked(c) && c->reading) { /* after_write resumes */
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
      }
      continue;
    }
    if (e != HPE_OK) {
      int status = c->err_status ? c->err_status : 400;
      reply_parse_error(c, status);
      break;
    }
    if (c->parser.upgrade) break; /* upgrade without a complete message: ignore rest */
  }
  c->in_feed = 0;
  /* A reply written on the loop inside this feed skipped resume(): between requests the
   * idle timer must run again, or a keep-alive connection could idle forever. */
  if (!c->closing && !c->inflight && !c->req && !c->detached && !c->lingering) arm_timer(c, vz_cfg.idle_timeout_ms);
}

/* ---- detach for WebSocket ------------------------------------------------------------ */

uv_tcp_t *vz_conn_detach(vz_req *req, char **rest, size_t *rest_len) {
  vz_conn *c = req->conn;
  /* Queued writes would complete against a handle that is no longer a vz_conn's. */
  if (!c || c->closing || c->write_pending) return NULL;
  *rest = c->stash;
  *rest_len = c->stash_len;
  c->stash = NULL;
  c->stash_len = 0;
  if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  uv_timer_stop(&c->timer);
  unlink_conn(c);
  c->loop->nconns--;
  c->loop->m.conns_open--;
  c->detached = 1;
  c->inflight = NULL;
  req->conn = NULL;
  free(c->acc);
  c->acc = NULL;
  return &c->tcp;
}

void vz_conn_close_detached(uv_tcp_t *h) {
  vz_conn *c = (vz_conn *)h;
  if (uv_is_closing((uv_handle_t *)h)) return;
  close_handles(c);
}

__attribute__((constructor)) static void init_settings(void) {
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
}
