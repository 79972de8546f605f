/* sio_rooms: per-loop room tables (name -> members of this loop). Only the owning loop
 * touches its table, so there are no locks; a cross-loop emit is a post to each loop.
 * Internal to sio.c. */
#ifndef VZ_SIO_ROOMS_H
#define VZ_SIO_ROOMS_H
#include <stddef.h>
#include <stdint.h>

typedef struct sio_socket sio_socket;

typedef struct sio_room {
  struct sio_room *hnext;
  sio_socket **m;
  uint32_t n, cap;
  uint32_t busy;        /* a delivery is iterating: do not free when it empties */
  size_t key_len;
  char key[];           /* namespace "\x1f" room */
} sio_room;

typedef struct sio_rooms {
  sio_room **tab;
  size_t cap, count;
} sio_rooms;

sio_room *sio_rooms_get(sio_rooms *t, const char *key, size_t key_len, int create);
/* Adds s; returns its index in the member array or <0. */
int sio_room_add(sio_room *r, sio_socket *s);
/* Removes the member at idx (swap with the last); returns the member that moved into
 * idx (its index must be updated), or NULL. */
sio_socket *sio_room_del(sio_room *r, uint32_t idx);
/* Frees the room if empty and not busy. */
void sio_rooms_release(sio_rooms *t, sio_room *r);
void sio_rooms_free(sio_rooms *t);
#endif
