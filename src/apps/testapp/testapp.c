/* testapp: the Socket.IO application the e2e stories drive (--test-app, and --bench
 * for the load tool): namespaces "/test" (no recovery offsets: its stories check the
 * wire byte for byte) and "/test-recovery", with acks both ways, binary, rooms, presence
 * and server emits from another loop's thread. A normal server, --dev included, answers
 * "/test" with "Invalid namespace" (issue 15: "/test" took any token, and its emit-user
 * let a guest write into a real user's room).
 * A token that is not an access token (no '.') connects as an anonymous guest named by
 * it, as the peer does; an access token is still verified, so stories act as real users
 * and a forged or revoked one is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/bench/bench.h"
#include "apps/testapp/testapp.h"
#include "core/loop.h"
#include "core/service.h"
#include "db/db.h"
#include "realtime/sio.h"
#include "realtime/sio_events.h"
#include "services/streams/streams.h"
#include "db/db.h"

#define MAX_ROOM_LEN 64

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
  bench_ack(s, ack_id, json_pack("{s:s,s:s}", "user", sio_socket_identity(s)->user, "id", sio_socket_id(s)));
}

/* presence {room}: ack {count}: members on every loop and instance (sio_room_presence). */
static void t_presence(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const char *room = bench_room_of(json_array_get(args, 0));
  bench_ack(s, ack_id, json_pack("{s:I}", "count", (json_int_t)(room ? sio_room_presence(sio_socket_nsp(s), room) : 0)));
}

/* say {room, msg}: "said" {msg, from} to the room, except the sender. */
static void t_say(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0);
  const char *room = bench_room_of(m);
  if (room)
    sio_to_room(s, room, "said",
                json_pack("{s:O,s:s}", "msg", json_object_get(m, "msg"), "from", sio_socket_identity(s)->user), 1);
  bench_ack(s, ack_id, json_pack("{s:b}", "ok", room != NULL));
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
  const char *room = bench_room_of(m);
  int all = json_is_true(json_object_get(m, "all"));
  t_job *j = room || all ? calloc(1, sizeof *j) : NULL;
  if (j) {
    snprintf(j->room, sizeof j->room, "%s", all ? "" : room);
    snprintf(j->nsp, sizeof j->nsp, "%s", sio_socket_nsp(s));
  }
  bench_ack(s, ack_id, json_pack("{s:b}", "ok", j && t_post(j, json_object_get(m, "msg")) == 0));
}

/* emit-user {id, msg}: another loop's thread emits "direct" msg to room user:<id> of
 * "/" (sockets whose auth check gave them that user id). */
static void t_emit_user(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  const json_t *m = json_array_get(args, 0), *id = json_object_get(m, "id");
  long long uid = json_is_integer(id) ? json_integer_value(id) : json_is_string(id) ? strtoll(json_string_value(id), NULL, 10) : 0;
  t_job *j = uid > 0 ? calloc(1, sizeof *j) : NULL;
  if (j) j->uid = uid;
  bench_ack(s, ack_id, json_pack("{s:b}", "ok", j && t_post(j, json_object_get(m, "msg")) == 0));
}

static void t_kick(sio_socket *s, const json_t *args, int64_t ack_id, const sio_bin *b, int nb) {
  sio_disconnect(s);
}

/* ---- declared events (sio_events.h), on "/test" ---------------------------------- */

/* db-echo {text}: a worker with a database handle reads it back through SQL; ack
 * {text, user_id}. Signed-in users only. */
static int e_db_echo(vz_req *req) {
  const char *text = json_string_value(json_object_get(req->json, "text"));
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT $1", "s", text);
  json_t *o = rc == DB_ROW ? json_pack("{s:s, s:o}", "text", db_col_text(st, 0), "user_id", vz_json_id(req->user_id)) : NULL;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return o ? vz_reply_item(req, 200, o) : vz_fail(req, 500, "internal", NULL, "no row");
}

/* admin-only: the role check of a declared event. */
static int e_admin_only(vz_req *req) { return vz_reply_item(req, 200, json_pack("{s:b}", "ok", 1)); }

/* audit-note {text}: an audited event; "fail" is refused (400), which must leave no row. */
static int e_audit_note(vz_req *req) {
  const char *text = json_string_value(json_object_get(req->json, "text"));
  if (!strcmp(text, "fail")) return vz_fail(req, 400, "invalid_argument", "text", "refused on purpose");
  return vz_reply_item(req, 200, json_pack("{s:s}", "text", text));
}

static const vz_field db_echo_in[] = { { "text", VZ_STR, VZ_REQUIRED, 1, 100, 0 }, { 0 } };
static sio_event test_events[] = {
  { .nsp = "/test", .event = "db-echo", .handler = e_db_echo, .in = db_echo_in, .flags = VZ_AUTH, .rate_per_min = 600 },
  { .nsp = "/test", .event = "admin-only", .handler = e_admin_only, .flags = VZ_ROLE_ADMIN | SIO_ON_LOOP },
  { .nsp = "/test", .event = "audit-note", .handler = e_audit_note, .in = db_echo_in, .flags = VZ_AUTH | VZ_AUDIT },
  { 0 },
};

/* POST /v1/test/streams/:id/live: the stream goes live as an encoder's publish would
 * make it (streams_go_live), for the chat stories while ingest is a placeholder. Only
 * with --test-app. */
static int go_live_tx(vz_db *db, void *ctx) {
  int64_t id = *(int64_t *)ctx;
  return streams_go_live(db, id, "rtmp", "testapp", NULL);
}
static int h_go_live(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  int rc = db_tx(req->db, go_live_tx, &id);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc == STREAMS_ECONFLICT) return vz_fail(req, 409, "conflict", "id", "the stream cannot go live now");
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 200, json_pack("{s:b}", "live", 1));
}
static vz_route test_routes[] = { VZ_POST("/v1/test/streams/:id/live", h_go_live, .flags = VZ_UNLISTED), { 0 } };

static int guest_or_bearer(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  const char *tok = json_string_value(json_object_get(auth, "token"));
  if (!json_object_get(auth, "token")) return sio_auth_bearer(nsp, auth, out, message); /* anonymous viewer */
  if (!tok || !strchr(tok, '.')) return sio_auth_token_nonempty(nsp, auth, out, message);
  return sio_auth_bearer(nsp, auth, out, message);
}

static int testapp_init(void) {
  if (!vz_cfg.test_app && !vz_cfg.bench) return 0;
  int rc = sio_namespace_recovery("/test", 0);
  for (int i = 0; i < 2; i++) {
    const char *nsp = i ? "/test-recovery" : "/test";
    rc |= bench_peer_events_add(nsp);
    rc |= sio_on(nsp, "echo", t_echo);
    rc |= sio_on(nsp, "ask", t_ask);
    rc |= sio_on(nsp, "whoami", t_whoami);
    rc |= sio_on(nsp, "presence", t_presence);
    rc |= sio_on(nsp, "say", t_say);
    rc |= sio_on(nsp, "server-emit", t_server_emit);
    rc |= sio_on(nsp, "kick", t_kick);
    rc |= sio_on(nsp, "emit-user", t_emit_user);
  }
  rc |= sio_events_add(test_events); /* only with the switch, so not a descriptor field */
#ifdef VZ_DEBUG
  if (vz_cfg.test_app) rc |= testapp_payments_routes_add();
#endif
  sio_set_auth_check(guest_or_bearer);
  if (vz_cfg.test_app && vz_routes_add(test_routes) < 0) return -1;
  return rc ? -1 : 0;
}

const vz_service testapp_app = { .name = "testapp", .init = testapp_init };
