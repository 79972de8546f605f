/* sio: the Socket.IO v5 server on top of eio: namespaces, CONNECT with auth, events,
 * acknowledgements both ways, binary attachments, rooms, and the server-side emit API
 * services use from any thread.
 *
 * Threads. A socket lives on its session's io loop; sio_socket functions are called on
 * that loop only (handlers run there). Rooms are per loop; a room emit is encoded once
 * and posted to every loop, each delivering to its own members. The sio_emit_room /
 * _user / _all functions may be called from any thread (workers, jobs).
 *
 * Registration (sio_namespace_add, sio_on, sio_set_auth_check) happens before serve
 * starts; the tables are read-only afterwards. */
#ifndef VZ_SIO_H
#define VZ_SIO_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio_socket sio_socket;
typedef struct sio_bin { const uint8_t *data; size_t len; } sio_bin;

/* Who connected, filled in by the auth check. */
typedef struct sio_identity {
  char user[65];      /* display name (the peer: the token, truncated to 64) */
  int64_t user_id;    /* >0: the socket joins room "user:<id>" of "/" */
  int64_t session_id; /* the access token's session: sio_disconnect_session ends it */
  int role;
} sio_identity;
/* Returns 0 to accept, or <0 with *message set (sent as CONNECT_ERROR {"message"}).
 * auth is the CONNECT payload (NULL when none). Runs on the io loop: keep it cheap
 * (JWT verification is). */
typedef int (*sio_auth_fn)(const char *nsp, const json_t *auth, sio_identity *out, const char **message);
/* The check CONNECT runs (sio_auth_bearer by default; applications may wrap it). */
void sio_set_auth_check(sio_auth_fn fn);
/* {"token": <access token>} through vz_hook.authenticate, as HTTP bearer tokens. No
 * "token" member at all (or no payload): an anonymous viewer (user_id 0), read-only
 * because every sending event declares VZ_AUTH; a bad token is still refused. */
int sio_auth_bearer(const char *nsp, const json_t *auth, sio_identity *out, const char **message);
/* The benchmark peer's rule: any non-empty token, which names the (anonymous) user. */
int sio_auth_token_nonempty(const char *nsp, const json_t *auth, sio_identity *out, const char **message);

/* args: the event's arguments without its name (a JSON array). ack_id >= 0 when the
 * client asked for an acknowledgement (answer with sio_ack). bins: binary attachments;
 * args refer to them with {"_placeholder":true,"num":N}. */
typedef void (*sio_event_fn)(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *bins, int nbins);
typedef void (*sio_conn_fn)(sio_socket *s, const char *reason);
typedef void (*sio_ack_fn)(sio_socket *s, const json_t *args, void *ud);

int sio_namespace_add(const char *nsp, sio_conn_fn on_connect, sio_conn_fn on_disconnect);
int sio_on(const char *nsp, const char *event, sio_event_fn fn);
/* Connection state recovery is on for every namespace (outside --conformance); a
 * namespace may opt out (its packets then carry no offsets, its CONNECT no pid). */
int sio_namespace_recovery(const char *nsp, int on);

/* Per socket, on its loop. args are stolen (may be NULL: no arguments). */
const char *sio_socket_id(const sio_socket *s);
const char *sio_socket_nsp(const sio_socket *s);
const sio_identity *sio_socket_identity(const sio_socket *s);
/* The CONNECT payload; valid inside the namespace's on_connect only (else NULL). */
const json_t *sio_socket_auth(const sio_socket *s);
int sio_emit(sio_socket *s, const char *event, json_t *args);
int sio_emit_bin(sio_socket *s, const char *event, json_t *args, const sio_bin *bins, int nbins);
/* Emits and asks for an acknowledgement; cb runs when the client answers (not if it
 * disconnects first). */
int sio_emit_ack(sio_socket *s, const char *event, json_t *args, sio_ack_fn cb, void *ud);
int sio_ack(sio_socket *s, int64_t ack_id, json_t *args);
int sio_ack_bin(sio_socket *s, int64_t ack_id, json_t *args, const sio_bin *bins, int nbins);
int sio_join(sio_socket *s, const char *room);
int sio_leave(sio_socket *s, const char *room);
int sio_in_room(const sio_socket *s, const char *room);
/* To every member of room in s's namespace (all loops); except_self skips s. */
int sio_to_room(sio_socket *s, const char *room, const char *event, json_t *args, int except_self);
void sio_disconnect(sio_socket *s);
/* On s's loop: room packets whose JSON carries "<key>":"<id>" (a string id) with id in
 * ids are not delivered to s, live or replayed (chat: the authors a viewer blocked). The
 * list replaces the previous one; n 0 clears it. Costs only sockets that have one: the
 * packet is searched for the key once per such socket. */
int sio_socket_hide(sio_socket *s, const char *key, const int64_t *ids, int n);
/* From any thread: every socket (any namespace, any loop of this instance) that
 * connected with a token of that session gets a DISCONNECT (signed out, revoked). */
void sio_disconnect_session(int64_t session_id);

/* From any thread: every socket of user_id in room (namespace nsp) leaves it, on every
 * loop and, with Redis, every instance (a ban). Its sockets stay connected. */
int sio_room_leave_user(const char *nsp, const char *room, int64_t user_id);

/* Server API, any thread. args stolen. 0, or <0 (bad arguments, no memory). */
int sio_emit_room(const char *nsp, const char *room, const char *event, json_t *args);
int sio_emit_user(int64_t user_id, const char *event, json_t *args);
int sio_emit_all(const char *nsp, const char *event, json_t *args);

/* Registers "/" and mounts Engine.IO at /socket.io/ (no side effects). */
int sio_init(void);
/* An application without connection state recovery (the conformance suites) says so
 * before start. */
void sio_set_recovery(int on);
/* Serve only: recovery (recovery && nobody turned it off), broadcast, presence. */
int sio_start(int recovery);
/* Sockets in the room on every loop and, with Redis, every instance; up to ~1 s old. */
long sio_room_presence(const char *nsp, const char *room);
/* Room packets delivered and rooms held (per-loop tables summed; a room spread over
 * several loops counts once per loop). */
void sio_stats_sum(uint64_t *delivered, long *rooms);
/* Connection state recoveries: replayed from memory, from the Redis stream, or refused
 * (the client got a fresh session). */
void sio_recovery_stats(uint64_t *memory, uint64_t *stream, uint64_t *fresh);
#endif
