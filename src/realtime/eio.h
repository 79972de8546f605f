/* eio: the Engine.IO v4 server (sessions, WebSocket and long-polling transports,
 * upgrade, heartbeat, per-connection send queues flushed once per loop turn).
 * Socket.IO (sio.c) sits on top through the small interface below; nothing else
 * should need it. */
#ifndef VZ_EIO_H
#define VZ_EIO_H
#include <stddef.h>
#include <stdint.h>

#include "realtime/ws.h"

typedef struct eio_session eio_session;
typedef struct vz_loop vz_loop;

typedef struct eio_options {
  int ping_interval_ms;  /* 25000 */
  int ping_timeout_ms;   /* 20000 */
  size_t max_payload;    /* 1000000: largest message / POST body */
  size_t max_queue;      /* bytes queued to one client before it is dropped as slow */
} eio_options;
extern eio_options eio_opt;

/* The layer above Engine.IO at one mount point: Socket.IO at /socket.io/, or an
 * application of its own (the conformance suite's echo at /engine.io/). Engine.IO knows
 * its upper layers only through these callbacks. */
typedef struct eio_upper {
  const char *prefix;   /* path prefix of the route, "/socket.io/" */
  /* One whole message (text without the leading '4', or binary). <0 closes the session. */
  int (*on_message)(eio_session *s, const uint8_t *data, size_t len, int binary);
  /* The session ended (reason as Socket.IO names it: "transport close", ...). */
  void (*on_close)(eio_session *s, const char *reason);
  /* 1: messages may be maxPayload from the start (no upper-layer CONNECT to wait for). */
  int accepted_from_start;
} eio_upper;
/* Before serve: the route for upper->prefix (kept by pointer: static storage). */
int eio_mount(const eio_upper *upper);

/* The per-loop hooks (call before serve, once). */
int eio_init(void);

/* Queues one Engine.IO message (text: a Socket.IO packet without the leading '4' is
 * NOT accepted here: b->data must be the whole Engine.IO packet, e.g. "42[...]";
 * binary: raw bytes). Takes its own reference. Owning loop only. Returns 0, or <0
 * when the session is closing or was dropped as a slow consumer. */
int eio_send(eio_session *s, ws_buf *b);
/* Closes the session (reason for the upper layer's disconnect callback). */
void eio_close(eio_session *s, const char *reason);
/* Until the upper layer accepts the client (a namespace CONNECT succeeded), a message
 * or polling POST is at most EIO_PRE_ACCEPT_MAX bytes: enough for a CONNECT with its
 * auth, so an unauthenticated client never makes the server assemble or keep a
 * maxPayload-sized message. Over it: 1009 (WebSocket) or 413 (polling) and close. */
#define EIO_PRE_ACCEPT_MAX 16384
void eio_session_accept(eio_session *s);  /* from now on messages up to maxPayload */
void **eio_session_data(eio_session *s);   /* the upper layer's slot */
int eio_session_open(const eio_session *s); /* not closing */
vz_loop *eio_session_loop(const eio_session *s);

/* Sends one message packet ("4" + text, or binary bytes) to the session. Owning loop
 * only; 0 or <0 as eio_send. */
int eio_send_message(eio_session *s, const uint8_t *data, size_t len, int binary);

/* Per-loop counters (for /metrics and tests). */
typedef struct eio_stats {
  long sessions, ws, polling, slow_dropped, bad_input, upgrades;
} eio_stats;
void eio_stats_sum(eio_stats *out);
#endif
