/* sio_broadcast: room emits. A packet is encoded once into a ws_buf and posted to every
 * io loop, each delivering it to its own members of the room (FIFO post queues keep one
 * emitter's packets in order everywhere). With Redis, other instances get it on the bus
 * ("sio:room"); with Redis and connection state recovery, through the shared stream
 * instead (sio_recovery_shared.h), which also gives every packet its offset. Without
 * Redis, recovery offsets come from sio_recovery.c's process-wide counter.
 *
 * Spec: Socket.IO v5 protocol; offsets as socket.io-adapter's SessionAwareAdapter. */
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "core/bus.h"
#include "core/log.h"
#include "realtime/sio_int.h"
#include "realtime/sio_recovery.h"
#include "realtime/sio_recovery_shared.h"

/* A broadcast: encoded once, shared by every loop it is posted to. */
typedef struct sio_bcast {
  atomic_int refs;
  int nb;
  uint64_t seq;                /* offset (recovery on), else 0 */
  const sio_socket *except;    /* compared with except_id too: the pointer may be reused;
                                  NULL with except_id set: match by id (another instance's) */
  char except_id[21];
  ws_buf *b[1 + SIO_MAX_ATTACHMENTS];
  size_t key_len;
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
} sio_bcast;

static void bcast_unref(sio_bcast *bc) {
  if (atomic_fetch_sub(&bc->refs, 1) == 1) {
    sio_unref_all(bc->b, bc->nb);
    free(bc);
  }
}

/* On one loop: to its members of the room. Slow consumers are only marked here (eio
 * closes them after the loop turn), so the member array does not change under us. */
static void bcast_deliver(vz_loop *l, sio_bcast *bc) {
  sio_loopst *st = sio_loopst_of(l);
  if (bc->seq > st->last_seq) st->last_seq = bc->seq;
  sio_room *r = sio_rooms_get(&st->rooms, bc->key, bc->key_len, 0);
  if (!r) return;
  r->busy++;
  for (uint32_t i = r->n; i-- > 0;) {
    if (i >= r->n) continue;
    sio_socket *m = r->m[i];
    if (bc->except_id[0] && (m == bc->except || !bc->except) && memcmp(m->id, bc->except_id, sizeof m->id) == 0)
      continue;
    if (bc->seq && bc->seq <= m->min_seq) continue; /* replayed to it on recovery */
    if (m->nhide && sio_socket_hides(m, bc->b[0])) continue;
    for (int k = 0; k < bc->nb; k++)
      if (eio_send(m->c->e, bc->b[k]) < 0) break;
    st->delivered++;
  }
  r->busy--;
  sio_rooms_release(&st->rooms, r);
}

static void bcast_posted(void *arg) {
  sio_bcast *bc = arg;
  bcast_deliver(vz_loop_current(), bc);
  bcast_unref(bc);
}

/* Posts bc to every loop (the caller's reference is dropped). */
static void bcast_post_all(sio_bcast *bc) {
  int n = vz_loop_count();
  atomic_init(&bc->refs, 1);
  for (int i = 0; i < n; i++) {
    atomic_fetch_add(&bc->refs, 1);
    if (vz_loop_post(vz_loop_get(i), bcast_posted, bc) < 0) atomic_fetch_sub(&bc->refs, 1);
  }
  bcast_unref(bc);
}

/* Recovery on: the packet gets the next offset, is kept in its room's history and is
 * posted to every loop, this one included, all under the history lock. So every loop
 * receives room packets in offset order (FIFO post queues), and a client's last offset
 * means exactly "everything up to here, nothing after". */
static int bcast_send_rec(sio_bcast *bc) {
  sio_rec_lock();
  uint64_t seq = sio_rec_next_seq();
  ws_buf *o = sio_rec_with_offset(bc->b[0]->data, bc->b[0]->len, seq);
  if (o) {
    ws_buf_unref(bc->b[0]);
    bc->b[0] = o;
    bc->seq = seq;
    sio_rec_store(bc->key, bc->key_len, seq, o, bc->except ? bc->except_id : NULL);
  }
  bcast_post_all(bc);
  sio_rec_unlock();
  return 0;
}

/* A packet that is not in the stream still reaches this instance's members, with the
 * newest offset seen (or the client would take its last argument for one); it cannot
 * be recovered, and other instances do not get it. */
static void warn_lost(void) {
  static atomic_llong warned;
  if (vz_log_allow(&warned, 10000))
    vz_log_warn("room emits not stored for recovery: Redis unreachable or behind, delivered on this instance only");
}

