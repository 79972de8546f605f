/* Invariant: a per-loop room table finds every room by key through growth, keeps each
 * member exactly once, reports the member that moved on a swap-remove (so its index
 * can be fixed), and frees a room only when it is empty and no delivery iterates it. */
#include <stdio.h>
#include <stdlib.h>

#include "../test.h"
#include "realtime/sio_rooms.h"

TEST(sio_rooms_find_grow_and_swap_remove) {
  sio_rooms t = { 0 };
  char key[32];
  for (int i = 0; i < 500; i++) {
    int n = snprintf(key, sizeof key, "/\x1froom%d", i);
    CHECK(sio_rooms_get(&t, key, (size_t)n, 1) != NULL);
  }
  CHECK_EQ_INT(t.count, 500);
  int n = snprintf(key, sizeof key, "/\x1froom%d", 123);
  sio_room *r = sio_rooms_get(&t, key, (size_t)n, 0);
  CHECK(r != NULL);
  CHECK(sio_rooms_get(&t, key, (size_t)n, 1) == r);
  sio_socket *a = (sio_socket *)(uintptr_t)0x10, *b = (sio_socket *)(uintptr_t)0x20,
             *c = (sio_socket *)(uintptr_t)0x30;
  CHECK_EQ_INT(sio_room_add(r, a), 0);
  CHECK_EQ_INT(sio_room_add(r, b), 1);
  CHECK_EQ_INT(sio_room_add(r, c), 2);
  CHECK(sio_room_del(r, 0) == c); /* c moved into slot 0 */
  CHECK(r->m[0] == c && r->m[1] == b && r->n == 2);
  CHECK(sio_room_del(r, 1) == NULL); /* the last one: nothing moves */
  r->busy = 1;
  CHECK(sio_room_del(r, 0) == NULL);
  sio_rooms_release(&t, r); /* busy: kept */
  CHECK(sio_rooms_get(&t, key, (size_t)n, 0) == r);
  r->busy = 0;
  sio_rooms_release(&t, r);
  CHECK(sio_rooms_get(&t, key, (size_t)n, 0) == NULL);
  CHECK_EQ_INT(t.count, 499);
  sio_rooms_free(&t);
}
