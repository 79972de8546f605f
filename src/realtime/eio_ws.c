/* eio_ws: the WebSocket transport of Engine.IO: the upgrade request (a new session, or
 * the probe of a polling one, moved to the loop that owns it), RFC 6455 frames in and
 * out through ws.h, and the vectored writes that flush a connection's queue once per
 * loop turn (see eio.c's file comment for ownership and write batching).
 *
 * Spec: Engine.IO v4 protocol, "Upgrade" and "WebSocket" transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "realtime/eio_codec.h"
#include "realtime/eio_int.h"
#include "core/log.h"

/* ---- WebSocket transport --------------------------------------------------------------- */

static void on_ws_tcp_closed(uv_handle_t *h) {
  free(h);
}

/* w is freed once closed and referenced by nothing: no write in flight, not on the
 * dirty list, not inside its own parse callbacks. */
void eio_ws_free_if_done(eio_ws *w) {
  if (!w->closed || w->wreq || w->dirty || w->in_feed) return;
  eioq_clear(&w->q);
  free(w);
}

/* Detaches w from its session and closes the TCP connection now. */
void eio_ws_close(eio_ws *w) {
  if (w->closed) return;
  w->closed = 1;
  eio_session *s = w->s;
  if (s) {
    if (s->ws == w) s->ws = NULL;
    if (s->probe == w) s->probe = NULL;
    w->s = NULL;
    if (!s->closing) eio_close(s, "transport close");
    else eio_session_free_if_done(s);
  }
  eioq_trim(&w->q);
  ws_parser_free(&w->p);
  uv_read_stop((uv_stream_t *)w->tcp);
  if (w->own_tcp) uv_close((uv_handle_t *)w->tcp, on_ws_tcp_closed);
  else vz_conn_close_detached(w->tcp);
  w->tcp = NULL;
  eio_ws_free_if_done(w);
}

static void ws_written(eio_ws *w, size_t n) {
  eio_outq *q = &w->q;
  while (n && !eioq_empty(q)) {
    ws_buf *b = q->v[q->head];
    size_t left = (size_t)b->hdr_len + b->len - q->off;
    if (n < left) { q->off += (uint32_t)n; return; }
    n -= left;
    q->off = 0;
    eioq_pop(q);
  }
}

static void on_ws_write(uv_write_t *req, int status) {
  eio_ws *w = req->data;
  free(req);
  w->wreq = NULL;
  if (w->closed) { eio_ws_free_if_done(w); return; }
  uint32_t k = w->q.inflight;
  w->q.inflight = 0;
  w->q.off = 0;
  if (status < 0) { eio_ws_close(w); return; }
  for (uint32_t i = 0; i < k; i++) eioq_pop(&w->q);
  eio_ws_flush(w);
}

static int fill_bufs(eio_outq *q, uv_buf_t *bufs, int max, uint32_t *items) {
  int nb = 0;
  uint32_t i = q->head, off = q->off;
  for (; i < q->n && nb + 2 <= max; i++, off = 0) {
    ws_buf *b = q->v[i];
    if (off < b->hdr_len) bufs[nb++] = uv_buf_init((char *)b->hdr + off, b->hdr_len - off);
    size_t doff = off > b->hdr_len ? off - b->hdr_len : 0;
    if (b->len > doff) bufs[nb++] = uv_buf_init((char *)b->data + doff, (unsigned)(b->len - doff));
  }
  *items = i - q->head;
  return nb;
}

/* Writes what is queued: vectored uv_try_write, the rest in one uv_write. */
void eio_ws_flush(eio_ws *w) {
  uv_buf_t bufs[MAX_WRITE_BUFS];
  if (w->closed || w->wreq) return;
  while (!eioq_empty(&w->q)) {
    uint32_t items;
    int nb = fill_bufs(&w->q, bufs, MAX_WRITE_BUFS, &items);
    size_t total = 0;
    for (int i = 0; i < nb; i++) total += bufs[i].len;
    int r = uv_try_write((uv_stream_t *)w->tcp, bufs, (unsigned)nb);
    if (r == UV_EAGAIN) r = 0;
    if (r < 0) { eio_ws_close(w); return; }
    if ((size_t)r == total) { ws_written(w, total); continue; }
    ws_written(w, (size_t)r);
    nb = fill_bufs(&w->q, bufs, MAX_WRITE_BUFS, &items);
    w->wreq = malloc(sizeof *w->wreq);
    if (!w->wreq) { eio_ws_close(w); return; }
    w->wreq->data = w;
    w->q.inflight = items;
    if (uv_write(w->wreq, (uv_stream_t *)w->tcp, bufs, (unsigned)nb, on_ws_write) < 0) {
      free(w->wreq);
      w->wreq = NULL;
      eio_ws_close(w);
    }
    return;
  }
  if (w->closing) eio_ws_close(w);
}

void eio_ws_mark_dirty(eio_ws *w, struct eio_loopst *ls) {
  if (!w->dirty && !w->closed) { w->dirty = 1; w->next_dirty = ls->dirty_ws; ls->dirty_ws = w; }
}

