/* sio_rooms: per-loop hash of rooms; see sio_rooms.h. Member arrays are unordered
 * (swap-remove) so leaving is O(1): a socket remembers its index in each room. */
#include "realtime/sio_rooms.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_key(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
  return h;
}

static int grow(sio_rooms *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  sio_room **tab = calloc(cap, sizeof *tab);
  if (!tab) return -1;
  for (size_t i = 0; i < t->cap; i++)
    for (sio_room *r = t->tab[i], *nx; r; r = nx) {
      nx = r->hnext;
      size_t k = hash_key(r->key, r->key_len) & (cap - 1);
      r->hnext = tab[k];
      tab[k] = r;
    }
  free(t->tab);
  t->tab = tab;
  t->cap = cap;
  return 0;
}

sio_room *sio_rooms_get(sio_rooms *t, const char *key, size_t key_len, int create) {
  if (t->cap) {
    for (sio_room *r = t->tab[hash_key(key, key_len) & (t->cap - 1)]; r; r = r->hnext)
      if (r->key_len == key_len && memcmp(r->key, key, key_len) == 0) return r;
  }
  if (!create) return NULL;
  if (t->count + 1 > t->cap / 2 && grow(t) < 0) return NULL;
  sio_room *r = calloc(1, sizeof *r + key_len + 1);
  if (!r) return NULL;
  memcpy(r->key, key, key_len);
  r->key_len = key_len;
  size_t k = hash_key(key, key_len) & (t->cap - 1);
  r->hnext = t->tab[k];
  t->tab[k] = r;
  t->count++;
  return r;
}

int sio_room_add(sio_room *r, sio_socket *s) {
  if (r->n == r->cap) {
    uint32_t cap = r->cap ? r->cap * 2 : 4;
    sio_socket **m = realloc(r->m, cap * sizeof *m);
    if (!m) return -1;
    r->m = m;
    r->cap = cap;
  }
  r->m[r->n] = s;
  return (int)r->n++;
}

sio_socket *sio_room_del(sio_room *r, uint32_t idx) {
  if (idx >= r->n) return NULL;
  r->n--;
  if (idx == r->n) return NULL;
  r->m[idx] = r->m[r->n];
  return r->m[idx];
}

void sio_rooms_release(sio_rooms *t, sio_room *r) {
  if (r->n || r->busy) return;
  sio_room **pp = &t->tab[hash_key(r->key, r->key_len) & (t->cap - 1)];
  for (; *pp; pp = &(*pp)->hnext)
    if (*pp == r) {
      *pp = r->hnext;
      t->count--;
      break;
    }
  free(r->m);
  free(r);
}

void sio_rooms_free(sio_rooms *t) {
  for (size_t i = 0; i < t->cap; i++)
    for (sio_room *r = t->tab[i], *nx; r; r = nx) {
      nx = r->hnext;
      free(r->m);
      free(r);
    }
  free(t->tab);
  memset(t, 0, sizeof *t);
}
