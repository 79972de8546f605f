/* conformance: the application the official Socket.IO conformance suites expect
 * (socket.io repository, docs/engine.io-protocol/v4-test-suite and
 * docs/socket.io-protocol/v5-test-suite), only with --conformance: an Engine.IO echo at
 * /engine.io/, Socket.IO "/" and "/custom" that answer "message" and
 * "message-with-ack", any auth accepted, the suites' short timers, no recovery. */
#include <string.h>

#include "core/service.h"
#include "realtime/eio.h"
#include "realtime/sio.h"

/* On connection: emit "auth" with the handshake auth. */
static void c_connect(sio_socket *s, const char *reason) {
  const json_t *auth = sio_socket_auth(s);
  /* "o" steals: a fresh {} must not be counted twice (it leaked ~200 bytes a socket) */
  sio_emit(s, "auth", json_pack("[o]", auth ? json_incref((json_t *)auth) : json_object()));
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

static int sio_app_init(void) {
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


/* The Engine.IO suite's application: every message comes back as it came. */
static int echo_message(eio_session *s, const uint8_t *d, size_t n, int binary) {
  return eio_send_message(s, d, n, binary);
}
static const eio_upper echo_upper = { .prefix = "/engine.io/", .on_message = echo_message, .accepted_from_start = 1 };

static int conformance_init(void) {
  if (!vz_cfg.conformance) return 0;
  /* The suites configure their servers so: short timers, 1e6 maxPayload. */
  eio_opt.ping_interval_ms = 300;
  eio_opt.ping_timeout_ms = 200;
  eio_opt.max_payload = 1000000;
  sio_set_recovery(0); /* the suites' server runs without connection state recovery */
  if (eio_mount(&echo_upper) < 0) return -1;
  return sio_app_init();
}

const vz_service conformance_app = { .name = "conformance", .init = conformance_init };
