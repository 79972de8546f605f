/* sio_events: Socket.IO events declared like HTTP routes. A service lists them in its
 * descriptor (vz_service.events); the realtime module checks them in the same order as
 * the HTTP pipeline and answers the client's acknowledgement:
 *
 *   static const vz_field bid_in[] = {
 *     { "lot_id", VZ_ID, VZ_REQUIRED }, { "amount", VZ_INT, VZ_REQUIRED, 1, 1000000000 }, { 0 } };
 *   const sio_event auction_events[] = {
 *     { "/", "bid", auction_bid, bid_in, VZ_AUTH, .rate_per_min = 120 }, { 0 } };
 *
 * Order: rate limit (per user, per socket for a guest) -> auth and role -> the first
 * argument validated against `in` by the HTTP body validator -> the handler, on the
 * worker pool with a database handle (default) or on the io loop (SIO_ON_LOOP, for
 * cheap answers). The handler is an ordinary vz_handler: req->json is the validated
 * input, req->user_id / role / session_id come from the socket, and it answers with
 * vz_reply_item / vz_fail as a route does. The client's ack gets that body, so the
 * envelope is the REST one: [{"data": ...}] or [{"error": {"code", "message", "field"}}].
 * No io loop ever waits: a worker's answer is posted back to the loop that owns the
 * socket (a socket gone meanwhile just drops it). Each event is counted in /metrics
 * (vidzo_realtime_events_total{event,outcome}) and logged like a request. */
#ifndef VZ_SIO_EVENTS_H
#define VZ_SIO_EVENTS_H
#include "core/http.h"

enum {
  SIO_ON_LOOP = 1 << 24,    /* run on the io loop (no database) */
  SIO_EMITTED = 1 << 25,    /* a server-to-client event: contract only (no handler), so
                             * `vidzo asyncapi` describes what clients receive */
  SIO_SERIAL = 1 << 26,     /* per socket, one at a time in arrival order (the next waits
                             * for the previous answer): workers run events in parallel,
                             * so without it one client's chat messages could pass each
                             * other. At most 32 wait per socket, then "busy" (429) */
};

typedef struct sio_event {
  const char *nsp;          /* "/" */
  const char *event;        /* "time" */
  vz_handler handler;
  const vz_field *in;       /* the first argument, a JSON object; NULL: no input */
  int flags;                /* VZ_AUTH, VZ_ROLE_*, VZ_AUDIT (worker only), SIO_ON_LOOP */
  int rate_per_min;         /* per user (guests: per socket); 0: none */
  int idx;                  /* set at registration: metrics slot */
  /* An event about a room the socket must be in: the room is room_prefix followed by
   * the input's room_field (a string or integer id), checked on the loop after the
   * input is validated; not in it: 403 "not_in_room", the handler never runs. */
  const char *room_prefix;  /* "stream:" */
  const char *room_field;   /* "stream_id" */
  /* The contract (`vidzo asyncapi`, docs/internals/contract.md); a row without op,
   * summary and res fails the contract check, naming it. */
  const char *op;           /* operationId, unique: "getTime" */
  const char *summary;      /* one line */
  const char *desc;         /* optional */
  const char *res;          /* the ack's data: "Name" -> [{"data": Name}], "=Name" the
                             * schema itself, "-" no ack body; SIO_EMITTED: the payload */
  const char *room;         /* SIO_EMITTED: who gets it ("stream:{id}", "user:{id}", "all") */
} sio_event;

/* Inside a declared event's handler: once it has answered 2xx, the socket joins (leaves)
 * room of its namespace, on its own loop, before its ack is sent (so the client is in
 * the room when its ack arrives). A worker decides (a stream's visibility), the loop
 * applies. One of each per event; 0, or <0 for a bad room name. */
int sio_event_join(vz_req *req, const char *room);
int sio_event_leave(vz_req *req, const char *room);
/* Inside a declared event's handler: after a 2xx answer, sio_socket_hide(socket, key,
 * ids, n) on the socket's loop (ids copied). */
int sio_event_hide(vz_req *req, const char *key, const int64_t *ids, int n);
/* A worker handler that hands its request to another thread (a group-commit writer)
 * returns VZ_PENDING; that thread sets the reply (vz_reply_item / vz_fail) and calls
 * sio_event_done(req) exactly once, after which it must not touch req. The ack goes out
 * on the socket's loop. */
void sio_event_done(vz_req *req);

/* Registers a {0}-terminated table (before serve). <0: a full table, a bad namespace.
 * SIO_EMITTED rows are skipped (they describe, they do not handle). */
int sio_events_add(sio_event *table);
/* /metrics series of the declared events. */
void sio_events_metrics(char **b, size_t *l, size_t *c);
#endif
