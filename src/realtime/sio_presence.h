/* sio_presence: how many sockets are in a room across every io loop and every instance.
 * Internal to the gateway; services ask through sio_room_presence() in sio.h. */
#ifndef VZ_SIO_PRESENCE_H
#define VZ_SIO_PRESENCE_H
#include <stdint.h>
#include "core/loop.h"
#include "realtime/sio_rooms.h"

/* Starts the per-loop reports; rooms_of gives a loop's own room table. */
int sio_presence_init(uint64_t instance_id, sio_rooms *(*rooms_of)(vz_loop *l));
long sio_presence_count(const char *key, size_t key_len);
void sio_presence_free(void);
#endif
