/* sio_int: what the Socket.IO files share (sio.c: namespaces, sockets, packets, rooms;
 * sio_broadcast.c: room emits across loops and instances). Not for other modules. */
#ifndef VZ_SIO_INT_H
#define VZ_SIO_INT_H
#include <jansson.h>
#include <stdint.h>

#include "realtime/eio.h"
#include "core/loop.h"
#include "realtime/sio.h"
#include "realtime/sio_codec.h"
#include "realtime/sio_rooms.h"
#include "realtime/ws.h"

#define MAX_NSPS 16
#define MAX_HANDLERS 32
#define ROOM_MAX 128
#define KEY_SEP '\x1f'

typedef struct sio_event sio_event;
/* fn for events registered with sio_on; decl for declared ones (sio_events.c) */
typedef struct sio_handler { const char *event; sio_event_fn fn; const sio_event *decl; } sio_handler;
typedef struct sio_ns {
  char name[SIO_MAX_NSP + 1];
  sio_conn_fn on_connect, on_disconnect;
  sio_handler h[MAX_HANDLERS];
  int nh;
  uint8_t no_recovery; /* sio_namespace_recovery(nsp, 0) */
} sio_ns;

typedef struct sio_member { sio_room *r; uint32_t idx; } sio_member;
typedef struct sio_pending_ack { int64_t id; sio_ack_fn cb; void *ud; } sio_pending_ack;

typedef struct sio_conn sio_conn;
struct sio_socket {
  sio_conn *c;
  const sio_ns *ns;
  sio_socket *next;
  sio_member *mem;
  uint16_t nmem, capmem;
  uint16_t nacks;
  uint8_t gone;
  sio_pending_ack *acks;
  const json_t *auth;  /* the CONNECT payload, during on_connect only */
  int64_t next_ack;
  uint64_t min_seq;    /* recovered: room packets up to this offset were replayed */
  char id[21];
  char pid[21];        /* private session id (connection state recovery), "" when off */
  sio_identity who;
  /* SIO_SERIAL events waiting for the one in flight (sio_events.c) */
  struct sio_waiting_ev *wait_head, *wait_tail;
  uint8_t serial_busy, nwait;
  /* sio_socket_hide: room packets carrying "<hide_key>":"<id>" with id in hide (sorted) */
  int64_t *hide;
  uint32_t nhide;
  char hide_key[24];
};
/* 1 when room packet b must not reach s (sio_socket_hide). */
int sio_socket_hides(const sio_socket *s, const ws_buf *b);

/* A binary packet waiting for its attachments. */
typedef struct sio_partial {
  sio_packet p;
  int nbins;
  sio_bin bins[SIO_MAX_ATTACHMENTS];
} sio_partial;

struct sio_conn {
  eio_session *e;
  sio_socket *sockets;
  sio_partial *partial;
};

typedef struct sio_loopst {
  sio_rooms rooms;
  uint64_t last_seq;  /* newest room packet offset this loop has delivered (recovery) */
  uint64_t delivered; /* room packets handed to sockets, for /metrics */
} sio_loopst;

/* sio.c */
sio_loopst *sio_loopst_of(vz_loop *l);
/* "<nsp>\x1f<room>" into key (SIO_MAX_NSP + ROOM_MAX + 2 bytes); returns its length. */
size_t sio_room_key(char *key, const char *nsp, const char *room);
int sio_valid_room(const char *room);
/* Room packets of this key's namespace carry offsets and are kept for recovery. */
int sio_key_recovers(const char *key, size_t klen);
ws_buf *sio_encode(int type, const char *nsp, int64_t ack, int natt, const json_t *data);
/* [event, ...args] (takes args); NULL on a bad event name. */
json_t *sio_event_data(const char *event, json_t *args);
void sio_unref_all(ws_buf **b, int nb);

/* sio.c: a declared event's entry in its namespace (sio_events.c registers through it). */
int sio_on_declared(const char *nsp, const char *event, const sio_event *decl);
/* sio_events.c: runs a declared event for socket s (on its loop). */
void sio_event_run(sio_socket *s, const sio_event *e, const json_t *args, int64_t ack_id);
/* sio_events.c: frees what waits on a socket that goes away. */
void sio_event_waiting_free(sio_socket *s);

/* sio_broadcast.c: after sio_rec_enable. Picks this instance's id (*instance), takes the
 * bus topic "sio:room" and, with recovery and Redis, the stream follower's hooks. */
int sio_broadcast_init(uint64_t *instance);
#endif
