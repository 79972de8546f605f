/* sio_bench: the benchmark peer's Socket.IO events (../shared/bench/peer-node/server.js)
 * on "/", so both servers run the same scenario, and the "/test" namespaces the e2e
 * tests drive (acks both ways, binary, rooms, server emits from another thread).
 * Both are test applications: only `vidzo serve --bench` (VIDZO_BENCH=1) has them. A
 * normal server, --dev included, answers "/test" with "Invalid namespace" (issue 15:
 * "/test" took any token, and its emit-user let a guest write into a real user's room). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/loop.h"
#include "core/sio.h"

#define MAX_ROOM_LEN 64
#define MAX_TEXT_LEN 500

/* JS string length counts UTF-16 units; count code points (close enough: the limits
 * are about abuse, not exact parity for astral characters). */
static size_t js_len(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static const char *room_of(const json_t *msg) {
  const json_t *r = json_object_get(msg, "room");
  if (!json_is_string(r)) return NULL;
  size_t n = js_len(json_string_value(r));
  return n > 0 && n <= MAX_ROOM_LEN ? json_string_value(r) : NULL;
}

static int64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void ack(sio_socket *s, int64_t ack_id, json_t *v) {
  if (ack_id >= 0) sio_ack(s, ack_id, v);
  else json_decref(v);
}

/* join {room}: joins; ack {ok:true, room} (or {ok:false, error:"bad_room"}). */
static void on_join(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = room_of(json_array_get(args, 0));
  if (!room) { ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 0, "error", "bad_room")); return; }
  sio_join(s, room);
  ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 1, "room", room));
}

static void on_leave(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = room_of(json_array_get(args, 0));
  if (room) sio_leave(s, room);
  ack(s, ack_id, json_pack("{s:b}", "ok", room != NULL));
}

/* chat {room, text} from a member: chat {room, user, text, ts} to the whole room. */
static void on_chat(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *msg = json_array_get(args, 0);
  const char *room = room_of(msg);
  const json_t *text = json_object_get(msg, "text");
  size_t tl = json_is_string(text) ? js_len(json_string_value(text)) : 0;
  int valid = room && tl > 0 && tl <= MAX_TEXT_LEN;
  if (!valid || !sio_in_room(s, room)) {
    ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 0, "error", valid ? "not_in_room" : "bad_message"));
    return;
  }
  json_t *out = json_pack("{s:s,s:s,s:O,s:I}", "room", room, "user", sio_socket_identity(s)->user, "text",
                          text, "ts", (json_int_t)now_ms());
  sio_to_room(s, room, "chat", out, 0);
  ack(s, ack_id, json_pack("{s:b}", "ok", 1));
}

/* ---- /test ------------------------------------------------------------------------------ */

/* echo ...args: acked with the same args when asked, else emitted back ("echo"),
 * binary attachments included. */
static void t_echo(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  if (ack_id >= 0) sio_ack_bin(s, ack_id, json_deep_copy(args), b, nb);
  else sio_emit_bin(s, "echo", json_deep_copy(args), b, nb);
}

static void t_answered(sio_socket *s, const json_t *args, void *ud) {
  sio_emit(s, "answer", json_pack("[{s:O}]", "got", json_array_get(args, 0)));
}

/* ask q: the server asks the client "question" q with an ack; the client's answer
 * comes back as "answer" {got}. */
static void t_ask(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  sio_emit_ack(s, "question", json_deep_copy(args), t_answered, NULL);
}

static void t_whoami(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  ack(s, ack_id, json_pack("{s:s,s:s}", "user", sio_socket_identity(s)->user, "id", sio_socket_id(s)));
}

/* presence {room}: ack {count}: members on every loop and instance (sio_room_presence). */
static void t_presence(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = room_of(json_array_get(args, 0));
  ack(s, ack_id, json_pack("{s:I}", "count", (json_int_t)(room ? sio_room_presence(sio_socket_nsp(s), room) : 0)));
}

/* say {room, msg}: "said" {msg, from} to the room, except the sender. */
static void t_say(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0);
  const char *room = room_of(m);
  if (room)
    sio_to_room(s, room, "said",
                json_pack("{s:O,s:s}", "msg", json_object_get(m, "msg"), "from", sio_socket_identity(s)->user), 1);
  ack(s, ack_id, json_pack("{s:b}", "ok", room != NULL));
}

/* The server emits below run from a post to another io loop (the next one; the same one
 * when there is only one): a thread that is not the socket's, as a service's worker
 * would be, but no thread per event. The emit API is the same from any thread. */
typedef struct t_job {
  int64_t uid;                        /* emit-user: the user; else 0 */
  char room[MAX_ROOM_LEN * 4 + 1];    /* server-emit: the room; "" = the whole namespace */
  char nsp[32];
  json_t *msg;
} t_job;