static int ws_send_raw(eio_ws *w, int op, const void *d, size_t n) {
  ws_buf *b = ws_buf_from(op, d, n);
  if (!b) return -1;
  int rc = eioq_push(&w->q, b);
  ws_buf_unref(b);
  eio_loopst *ls = eio_lst(vz_loop_current());
  eio_ws_mark_dirty(w, ls);
  return rc;
}

static void ws_fail(eio_ws *w, int code) {
  uint8_t body[2] = { (uint8_t)(code >> 8), (uint8_t)code };
  if (w->s) eio_lst(w->s->loop)->st.bad_input++;
  eioq_trim(&w->q); /* nothing more for a peer that broke the protocol but the close */
  ws_send_raw(w, WS_OP_CLOSE, body, 2);
  w->closing = 1;
  uv_read_stop((uv_stream_t *)w->tcp);
}

static void upgrade_complete(eio_session *s, eio_ws *w) {
  /* Spec "Upgrade": after "5" the WebSocket is the transport; the polling one is
   * discarded, a pending GET answered with a noop. */
  s->probe = NULL;
  w->probe = 0;
  s->ws = w;
  s->transport = T_WS;
  s->upgrading = 0;
  eio_loopst *ls = eio_lst(s->loop);
  ls->st.polling--;
  ls->st.ws++;
  ls->st.upgrades++;
  if (s->poll) {
    eio_poll *t = s->poll;
    s->poll = NULL;
    eio_ticket_reply_str(t, 200, "6");
  }
  while (!eioq_empty(&s->pq)) { /* what polling had not delivered goes first */
    eioq_push(&w->q, s->pq.v[s->pq.head]);
    eioq_pop(&s->pq);
  }
  eio_ws_mark_dirty(w, ls);
}

static int ws_on_msg(void *ud, int op, const uint8_t *d, size_t n) {
  eio_ws *w = ud;
  eio_session *s = w->s;
  if (w->closing || w->closed) return 1;
  switch (op) {
  case WS_OP_PING: ws_send_raw(w, WS_OP_PONG, d, n); return 0;
  case WS_OP_PONG: return 0;
  case WS_OP_CLOSE:
    /* §5.5.1: answer a close with a close (echoing the code), then close TCP. */
    eioq_trim(&w->q);
    ws_send_raw(w, WS_OP_CLOSE, d, n >= 2 ? 2 : 0);
    w->closing = 1;
    return 1;
  case WS_OP_BINARY:
    if (!s || w->probe || s->closing) return -WS_CLOSE_POLICY;
    return eio_deliver_msg(s, d, n, 1) < 0 ? -WS_CLOSE_POLICY : 0;
  }
  /* Text: one Engine.IO packet. */
  eio_packet pk;
  if (!s || eio_packet_decode(d, n, &pk) < 0) return -WS_CLOSE_POLICY;
  if (w->probe) {
    if (pk.type == EIO_PING && pk.len == 5 && memcmp(pk.data, "probe", 5) == 0) {
      ws_send_raw(w, WS_OP_TEXT, "3probe", 6);
      if (s->poll) { /* let the client's pending GET return so it can pause polling */
        eio_poll *t = s->poll;
        s->poll = NULL;
        eio_ticket_reply_str(t, 200, "6");
      }
      return 0;
    }
    if (pk.type == EIO_UPGRADE) { upgrade_complete(s, w); return 0; }
    return -WS_CLOSE_POLICY;
  }
  switch (pk.type) {
  case EIO_PONG: eio_on_pong(s); return 0;
  case EIO_MESSAGE: return eio_deliver_msg(s, pk.data, pk.len, 0) < 0 ? -WS_CLOSE_POLICY : 0;
  case EIO_CLOSE: eio_close(s, "transport close"); return 1;
  case EIO_NOOP: return 0;
  case EIO_PING: return 0; /* v4 clients do not ping; tolerated */
  }
  return -WS_CLOSE_POLICY;
}

static void ws_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  size_t len;
  buf->base = vz_loop_read_buf(vz_loop_current(), &len);
  buf->len = len;
}

static void ws_feed(eio_ws *w, uint8_t *d, size_t n) {
  w->in_feed = 1;
  int rc = ws_parse(&w->p, d, n, ws_on_msg, w);
  w->in_feed = 0;
  if (w->closed) { eio_ws_free_if_done(w); return; }
  if (rc < 0) ws_fail(w, -rc);
  else if (rc > 0) uv_read_stop((uv_stream_t *)w->tcp);
  if (w->closing) eio_ws_flush(w);
}

static void ws_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  eio_ws *w = st->data;
  if (n < 0) { eio_ws_close(w); return; }
  if (n == 0 || w->closing) return;
  ws_feed(w, (uint8_t *)buf->base, (size_t)n);
}

/* Starts a WebSocket on this (owning) loop: writes the 101 (and the open packet for a
 * new session), then reads. sid NULL: new session. */
