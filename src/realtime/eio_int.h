/* eio_int: what the Engine.IO files share (eio.c: sessions, heartbeat, polling, the
 * route; eio_ws.c: the WebSocket transport). Not for other modules: they use eio.h. */
#ifndef VZ_EIO_INT_H
#define VZ_EIO_INT_H
#include <stdint.h>
#include <uv.h>

#include "realtime/eio.h"
#include "core/http.h"
#include "core/loop.h"
#include "realtime/ws.h"

enum { T_POLLING = 1, T_WS = 2 };
enum { HB_PING_WAIT = 0, HB_PONG_WAIT = 1 };
#define SID_LEN 20
#define MAX_WRITE_BUFS 512

typedef struct eio_outq {
  ws_buf **v;        /* inl, or malloc'd past 4 entries; NULL when empty */
  ws_buf *inl[4];
  uint32_t head, n, cap;
  uint32_t inflight; /* items [head, head+inflight) belong to the uv_write in flight */
  uint32_t off;      /* bytes of v[head] (hdr+data) already written by uv_try_write */
  size_t bytes;
} eio_outq;

typedef struct eio_ws {
  uv_tcp_t *tcp;
  eio_session *s;    /* NULL until attached (probe before upgrade: s set, probe=1) */
  ws_parser p;
  eio_outq q;
  uv_write_t *wreq;
  uint8_t own_tcp;   /* handle allocated here (fd moved from another loop) */
  uint8_t probe;     /* upgrading a polling session, not yet its transport */
  uint8_t closing;   /* no more reads; close after the queue is written */
  uint8_t closed;
  uint8_t dirty;
  uint8_t in_feed;   /* inside ws_parse: the struct must outlive the callbacks */
  struct eio_ws *next_dirty;
} eio_ws;

typedef struct eio_poll eio_poll;

struct eio_session {
  char sid[SID_LEN + 1];
  uint8_t transport;
  uint8_t closing;
  uint8_t upgrading;
  uint8_t hb;
  uint8_t dirty;     /* polling: output waiting for the pending GET */
  uint8_t drop;      /* slow consumer: closed at the next flush, not inside a broadcast */
  const eio_upper *upper; /* the layer above (Socket.IO, or an application's) */
  uint8_t accepted;  /* the upper layer let the client in: messages up to maxPayload */
  uv_timer_t timer;
  vz_loop *loop;
  eio_ws *ws;        /* the transport when T_WS */
  eio_ws *probe;     /* a WebSocket upgrading this polling session */
  eio_poll *poll;    /* pending GET (polling) */
  eio_outq pq;       /* polling output */
  void *data;        /* Socket.IO state */
  struct eio_session *hnext;   /* sid hash chain */
  struct eio_session *next_dirty;
};

/* Per-loop state. */
typedef struct eio_loopst {
  vz_loop *loop;
  uv_check_t check;
  uv_timer_t flush_timer;
  uint64_t defer_until;   /* hrtime: under load, the next flush waits until then */
  eio_session **tab;
  size_t tab_cap, count;
  eio_ws *dirty_ws;
  eio_session *dirty_polls;
  eio_stats st;
  struct { char sid[SID_LEN + 1]; uint64_t until_ms; } closed[4]; /* see note_client_close */
  unsigned closed_next;
} eio_loopst;

/* eio.c */
eio_loopst *eio_lst(vz_loop *l);
/* Output queues of shared ws_bufs (references taken by push, dropped by pop). */
int eioq_push(eio_outq *q, ws_buf *b);
void eioq_pop(eio_outq *q);
void eioq_clear(eio_outq *q);
static inline int eioq_empty(const eio_outq *q) { return q->head == q->n; }
void eioq_trim(eio_outq *q); /* drops what no write holds */
eio_session *eio_session_new(vz_loop *l, int transport);
eio_session *eio_session_find(eio_loopst *ls, const char *sid);
void eio_session_free_if_done(eio_session *s);
int eio_sid_loop_index(const char *sid); /* the loop that owns sid, or -1 */
ws_buf *eio_open_packet(const eio_session *s, int from_polling);
size_t eio_msg_limit(const eio_session *s); /* largest message (or POST body) taken now */
int eio_deliver_msg(eio_session *s, const uint8_t *d, size_t n, int binary);
void eio_on_pong(eio_session *s);
void eio_ticket_reply_str(eio_poll *t, int status, const char *s);
int eio_reply_err(vz_req *req, int code); /* the protocol's error body for `code` */

/* eio_ws.c */
int eio_ws_upgrade(vz_req *req, const char *sid, const eio_upper *upper);
void eio_ws_close(eio_ws *w);
void eio_ws_flush(eio_ws *w);
void eio_ws_mark_dirty(eio_ws *w, eio_loopst *ls);
void eio_ws_free_if_done(eio_ws *w);
#endif
