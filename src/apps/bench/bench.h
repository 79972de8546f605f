/* bench: the benchmark peer's application (../shared/bench/peer-node/server.js), only
 * with `vidzo serve --bench`, so both servers answer the same scenario byte for byte:
 * its fixtures (GET /v1/streams) and its Socket.IO events (join, leave, chat). An
 * application, not a service: the gateway never names it; it registers itself. */
#ifndef VZ_APPS_BENCH_H
#define VZ_APPS_BENCH_H
#include <jansson.h>
#include <stdint.h>

typedef struct sio_socket sio_socket;
int bench_init(void); /* the peer's 1000 generated streams, served by GET /v1/streams */
/* The peer's join/leave/chat events on a namespace (the test application reuses them). */
int bench_peer_events_add(const char *nsp);
/* The room named in {room: ...} (1..64 characters), or NULL. */
const char *bench_room_of(const json_t *msg);
/* Acks v when the client asked (ack_id >= 0), else drops it. */
void bench_ack(sio_socket *s, int64_t ack_id, json_t *v);
extern const struct vz_service bench_app;
#endif