static void ws_start(vz_loop *l, uv_tcp_t *tcp, int own, const char *sid, const char *accept,
                     char *rest, size_t rest_len, const eio_upper *upper) {
  eio_loopst *ls = eio_lst(l);
  eio_ws *w = calloc(1, sizeof *w);
  if (!w) {
    free(rest);
    if (own) uv_close((uv_handle_t *)tcp, on_ws_tcp_closed); else vz_conn_close_detached(tcp);
    return;
  }
  w->tcp = tcp;
  w->own_tcp = (uint8_t)own;
  tcp->data = w;
  ws_parser_init(&w->p, eio_opt.max_payload);
  char head[160];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
  ws_buf *hb = ws_buf_from(WS_OP_TEXT, head, (size_t)hn);
  if (hb) { hb->hdr_len = 0; eioq_push(&w->q, hb); ws_buf_unref(hb); }
  eio_session *s = NULL;
  if (!sid) {
    s = eio_session_new(l, T_WS);
    if (!s) { eio_ws_close(w); free(rest); return; }
    s->upper = upper;
    s->ws = w;
    w->s = s;
    w->p.max_msg = eio_msg_limit(s);
    ws_buf *op = eio_open_packet(s, 0);
    if (op) { eioq_push(&w->q, op); ws_buf_unref(op); }
  } else {
    s = eio_session_find(ls, sid);
    if (!s || s->closing || s->transport == T_WS || s->probe) {
      /* Spec: a second WebSocket for an upgraded (or unknown) session is accepted and
       * closed at once. */
      ws_buf *cb = ws_buf_from(WS_OP_CLOSE, "\x03\xe8", 2);
      if (cb) { eioq_push(&w->q, cb); ws_buf_unref(cb); }
      w->closing = 1;
      eio_ws_mark_dirty(w, ls);
      eio_ws_flush(w);
      free(rest);
      return;
    }
    s->probe = w;
    s->upgrading = 1;
    w->s = s;
    w->p.max_msg = eio_msg_limit(s);
    w->probe = 1;
  }
  eio_ws_mark_dirty(w, ls);
  uv_read_start((uv_stream_t *)tcp, ws_alloc, ws_read);
  if (rest_len) ws_feed(w, (uint8_t *)rest, rest_len);
  free(rest);
}

typedef struct ws_move {
  int fd;
  char sid[SID_LEN + 1];
  char accept[29];
  char *rest;
  size_t rest_len;
} ws_move;

static void ws_move_in(void *arg) {
  ws_move *m = arg;
  vz_loop *l = vz_loop_current();
  uv_tcp_t *tcp = malloc(sizeof *tcp);
  if (!tcp || uv_tcp_init(vz_loop_uv(l), tcp) < 0 || uv_tcp_open(tcp, m->fd) < 0) {
    free(tcp);
    close(m->fd);
    free(m->rest);
    free(m);
    return;
  }
  ws_start(l, tcp, 1, m->sid, m->accept, m->rest, m->rest_len, NULL); /* a known sid: its session has its upper */
  free(m);
}


static int header_has(vz_req *req, const char *name, const char *token) {
  const char *v = vz_req_header(req, name);
  if (!v) return 0;
  size_t tl = strlen(token);
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && t[-1] == ' ') t--;
    if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0) return 1;
    p = e;
  }
  return 0;
}

int eio_ws_upgrade(vz_req *req, const char *sid, const eio_upper *upper) {
  const char *key = vz_req_header(req, "Sec-WebSocket-Key");
  const char *ver = vz_req_header(req, "Sec-WebSocket-Version");
  char accept[29];
  if (strcmp(req->method, "GET") != 0) return eio_reply_err(req, 2);
  if (!header_has(req, "Upgrade", "websocket") || !header_has(req, "Connection", "upgrade") || !key ||
      !ver || strcmp(ver, "13") != 0 || ws_accept_key(key, strlen(key), accept) < 0)
    return eio_reply_err(req, 3);
  int owner = sid ? eio_sid_loop_index(sid) : vz_loop_index(req->loop);
  if (owner < 0) return eio_reply_err(req, 1);
  char *rest = NULL;
  size_t rest_len = 0;
  uv_tcp_t *tcp = vz_conn_detach(req, &rest, &rest_len);
  if (!tcp) return 400;
  req->status = 101;
  if (owner == vz_loop_index(req->loop)) {
    ws_start(req->loop, tcp, 0, sid, accept, rest, rest_len, upper);
    return 101;
  }
  /* The session lives on another loop: move the socket there (see the file comment). */
  uv_os_fd_t fd;
  ws_move *m = calloc(1, sizeof *m);
  if (!m || uv_fileno((uv_handle_t *)tcp, &fd) < 0 || (m->fd = dup(fd)) < 0) {
    free(m);
    free(rest);
    vz_conn_close_detached(tcp);
    return 101;
  }
  uv_read_stop((uv_stream_t *)tcp);
  vz_conn_close_detached(tcp); /* removes it from this loop's epoll, closes the original */
  snprintf(m->sid, sizeof m->sid, "%s", sid);
  memcpy(m->accept, accept, sizeof accept);
  m->rest = rest;
  m->rest_len = rest_len;
  if (vz_loop_post(vz_loop_get(owner), ws_move_in, m) < 0) {
    close(m->fd);
    free(rest);
    free(m);
  }
  return 101;
}

typedef int (*packet_fn)(void *ud, const eio_packet *pk);
