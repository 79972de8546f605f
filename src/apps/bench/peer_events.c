/* peer_events: the benchmark peer's Socket.IO events (../shared/bench/peer-node/server.js):
 * join {room}, leave {room}, chat {room, text} to the room. The load tool drives them on
 * "/" under --bench; the e2e test application reuses them on its namespaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench/bench.h"
#include "lib/clock.h"
#include "lib/utf8.h"
#include "realtime/sio.h"

#define MAX_ROOM_LEN 64
#define MAX_TEXT_LEN 500


const char *bench_room_of(const json_t *msg) {
  const json_t *r = json_object_get(msg, "room");
  if (!json_is_string(r)) return NULL;
  size_t n = vz_utf8_chars(json_string_value(r));
  return n > 0 && n <= MAX_ROOM_LEN ? json_string_value(r) : NULL;
}


void bench_ack(sio_socket *s, int64_t ack_id, json_t *v) {
  if (ack_id >= 0) sio_ack(s, ack_id, v);
  else json_decref(v);
}

/* join {room}: joins; ack {ok:true, room} (or {ok:false, error:"bad_room"}). */
static void on_join(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = bench_room_of(json_array_get(args, 0));
  if (!room) { bench_ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 0, "error", "bad_room")); return; }
  sio_join(s, room);
  bench_ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 1, "room", room));
}

static void on_leave(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = bench_room_of(json_array_get(args, 0));
  if (room) sio_leave(s, room);
  bench_ack(s, ack_id, json_pack("{s:b}", "ok", room != NULL));
}

/* chat {room, text} from a member: chat {room, user, text, ts} to the whole room. */
static void on_chat(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *msg = json_array_get(args, 0);
  const char *room = bench_room_of(msg);
  const json_t *text = json_object_get(msg, "text");
  size_t tl = json_is_string(text) ? vz_utf8_chars(json_string_value(text)) : 0;
  int valid = room && tl > 0 && tl <= MAX_TEXT_LEN;
  if (!valid || !sio_in_room(s, room)) {
    bench_ack(s, ack_id, json_pack("{s:b,s:s}", "ok", 0, "error", valid ? "not_in_room" : "bad_message"));
    return;
  }
  json_t *out = json_pack("{s:s,s:s,s:O,s:I}", "room", room, "user", sio_socket_identity(s)->user, "text",
                          text, "ts", (json_int_t)vz_wall_ms());
  sio_to_room(s, room, "chat", out, 0);
  bench_ack(s, ack_id, json_pack("{s:b}", "ok", 1));
}

int bench_peer_events_add(const char *nsp) {
  int rc = 0;
  rc |= sio_on(nsp, "join", on_join);
  rc |= sio_on(nsp, "leave", on_leave);
  rc |= sio_on(nsp, "chat", on_chat);
  return rc ? -1 : 0;
}