/* A broadcast of an encoded packet (no offset yet) that carries `offset`, for the
 * stream paths; NULL when the key is too long or memory is short. */
static sio_bcast *bcast_of(const char *key, size_t klen, const char *except, const void *packet, size_t plen,
                           uint64_t offset) {
  if (klen >= sizeof ((sio_bcast *)0)->key) return NULL;
  sio_bcast *bc = calloc(1, sizeof *bc);
  if (!bc) return NULL;
  if (!(bc->b[0] = sio_rec_with_offset(packet, plen, offset))) { free(bc); return NULL; }
  bc->nb = 1;
  memcpy(bc->key, key, klen);
  bc->key_len = klen;
  snprintf(bc->except_id, sizeof bc->except_id, "%s", except);
  return bc;
}

static void on_shared_lost(const char *key, size_t klen, const char *except, ws_buf *b) {
  warn_lost();
  sio_bcast *bc = bcast_of(key, klen, except, b->data, b->len, sio_rec_shared_last());
  if (bc) bcast_post_all(bc);
}

/* Recovery on, with Redis: the packet is queued for the shared stream, and comes back to
 * every instance, this one included, through on_shared_packet with its offset. Only a
 * full queue refuses it here (then it is delivered locally right away). */
static int bcast_send_shared(sio_bcast *bc) {
  if (sio_rec_shared_append(bc->key, bc->key_len, bc->except ? bc->except_id : NULL, bc->b[0]) == 0) {
    sio_unref_all(bc->b, bc->nb);
    free(bc);
    return 0;
  }
  warn_lost();
  ws_buf *o = sio_rec_with_offset(bc->b[0]->data, bc->b[0]->len, sio_rec_shared_last());
  if (o) {
    ws_buf_unref(bc->b[0]);
    bc->b[0] = o;
  }
  return -1;
}

/* On the stream follower thread, in stream order: kept in the local history and posted
 * to every loop, under the history lock, exactly as bcast_send_rec does, so a recovery
 * on this instance usually replays from memory (the stream is the fallback). A replayed
 * packet (from before this instance followed) only goes into the history. */
static void on_shared_packet(uint64_t id, const char *key, size_t klen, const char *except,
                             const void *packet, size_t plen, int replayed) {
  if (replayed) {
    ws_buf *o = sio_rec_with_offset(packet, plen, id);
    if (!o) return;
    sio_rec_lock();
    sio_rec_store(key, klen, id, o, except[0] ? except : NULL);
    sio_rec_unlock();
    ws_buf_unref(o);
    return;
  }
  sio_bcast *bc = bcast_of(key, klen, except, packet, plen, id);
  if (!bc) return;
  bc->seq = id;
  sio_rec_lock();
  sio_rec_store(key, klen, id, bc->b[0], except[0] ? except : NULL);
  bcast_post_all(bc);
  sio_rec_unlock();
}

/* Delivers on the current loop (if any) now and posts to the others. */
static int bcast_send(sio_bcast *bc, const sio_socket *except) {
  vz_loop *cur = vz_loop_current();
  int n = vz_loop_count();
  if (except) {
    bc->except = except;
    memcpy(bc->except_id, except->id, sizeof bc->except_id);
  }
  if (bc->nb == 1 && sio_key_recovers(bc->key, bc->key_len)) {
    if (!sio_rec_shared_enabled()) return bcast_send_rec(bc);
    if (bcast_send_shared(bc) == 0) return 0;
  }
  atomic_init(&bc->refs, 1);
  for (int i = 0; i < n; i++) {
    vz_loop *l = vz_loop_get(i);
    if (l == cur) continue;
    atomic_fetch_add(&bc->refs, 1);
    if (vz_loop_post(l, bcast_posted, bc) < 0) atomic_fetch_sub(&bc->refs, 1);
  }
  if (cur) bcast_deliver(cur, bc);
  bcast_unref(bc);
  return 0;
}

/* Across instances. With Redis, a room emit is also published on the bus ("sio:room"):
 * 8-byte origin instance id, 2-byte room-key length, the room key, then the encoded
 * Engine.IO packet. Every other instance delivers it to its own members of the room; the
 * origin drops its own echo (it delivered locally already). Without Redis nothing is
 * published: one instance, in-process fan-out only. Order: Redis keeps the order of one
 * publishing connection, and each io loop publishes on its own, so one socket's (or one
 * thread's) emits arrive in order everywhere. */
static uint64_t instance_id;

