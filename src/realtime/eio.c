/* eio: Engine.IO v4 sessions and transports on the io loops.
 *
 * Ownership. A session belongs to the loop that created it, for life; its sid starts
 * with that loop's index, so a polling request that SO_REUSEPORT delivered to another
 * loop is posted to the owner (vz_loop_post), and the owner posts the reply back. A
 * WebSocket that upgrades a session owned elsewhere has its file descriptor moved to
 * the owner (dup, close on the accepting loop, uv_tcp_open on the owner), so all of a
 * session's state is touched by one thread only.
 *
 * Writes. Nothing is written when it is queued: a session with output goes on its
 * loop's dirty list, and a uv_check callback (after the poll phase, once per loop
 * turn) writes each dirty WebSocket with one vectored uv_try_write of every queued
 * frame; only what the kernel refuses goes to a uv_write. Frames are shared ws_bufs,
 * so a broadcast is encoded once. A queue past eio_opt.max_queue bytes means a slow
 * consumer: it is dropped, never allowed to grow memory.
 *
 * Memory. Reads use the loop's shared buffer (vz_loop_read_buf); an idle WebSocket
 * session holds the session, its parser state and the core's detached connection,
 * and no buffers.
 *
 * Spec: Engine.IO v4 protocol (socketio/engine.io-protocol, README "Protocol"). */
#include "realtime/eio.h"
#include "realtime/eio_int.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "realtime/eio_codec.h"
#include "core/http.h"
#include "core/log.h"
#include "core/loop.h"

eio_options eio_opt = { 25000, 20000, 1000000, 4u << 20 };

static eio_loopst *all_loops[64];

static int eio_slot = -1; /* taken in eio_init */
eio_loopst *eio_lst(vz_loop *l) { return *vz_loop_slot(l, eio_slot); }

static void poll_flush(eio_session *s);

/* ---- out queue ----------------------------------------------------------------- */

int eioq_push(eio_outq *q, ws_buf *b) {
  if (q->n == q->cap) {
    if (q->head > 0 && q->head >= q->n / 2 && q->inflight == 0 && q->off == 0) {
      memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
      q->n -= q->head;
      q->head = 0;
    } else if (!q->v) {
      q->v = q->inl; /* a few frames per turn need no allocation */
      q->cap = 4;
    } else {
      uint32_t cap = q->cap * 2;
      ws_buf **v = q->v == q->inl ? malloc(cap * sizeof *v) : realloc(q->v, cap * sizeof *v);
      if (!v) return -1;
      if (q->v == q->inl) memcpy(v, q->inl, q->n * sizeof *v);
      q->v = v;
      q->cap = cap;
    }
  }
  ws_buf_ref(b);
  q->v[q->n++] = b;
  q->bytes += b->len + b->hdr_len;
  return 0;
}

void eioq_pop(eio_outq *q) {
  ws_buf *b = q->v[q->head++];
  q->bytes -= b->len + b->hdr_len;
  ws_buf_unref(b);
  if (q->head == q->n) { /* empty: an idle connection keeps no array */
    if (q->v != q->inl) free(q->v);
    q->v = NULL;
    q->head = q->n = q->cap = 0;
  }
}

void eioq_clear(eio_outq *q) {
  for (uint32_t i = q->head; i < q->n; i++) ws_buf_unref(q->v[i]);
  if (q->v != q->inl) free(q->v);
  memset(q, 0, sizeof *q);
}

/* Drops what has not started to go out; keeps the items a write in flight uses and a
 * frame already partly written (cutting it would corrupt the stream). */
void eioq_trim(eio_outq *q) {
  uint32_t keep = q->inflight ? q->inflight : (q->off ? 1 : 0);
  for (uint32_t i = q->head + keep; i < q->n; i++) {
    q->bytes -= q->v[i]->len + q->v[i]->hdr_len;
    ws_buf_unref(q->v[i]);
  }
  q->n = q->head + keep;
  if (eioq_empty(q)) eioq_clear(q);
}

/* ---- sessions ---------------------------------------------------------------------- */

