/* sio_bench: the benchmark peer's Socket.IO events (../shared/bench/peer-node/server.js)
 * on "/", so both servers run the same scenario, and the "/test" namespace the e2e
 * tests drive (acks both ways, binary, rooms, server emits from another thread).
 * The peer events need `vidzo serve --bench` (VIDZO_BENCH=1); "/test" --bench or --dev. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

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

/* say {room, msg}: "said" {msg, from} to the room, except the sender. */
static void t_say(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0);
  const char *room = room_of(m);
  if (room)
    sio_to_room(s, room, "said",
                json_pack("{s:O,s:s}", "msg", json_object_get(m, "msg"), "from", sio_socket_identity(s)->user), 1);
  ack(s, ack_id, json_pack("{s:b}", "ok", room != NULL));
}

typedef struct { char room[MAX_ROOM_LEN * 4 + 1]; json_t *msg; } t_job;

static void *t_emit_thread(void *arg) {
  t_job *j = arg;
  sio_emit_room("/test", j->room, "server", json_pack("[o]", j->msg));
  free(j);
  return NULL;
}

/* server-emit {room, msg}: a thread that is not an io loop emits "server" msg to the
 * room (the service API). */
static void t_server_emit(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0);
  const char *room = room_of(m);
  t_job *j = room ? calloc(1, sizeof *j) : NULL;
  pthread_t th;
  if (j) {
    snprintf(j->room, sizeof j->room, "%s", room);
    j->msg = json_deep_copy(json_object_get(m, "msg"));
    if (!j->msg) j->msg = json_null();
    if (pthread_create(&th, NULL, t_emit_thread, j) == 0) pthread_detach(th);
    else { json_decref(j->msg); free(j); j = NULL; }
  }
  ack(s, ack_id, json_pack("{s:b}", "ok", j != NULL));
}

static void t_kick(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  sio_disconnect(s);
}

int sio_bench_init(int peer_events, int test_nsp) {
  int rc = 0;
  if (peer_events) {
    rc |= sio_on("/", "join", on_join);
    rc |= sio_on("/", "leave", on_leave);
    rc |= sio_on("/", "chat", on_chat);
  }
  if (!test_nsp) return rc ? -1 : 0;
  rc |= sio_on("/test", "join", on_join);
  rc |= sio_on("/test", "leave", on_leave);
  rc |= sio_on("/test", "chat", on_chat);
  rc |= sio_on("/test", "echo", t_echo);
  rc |= sio_on("/test", "ask", t_ask);
  rc |= sio_on("/test", "whoami", t_whoami);
  rc |= sio_on("/test", "say", t_say);
  rc |= sio_on("/test", "server-emit", t_server_emit);
  rc |= sio_on("/test", "kick", t_kick);
  return rc ? -1 : 0;
}