static void bus_publish_bcast(const sio_bcast *bc) {
  if (cache_backend() != CACHE_REDIS || bc->nb != 1) return;
  if (sio_rec_shared_enabled() && sio_key_recovers(bc->key, bc->key_len)) return; /* the stream carries it */
  const ws_buf *b = bc->b[0];
  size_t n = 10 + bc->key_len + b->len;
  uint8_t *m = malloc(n);
  if (!m) return;
  memcpy(m, &instance_id, 8);
  m[8] = (uint8_t)(bc->key_len >> 8);
  m[9] = (uint8_t)bc->key_len;
  memcpy(m + 10, bc->key, bc->key_len);
  memcpy(m + 10 + bc->key_len, b->data, b->len);
  static atomic_llong warned;
  if (vz_bus_publish("sio:room", m, n) < 0 && vz_log_allow(&warned, 10000))
    vz_log_warn("room emits not published: Redis unreachable");
  free(m);
}

/* On the bus subscriber thread: hand the packet to every loop (bcast_send posts). */
static void on_bus_room(const char *topic, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t origin;
  if (strcmp(topic, "sio:room") != 0 || len < 10) return; /* "sio:pres" is sio_presence.c's */
  memcpy(&origin, p, 8);
  if (origin == instance_id) return;
  size_t klen = (size_t)p[8] << 8 | p[9];
  if (klen >= sizeof ((sio_bcast *)0)->key || 10 + klen > len) return;
  sio_bcast *bc = calloc(1, sizeof *bc);
  if (!bc) return;
  bc->b[0] = ws_buf_from(WS_OP_TEXT, p + 10 + klen, len - 10 - klen);
  if (!bc->b[0]) { free(bc); return; }
  bc->nb = 1;
  memcpy(bc->key, p + 10, klen);
  bc->key_len = klen;
  bcast_send(bc, NULL);
}

static int emit_key(const char *nsp, const char *room, const char *event, json_t *args, const sio_socket *except) {
  if (!nsp || strlen(nsp) > SIO_MAX_NSP || !event || (room && strlen(room) > ROOM_MAX)) {
    json_decref(args);
    return -1;
  }
  json_t *d = sio_event_data(event, args);
  if (!d) return -1;
  sio_bcast *bc = calloc(1, sizeof *bc);
  if (!bc) { json_decref(d); return -1; }
  bc->b[0] = sio_encode(SIO_EVENT, nsp, -1, 0, d);
  json_decref(d);
  if (!bc->b[0]) { free(bc); return -1; }
  bc->nb = 1;
  bc->key_len = sio_room_key(bc->key, nsp, room ? room : "");
  bus_publish_bcast(bc); /* before bcast_send, which may free bc */
  return bcast_send(bc, except);
}

int sio_to_room(sio_socket *s, const char *room, const char *event, json_t *args, int except_self) {
  if (!sio_valid_room(room)) { json_decref(args); return -1; }
  return emit_key(s->ns->name, room, event, args, except_self ? s : NULL);
}

int sio_emit_room(const char *nsp, const char *room, const char *event, json_t *args) {
  if (!sio_valid_room(room)) { json_decref(args); return -1; }
  return emit_key(nsp, room, event, args, NULL);
}

int sio_emit_user(int64_t user_id, const char *event, json_t *args) {
  char room[32];
  snprintf(room, sizeof room, "user:%lld", (long long)user_id);
  return emit_key("/", room, event, args, NULL);
}

/* Every socket of a namespace is in its "" room (an empty name no client can join). */
int sio_emit_all(const char *nsp, const char *event, json_t *args) {
  return emit_key(nsp, NULL, event, args, NULL);
}

/* ---- start ------------------------------------------------------------------------- */

static void shared_follow_start(vz_loop *l) {
  if (vz_loop_index(l) == 0 && sio_rec_shared_follow() < 0) vz_log_warn("recovery stream follower did not start");
}
static void shared_follow_stop(vz_loop *l) {
  if (vz_loop_index(l) == 0) sio_rec_shared_stop();
}

int sio_broadcast_init(uint64_t *instance) {
  randombytes_buf(&instance_id, sizeof instance_id);
  *instance = instance_id;
  if (vz_bus_subscribe("sio:room", on_bus_room) < 0) return -1;
  /* With Redis the history and the sessions are shared by every instance. The follower
   * starts with loop 0, once every loop can take posts, and stops when draining. */
  if (sio_rec_enabled() && cache_backend() == CACHE_REDIS) {
    sio_rec_shared_enable(on_shared_packet, on_shared_lost);
    vz_on_loop_start(shared_follow_start);
    vz_on_drain(shared_follow_stop);
  }
  return 0;
}