static uint64_t hash_sid(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < SID_LEN && s[i]; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

eio_session *eio_session_find(eio_loopst *ls, const char *sid) {
  if (!ls->tab_cap || strlen(sid) != SID_LEN) return NULL;
  for (eio_session *s = ls->tab[hash_sid(sid) & (ls->tab_cap - 1)]; s; s = s->hnext)
    if (memcmp(s->sid, sid, SID_LEN) == 0) return s;
  return NULL;
}

static int session_insert(eio_loopst *ls, eio_session *s) {
  if (ls->count + 1 > ls->tab_cap / 2) {
    size_t cap = ls->tab_cap ? ls->tab_cap * 2 : 1024;
    eio_session **tab = calloc(cap, sizeof *tab);
    if (!tab) return -1;
    for (size_t i = 0; i < ls->tab_cap; i++)
      for (eio_session *e = ls->tab[i], *nx; e; e = nx) {
        nx = e->hnext;
        size_t k = hash_sid(e->sid) & (cap - 1);
        e->hnext = tab[k];
        tab[k] = e;
      }
    free(ls->tab);
    ls->tab = tab;
    ls->tab_cap = cap;
  }
  size_t k = hash_sid(s->sid) & (ls->tab_cap - 1);
  s->hnext = ls->tab[k];
  ls->tab[k] = s;
  ls->count++;
  return 0;
}

static void session_remove(eio_loopst *ls, eio_session *s) {
  eio_session **pp = &ls->tab[hash_sid(s->sid) & (ls->tab_cap - 1)];
  for (; *pp; pp = &(*pp)->hnext)
    if (*pp == s) { *pp = s->hnext; ls->count--; return; }
}

static const char sid_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int eio_sid_loop_index(const char *sid) {
  if (!sid || strlen(sid) != SID_LEN) return -1;
  const char *p = strchr(sid_chars, sid[0]);
  if (!p || !*sid) return -1;
  int i = (int)(p - sid_chars);
  return i < vz_loop_count() ? i : -1;
}

static void on_hb_timer(uv_timer_t *t);

/* A message for the upper layer. */
int eio_deliver_msg(eio_session *s, const uint8_t *d, size_t n, int binary) {
  return s->upper->on_message(s, d, n, binary);
}

int eio_send_message(eio_session *s, const uint8_t *d, size_t n, int binary) {
  ws_buf *b = binary ? ws_buf_from(WS_OP_BINARY, d, n) : ws_buf_new(WS_OP_TEXT, n + 1);
  if (!b) return -1;
  if (!binary) {
    b->data[0] = '4';
    if (n) memcpy(b->data + 1, d, n);
  }
  int rc = eio_send(s, b);
  ws_buf_unref(b);
  return rc;
}

eio_session *eio_session_new(vz_loop *l, int transport) {
  eio_loopst *ls = eio_lst(l);
  eio_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  uint8_t rnd[SID_LEN];
  randombytes_buf(rnd, sizeof rnd);
  s->sid[0] = sid_chars[vz_loop_index(l)];
  for (int i = 1; i < SID_LEN; i++) s->sid[i] = sid_chars[rnd[i] & 63];
  s->loop = l;
  s->transport = (uint8_t)transport;
  if (session_insert(ls, s) < 0) { free(s); return NULL; }
  uv_timer_init(vz_loop_uv(l), &s->timer);
  s->timer.data = s;
  s->hb = HB_PING_WAIT;
  uv_timer_start(&s->timer, on_hb_timer, (uint64_t)eio_opt.ping_interval_ms, 0);
  vz_loop_hold(l, 1);
  ls->st.sessions++;
  if (transport == T_WS) ls->st.ws++; else ls->st.polling++;
  return s;
}

/* The open packet (spec "Handshake"): sid, upgrades, pingInterval, pingTimeout,
 * maxPayload, nothing else. */
ws_buf *eio_open_packet(const eio_session *s, int from_polling) {
  char tmp[256];
  int n = snprintf(tmp, sizeof tmp,
                   "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%d,\"pingTimeout\":%d,"
                   "\"maxPayload\":%zu}",
                   s->sid, from_polling ? "\"websocket\"" : "", eio_opt.ping_interval_ms,
                   eio_opt.ping_timeout_ms, eio_opt.max_payload);
  return ws_buf_from(WS_OP_TEXT, tmp, (size_t)n);
}

static int send_text(eio_session *s, const char *txt, size_t n) {
  ws_buf *b = ws_buf_from(WS_OP_TEXT, txt, n);
  if (!b) return -1;
  int rc = eio_send(s, b);
  ws_buf_unref(b);
  return rc;
}

size_t eio_msg_limit(const eio_session *s) {
  if (s->upper->accepted_from_start || s->accepted || eio_opt.max_payload < EIO_PRE_ACCEPT_MAX) return eio_opt.max_payload;
  return EIO_PRE_ACCEPT_MAX;
}

/* The parsers check a frame's length against max_msg when its header arrives, so the
 * new limit holds from the next frame; the CONNECT that led here is already parsed. */
void eio_session_accept(eio_session *s) {
  s->accepted = 1;
  if (s->ws) s->ws->p.max_msg = eio_msg_limit(s);
  if (s->probe) s->probe->p.max_msg = eio_msg_limit(s);
}

void **eio_session_data(eio_session *s) { return &s->data; }
int eio_session_open(const eio_session *s) { return !s->closing; }
vz_loop *eio_session_loop(const eio_session *s) { return s->loop; }

/* Marks a slow consumer; on_check closes it. Closing here would run disconnect
 * callbacks (room leaves) inside the broadcast loop that is sending to it. */
static void drop_slow(eio_session *s) {
  if (s->drop) return;
  s->drop = 1;
  eio_loopst *ls = eio_lst(s->loop);
  ls->st.slow_dropped++;
  vz_log_warn("realtime: slow consumer dropped", "sid", s->sid);
  if (s->ws) {
    eioq_trim(&s->ws->q); /* its backlog is what we refuse to keep */
    eio_ws_mark_dirty(s->ws, ls);
  } else if (!s->dirty) {
    s->dirty = 1;
    s->next_dirty = ls->dirty_polls;
    ls->dirty_polls = s;
  }
}

int eio_send(eio_session *s, ws_buf *b) {
  if (s->closing || s->drop) return -1;
  eio_ws *w = s->transport == T_WS ? s->ws : NULL;
  eio_outq *q = w ? &w->q : &s->pq;
  if (q->bytes + b->len > eio_opt.max_queue) {
    drop_slow(s);
    return -1;
  }
  if (eioq_push(q, b) < 0) {
    drop_slow(s);
    return -1;
  }
  eio_loopst *ls = eio_lst(s->loop);
  if (w) {
    if (!w->dirty) { w->dirty = 1; w->next_dirty = ls->dirty_ws; ls->dirty_ws = w; }
  } else if (s->poll && !s->dirty) {
    s->dirty = 1;
    s->next_dirty = ls->dirty_polls;
    ls->dirty_polls = s;
  }
  return 0;
}

/* ---- heartbeat ---------------------------------------------------------------------- */

/* Spec "Heartbeat": the server sends a ping every pingInterval; the client answers with
 * a pong; with no pong within pingTimeout the server considers the connection closed. */
static void on_hb_timer(uv_timer_t *t) {
  eio_session *s = t->data;
  if (s->closing) return;
  if (s->hb == HB_PING_WAIT) {
    send_text(s, "2", 1);
    s->hb = HB_PONG_WAIT;
    uv_timer_start(&s->timer, on_hb_timer, (uint64_t)eio_opt.ping_timeout_ms, 0);
    /* Timers run before the poll phase and on_check after it: left to on_check, the
     * ping would wait for the loop's next I/O (up to pingTimeout on an idle loop, and
     * the session would time out on its own ping). Write it now. (The dirty-list
     * entry stays; on_check then finds nothing to do.) */
    if (s->ws) eio_ws_flush(s->ws);
    else poll_flush(s);
  } else {
    eio_close(s, "ping timeout");
  }
}

void eio_on_pong(eio_session *s) {
  if (s->hb != HB_PONG_WAIT) return;
  s->hb = HB_PING_WAIT;
  uv_timer_start(&s->timer, on_hb_timer, (uint64_t)eio_opt.ping_interval_ms, 0);
}

/* ---- polling tickets ----------------------------------------------------------------- */

/* A polling request handed from the loop that accepted it (req_loop) to the session's
 * owner and back. req is touched only on req_loop; the other fields are written by
 * one side before a post hands them to the other. */
struct eio_poll {
  atomic_int refs;
  vz_req *req;
  vz_loop *req_loop, *owner;
  uint8_t get, req_done, in_handler;
  char sid[SID_LEN + 1];
  uint8_t *body;       /* POST body (own copy when posted across loops) */
  size_t body_len;
  int status;          /* reply: 0 = none yet */
  const char *ctype;
  char *reply;         /* malloc'd */
  size_t reply_len;
};

static void ticket_unref(eio_poll *t) {
  if (atomic_fetch_sub(&t->refs, 1) == 1) {
    free(t->reply);
    free(t->body);
    free(t);
  }
}

static void ticket_deliver(eio_poll *t) { /* on req_loop */
  vz_req *req = t->req;
  if (!req || t->req_done) return;
  t->req_done = 1;
  t->req = NULL;
  req->on_abort = NULL;
  req->user = NULL;
  vz_reply_bytes(req, t->status, t->ctype, t->reply ? t->reply : "", t->reply_len);
  if (!t->in_handler) vz_req_finish(req);
  ticket_unref(t); /* the request side's reference */
}

static void ticket_deliver_posted(void *arg) {
  eio_poll *t = arg;
  ticket_deliver(t);
  ticket_unref(t); /* the owner's reference, carried by the post */
}

/* Owner side: sets the reply and sends it to the request's loop (owner ref moves). */
static void ticket_reply(eio_poll *t, int status, const char *ctype, char *body, size_t len) {
  t->status = status;
  t->ctype = ctype;
  free(t->reply);
  t->reply = body;
  t->reply_len = len;
  if (t->req_loop == vz_loop_current()) {
    ticket_deliver(t);
    ticket_unref(t);
  } else if (vz_loop_post(t->req_loop, ticket_deliver_posted, t) < 0) {
    ticket_unref(t);
  }
}

void eio_ticket_reply_str(eio_poll *t, int status, const char *s) {
  size_t n = strlen(s);
  char *b = malloc(n + 1);
  if (b) memcpy(b, s, n + 1);
  ticket_reply(t, status, status == 200 ? "text/plain; charset=UTF-8" : "application/json", b, b ? n : 0);
}

/* Engine.IO error bodies, as the reference server sends them. */
static const char *const eio_errors[] = {
  "{\"code\":0,\"message\":\"Transport unknown\"}",
  "{\"code\":1,\"message\":\"Session ID unknown\"}",
  "{\"code\":2,\"message\":\"Bad handshake method\"}",
  "{\"code\":3,\"message\":\"Bad request\"}",
  "{\"code\":4,\"message\":\"Forbidden\"}",
  "{\"code\":5,\"message\":\"Unsupported protocol version\"}",
};

/* Builds a polling payload from queued packets: \x1e-separated, binary as b+base64. */
static char *payload_build(eio_outq *q, size_t *len) {
  size_t need = 0;
  for (uint32_t i = q->head; i < q->n; i++) {
    ws_buf *b = q->v[i];
    need += 1 + (b->opcode == WS_OP_BINARY ? 1 + eio_base64_len(b->len) : b->len);
  }
  char *out = malloc(need + 1);
  if (!out) return NULL;
  size_t o = 0;
  while (!eioq_empty(q)) {
    ws_buf *b = q->v[q->head];
    if (o) out[o++] = EIO_SEPARATOR;
    if (b->opcode == WS_OP_BINARY) {
      out[o++] = 'b';
      o += eio_base64_encode(out + o, b->data, b->len);
    } else {
      memcpy(out + o, b->data, b->len);
      o += b->len;
    }
    eioq_pop(q);
  }
  *len = o;
  return out;
}

/* (dirty flags are cleared only by on_check, which unlinks: a flag cleared elsewhere
 * would let an item be linked twice) */
static void poll_flush(eio_session *s) {
  if (!s->poll || eioq_empty(&s->pq)) return;
  eio_poll *t = s->poll;
  s->poll = NULL;
  size_t len = 0;
  char *body = payload_build(&s->pq, &len);
  ticket_reply(t, 200, "text/plain; charset=UTF-8", body, len);
}

/* ---- closing ---------------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h) {
  eio_session *s = h->data;
  s->timer.data = NULL;
  eio_session_free_if_done(s);
}

void eio_session_free_if_done(eio_session *s) {
  if (s->timer.data || s->ws || s->probe) return;
  eioq_clear(&s->pq);
  vz_loop_hold(s->loop, -1);
  free(s);
}

void eio_close(eio_session *s, const char *reason) {
  if (s->closing) return;
  s->closing = 1;
  eio_loopst *ls = eio_lst(s->loop);
  session_remove(ls, s);
  ls->st.sessions--;
  if (s->transport == T_WS) ls->st.ws--; else ls->st.polling--;
  if (s->upper->on_close) s->upper->on_close(s, reason);
  /* A pending GET learns of the close with a close packet (spec: "1"). */
  if (s->poll) {
    eio_poll *t = s->poll;
    s->poll = NULL;
    eio_ticket_reply_str(t, 200, "1");
  }
  eioq_clear(&s->pq);
  if (s->probe) eio_ws_close(s->probe);
  if (s->ws) {
    if (!s->ws->closing) {
      /* Server-initiated: a WebSocket close frame after what is queued (RFC 6455 §7.1.2). */
      ws_buf *b = ws_buf_from(WS_OP_CLOSE, "\x03\xe8", 2);
      if (b) { eioq_push(&s->ws->q, b); ws_buf_unref(b); }
      s->ws->closing = 1;
    }
    eio_ws_flush(s->ws);
  }
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

/* ---- HTTP entry point ---------------------------------------------------------------- */

int eio_reply_err(vz_req *req, int code) {
  return vz_reply_bytes(req, code == 4 ? 403 : 400, "application/json", eio_errors[code], strlen(eio_errors[code]));
}

/* A client that closes over polling may have its last GET still on the way: sent just
 * before the POST "1" on another connection, which SO_REUSEPORT can hand to another
 * loop, one hop behind. That GET is answered as if it had arrived first (a noop), not
 * with "Session ID unknown"; the note is used once and lasts CLOSED_GRACE_MS. */
#define CLOSED_GRACE_MS 200

static void note_client_close(eio_session *s) {
  eio_loopst *ls = eio_lst(s->loop);
  unsigned i = ls->closed_next++ % (sizeof ls->closed / sizeof ls->closed[0]);
  memcpy(ls->closed[i].sid, s->sid, sizeof ls->closed[i].sid);
  ls->closed[i].until_ms = uv_now(vz_loop_uv(s->loop)) + CLOSED_GRACE_MS;
}

static int take_client_close(eio_loopst *ls, const char *sid) {
  uint64_t now = uv_now(vz_loop_uv(ls->loop));
  for (size_t i = 0; i < sizeof ls->closed / sizeof ls->closed[0]; i++)
    if (ls->closed[i].until_ms > now && strcmp(ls->closed[i].sid, sid) == 0) {
      ls->closed[i].until_ms = 0;
      return 1;
    }
  return 0;
}

static int post_packet(void *ud, const eio_packet *pk) {
  eio_session *s = ud;
  if (s->closing) return 1;
  switch (pk->type) {
  case EIO_MESSAGE: return eio_deliver_msg(s, pk->data, pk->len, pk->binary) < 0 ? -1 : 0;
  case EIO_PONG: eio_on_pong(s); return 0;
  case EIO_CLOSE:
    /* As the reference server's polling transport (onClose): a pending GET is
     * released with a noop, not a close packet; the client asked for the close. */
    if (s->poll) {
      eio_poll *t = s->poll;
      s->poll = NULL;
      eio_ticket_reply_str(t, 200, "6");
    } else {
      note_client_close(s);
    }
    eio_close(s, "transport close");
    return 1;
  case EIO_NOOP: return 0;
  }
  return -1;
}

/* On the owning loop: a GET or POST for an existing session. */
static void poll_on_owner(eio_poll *t) {
  eio_loopst *ls = eio_lst(t->owner);
  eio_session *s = eio_session_find(ls, t->sid);
  if (!s && t->get && take_client_close(ls, t->sid)) { eio_ticket_reply_str(t, 200, "6"); return; }
  if (!s || s->closing) { eio_ticket_reply_str(t, 400, eio_errors[1]); return; }
  if (s->transport != T_POLLING) { eio_ticket_reply_str(t, 400, eio_errors[3]); return; }
  if (t->get) {
    if (s->poll) {
      /* Spec: overlapping GETs are an error that closes the session; the first one
       * gets the close packet (from eio_close), this one a 400. */
      eio_ticket_reply_str(t, 400, eio_errors[3]);
      eio_close(s, "transport error");
      return;
    }
    if (s->upgrading && eioq_empty(&s->pq)) { eio_ticket_reply_str(t, 200, "6"); return; }
    s->poll = t;
    if (!eioq_empty(&s->pq)) poll_flush(s);
    return;
  }
  if (t->body_len > eio_msg_limit(s)) {
    eio_ticket_reply_str(t, 413, "{\"code\":3,\"message\":\"Bad request\"}");
    eio_close(s, "transport error");
    return;
  }
  int rc = t->body_len ? eio_payload_decode(t->body, t->body_len, post_packet, s) : -1;
  if (rc < 0) {
    ls->st.bad_input++;
    eio_ticket_reply_str(t, 400, eio_errors[3]);
    eio_close(s, "parse error");
    return;
  }
  eio_ticket_reply_str(t, 200, "ok");
}

static void poll_on_owner_posted(void *arg) { poll_on_owner(arg); }

static void poll_cancel_posted(void *arg) {
  eio_poll *t = arg;
  eio_session *s = eio_session_find(eio_lst(t->owner), t->sid);
  if (s && s->poll == t) {
    s->poll = NULL;
    ticket_unref(t); /* the owner's reference */
    eio_close(s, "transport close");
  }
  ticket_unref(t);   /* this message's */
}

static void poll_aborted(vz_req *req) {
  eio_poll *t = req->user;
  if (!t) return;
  t->req = NULL;
  t->req_done = 1;
  atomic_fetch_add(&t->refs, 1);
  if (t->owner == vz_loop_current()) poll_cancel_posted(t);
  else if (vz_loop_post(t->owner, poll_cancel_posted, t) < 0) ticket_unref(t);
  ticket_unref(t); /* the request side's */
}

static int polling(vz_req *req, const char *sid, const eio_upper *upper) {
  int get = strcmp(req->method, "GET") == 0;
  if (!get && strcmp(req->method, "POST") != 0) return eio_reply_err(req, 2);
  if (!sid) {
    if (!get) return eio_reply_err(req, 2);
    eio_session *s = eio_session_new(req->loop, T_POLLING);
    if (!s) return vz_reply_bytes(req, 503, "application/json", "{}", 2);
    s->upper = upper;
    ws_buf *op = eio_open_packet(s, 1);
    int st = vz_reply_bytes(req, 200, "text/plain; charset=UTF-8", op ? (char *)op->data : "",
                            op ? op->len : 0);
    ws_buf_unref(op);
    return st;
  }
  int owner = eio_sid_loop_index(sid);
  if (owner < 0) return eio_reply_err(req, 1);
  eio_poll *t = calloc(1, sizeof *t);
  if (!t) return vz_reply_bytes(req, 503, "application/json", "{}", 2);
  atomic_init(&t->refs, 2); /* request side + owner side */
  t->req = req;
  t->req_loop = req->loop;
  t->owner = vz_loop_get(owner);
  t->get = (uint8_t)get;
  snprintf(t->sid, sizeof t->sid, "%s", sid);
  if (!get && req->body_len) {
    t->body = malloc(req->body_len);
    if (!t->body) { free(t); return vz_reply_bytes(req, 503, "application/json", "{}", 2); }
    memcpy(t->body, req->body, req->body_len);
    t->body_len = req->body_len;
  }
  req->user = t;
  req->on_abort = poll_aborted;
  if (t->owner == req->loop) {
    atomic_fetch_add(&t->refs, 1); /* t may be answered and released inside */
    t->in_handler = 1;
    poll_on_owner(t);
    t->in_handler = 0;
    int done = t->req_done;
    ticket_unref(t);
    return done ? req->status : VZ_PENDING;
  }
  if (vz_loop_post(t->owner, poll_on_owner_posted, t) < 0) {
    req->user = NULL;
    req->on_abort = NULL;
    free(t->body);
    free(t);
    return vz_reply_bytes(req, 503, "application/json", "{}", 2);
  }
  return VZ_PENDING;
}

/* CORS for browser clients. The core answers preflights itself except on "*" prefix
 * routes like this one, and adds Access-Control-Allow-Origin to every reply when the
 * Origin is in --cors-origins (req->cors_ok). Here: a browser request (it has an Origin)
 * from an origin that is neither allowed nor our own is refused before it can open or
 * touch a session (a simple POST needs no preflight, so missing headers alone would
 * not stop it), and an allowed origin's preflight gets its answer. Native clients send
 * no Origin and are not concerned. */
static int origin_refused(const vz_req *req) {
  if (!req->origin || req->cors_ok) return 0;
  const char *host = vz_req_header((vz_req *)req, "Host");
  const char *o = strstr(req->origin, "://");
  return !(host && o && strcasecmp(o + 3, host) == 0); /* same origin */
}

static int preflight(vz_req *req) {
  const char *h = vz_req_header(req, "Access-Control-Request-Headers");
  vz_add_header(req, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  if (h && strlen(h) < 512) vz_add_header(req, "Access-Control-Allow-Headers", h);
  vz_add_header(req, "Access-Control-Max-Age", "600");
  return vz_reply_empty(req, 204);
}

/* ---- mounts ----------------------------------------------------------------------- */

#define MAX_MOUNTS 4
static const eio_upper *mounts[MAX_MOUNTS];
static vz_route mount_routes[MAX_MOUNTS][2];
static int nmounts;

static const eio_upper *mount_of(const vz_req *req) {
  for (int i = 0; i < nmounts; i++)
    if (req->route == &mount_routes[i][0]) return mounts[i];
  return NULL;
}

static int eio_handler(vz_req *req);

int eio_mount(const eio_upper *upper) {
  if (nmounts == MAX_MOUNTS || !upper->prefix || !upper->on_message) return -1;
  vz_route *r = mount_routes[nmounts];
  r[0] = (vz_route)VZ_ANY_METHOD(upper->prefix, eio_handler, .flags = VZ_ASYNC | VZ_PREFIX | VZ_RAW_BODY | VZ_NO_LOG,
                                 .max_body = 1100000);
  r[1] = (vz_route){ .method = NULL };
  mounts[nmounts] = upper;
  if (vz_routes_add(r) < 0) return -1;
  nmounts++;
  return 0;
}

static int eio_handler(vz_req *req) {
  if (origin_refused(req)) return eio_reply_err(req, 4);
  if (strcmp(req->method, "OPTIONS") == 0 && req->cors_ok && vz_req_header(req, "Access-Control-Request-Method"))
    return preflight(req);
  const char *v = vz_req_query(req, "EIO");
  const char *tr = vz_req_query(req, "transport");
  const char *sid = vz_req_query(req, "sid");
  if (!v || strcmp(v, "4") != 0) return eio_reply_err(req, 5);
  if (!tr) return eio_reply_err(req, 0);
  const eio_upper *upper = mount_of(req);
  if (!upper) return eio_reply_err(req, 0);
  if (strcmp(tr, "websocket") == 0) return eio_ws_upgrade(req, sid, upper);
  if (strcmp(tr, "polling") == 0) return polling(req, sid, upper);
  return eio_reply_err(req, 0);
}

/* ---- per-loop hooks ------------------------------------------------------------------ */

static void flush_all(eio_loopst *ls) {
  while (ls->dirty_ws || ls->dirty_polls) {
    eio_ws *w = ls->dirty_ws;
    ls->dirty_ws = NULL;
    while (w) {
      eio_ws *nx = w->next_dirty;
      w->in_feed = 1; /* keeps w alive through the close/flush below */
      if (w->s && w->s->drop && !w->s->closing) eio_close(w->s, "transport error");
      if (!w->closed) eio_ws_flush(w);
      w->in_feed = 0;
      w->dirty = 0;
      eio_ws_free_if_done(w);
      w = nx;
    }
    eio_session *s = ls->dirty_polls;
    ls->dirty_polls = NULL;
    while (s) {
      eio_session *nx = s->next_dirty;
      s->dirty = 0;
      if (s->drop && !s->closing) eio_close(s, "transport error");
      else poll_flush(s);
      s = nx;
    }
  }
}

/* Adaptive coalescing. A flush pass that took long (thousands of sockets written)
 * means we are loaded: the next pass waits FLUSH_DEFER_NS, so the frames that arrive
 * meanwhile share its writes (one writev per socket for all of them) instead of each
 * costing every socket a syscall. Lightly loaded, a pass is short and output leaves
 * in the same loop turn. */
#define FLUSH_HEAVY_NS 300000ull
#define FLUSH_DEFER_NS 1000000ull

static void flush_timed(eio_loopst *ls) {
  uint64_t t0 = uv_hrtime();
  flush_all(ls);
  uint64_t t1 = uv_hrtime();
  ls->defer_until = t1 - t0 > FLUSH_HEAVY_NS ? t1 + FLUSH_DEFER_NS : 0;
}

static void on_flush_timer(uv_timer_t *t) { flush_timed(t->data); }

/* Once per loop turn, after I/O: write every connection that got output. */
static void on_check(uv_check_t *c) {
  eio_loopst *ls = c->data;
  if (!ls->dirty_ws && !ls->dirty_polls) return;
  uint64_t now = uv_hrtime();
  if (ls->defer_until > now) {
    if (!uv_is_active((uv_handle_t *)&ls->flush_timer))
      uv_timer_start(&ls->flush_timer, on_flush_timer, (ls->defer_until - now + 999999) / 1000000, 0);
    return;
  }
  uv_timer_stop(&ls->flush_timer);
  flush_timed(ls);
}

static void on_loop_start(vz_loop *l) {
  eio_loopst *ls = calloc(1, sizeof *ls);
  if (!ls) abort(); /* at start-up only: no loop without its state */
  ls->loop = l;
  *vz_loop_slot(l, eio_slot) = ls;
  if (vz_loop_index(l) < 64) all_loops[vz_loop_index(l)] = ls;
  uv_check_init(vz_loop_uv(l), &ls->check);
  ls->check.data = ls;
  uv_check_start(&ls->check, on_check);
  uv_unref((uv_handle_t *)&ls->check);
  uv_timer_init(vz_loop_uv(l), &ls->flush_timer);
  ls->flush_timer.data = ls;
  uv_unref((uv_handle_t *)&ls->flush_timer);
}

/* Shutdown: every session is told and closed, so the loop's hold count reaches 0. */
static void on_drain(vz_loop *l) {
  eio_loopst *ls = eio_lst(l);
  if (!ls) return;
  for (size_t i = 0; i < ls->tab_cap; i++) {
    eio_session *s = ls->tab[i];
    while (s) {
      eio_session *nx = s->hnext;
      eio_close(s, "server shutting down");
      s = nx;
    }
  }
  flush_all(ls);
}

void eio_stats_sum(eio_stats *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < 64; i++) {
    eio_loopst *ls = all_loops[i];
    if (!ls) continue;
    out->sessions += ls->st.sessions;
    out->ws += ls->st.ws;
    out->polling += ls->st.polling;
    out->slow_dropped += ls->st.slow_dropped;
    out->bad_input += ls->st.bad_input;
    out->upgrades += ls->st.upgrades;
  }
}


/* After the loops are gone (atexit): what each loop kept for its life. */
static void eio_loops_free(void) {
  for (int i = 0; i < 64; i++) {
    if (!all_loops[i]) continue;
    free(all_loops[i]->tab);
    free(all_loops[i]);
    all_loops[i] = NULL;
  }
}

int eio_init(void) {
  if (sodium_init() < 0) return -1;
  if (eio_slot < 0 && (eio_slot = vz_loop_slot_new()) < 0) return -1;
  atexit(eio_loops_free);
  if (vz_on_loop_start(on_loop_start) < 0 || vz_on_drain(on_drain) < 0) return -1;
  return 0;
}