static void t_emit_posted(void *arg) {
  t_job *j = arg;
  if (j->uid > 0) sio_emit_user(j->uid, "direct", json_pack("[o]", j->msg));
  else if (j->room[0]) sio_emit_room(j->nsp, j->room, "server", json_pack("[o]", j->msg));
  else sio_emit_all(j->nsp, "everyone", json_pack("[o]", j->msg));
  free(j);
}

/* Queues j on the next io loop; 0, or -1 (j freed). */
static int t_post(t_job *j, const json_t *msg) {
  j->msg = json_deep_copy(msg);
  if (!j->msg) j->msg = json_null();
  vz_loop *cur = vz_loop_current();
  int n = vz_loop_count();
  vz_loop *to = vz_loop_get(cur && n > 0 ? (vz_loop_index(cur) + 1) % n : 0);
  if (to && vz_loop_post(to, t_emit_posted, j) == 0) return 0;
  json_decref(j->msg);
  free(j);
  return -1;
}

/* server-emit {room, msg}: another loop's thread emits "server" msg to the room (the
 * service API); {all: true, msg}: "everyone" msg to the whole namespace. */
static void t_server_emit(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0);
  const char *room = room_of(m);
  int all = json_is_true(json_object_get(m, "all"));
  t_job *j = room || all ? calloc(1, sizeof *j) : NULL;
  if (j) {
    snprintf(j->room, sizeof j->room, "%s", all ? "" : room);
    snprintf(j->nsp, sizeof j->nsp, "%s", sio_socket_nsp(s));
  }
  ack(s, ack_id, json_pack("{s:b}", "ok", j && t_post(j, json_object_get(m, "msg")) == 0));
}

/* emit-user {id, msg}: another loop's thread emits "direct" msg to room user:<id> of
 * "/" (sockets whose auth check gave them that user id). */
static void t_emit_user(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0), *id = json_object_get(m, "id");
  long long uid = json_is_integer(id) ? json_integer_value(id) : json_is_string(id) ? strtoll(json_string_value(id), NULL, 10) : 0;
  t_job *j = uid > 0 ? calloc(1, sizeof *j) : NULL;
  if (j) j->uid = uid;
  ack(s, ack_id, json_pack("{s:b}", "ok", j && t_post(j, json_object_get(m, "msg")) == 0));
}

static void t_kick(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  sio_disconnect(s);
}

/* ---- --conformance: the socket.io-protocol test-suite's server ----------------------- */

/* On connection: emit "auth" with the handshake auth. */
static void c_connect(sio_socket *s, const char *reason) {
  const json_t *auth = sio_socket_auth(s);
  sio_emit(s, "auth", json_pack("[O]", auth ? (json_t *)auth : json_object()));
}
/* "message" ...args: "message-back" ...args (binary included). */
static void c_message(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  sio_emit_bin(s, "message-back", json_deep_copy(args), b, nb);
}
/* "message-with-ack" ...args: acked with the same args. */
static void c_message_ack(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  if (ack_id >= 0) sio_ack_bin(s, ack_id, json_deep_copy(args), b, nb);
}

static int accept_all(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  return 0;
}

int sio_conformance_init(void) {
  int rc = 0;
  sio_set_auth_check(accept_all);
  for (int i = 0; i < 2; i++) {
    const char *nsp = i ? "/custom" : "/";
    rc |= sio_namespace_add(nsp, c_connect, NULL);
    rc |= sio_on(nsp, "message", c_message);
    rc |= sio_on(nsp, "message-with-ack", c_message_ack);
  }
  return rc ? -1 : 0;
}

int sio_bench_init(int peer_events, int test_nsp) {
  int rc = 0;
  if (peer_events) {
    rc |= sio_on("/", "join", on_join);
    rc |= sio_on("/", "leave", on_leave);
    rc |= sio_on("/", "chat", on_chat);
  }
  if (!test_nsp) return rc ? -1 : 0;
  /* "/test" pins the wire format its stories check byte for byte (no recovery
   * offsets); "/test-recovery" is the same application with recovery on. */
  rc |= sio_namespace_recovery("/test", 0);
  for (int i = 0; i < 2; i++) {
    const char *nsp = i ? "/test-recovery" : "/test";
    rc |= sio_on(nsp, "join", on_join);
    rc |= sio_on(nsp, "leave", on_leave);
    rc |= sio_on(nsp, "chat", on_chat);
    rc |= sio_on(nsp, "echo", t_echo);
    rc |= sio_on(nsp, "ask", t_ask);
    rc |= sio_on(nsp, "whoami", t_whoami);
    rc |= sio_on(nsp, "presence", t_presence);
    rc |= sio_on(nsp, "say", t_say);
    rc |= sio_on(nsp, "server-emit", t_server_emit);
    rc |= sio_on(nsp, "kick", t_kick);
    rc |= sio_on(nsp, "emit-user", t_emit_user);
  }
  return rc ? -1 : 0;
}
