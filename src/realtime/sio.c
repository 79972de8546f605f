/* sio: Socket.IO v5 server (see sio.h for the threading rules).
 *
 * A packet from the client arrives through eio as one Engine.IO message. Binary
 * packets (BINARY_EVENT/BINARY_ACK) are followed by their attachments as binary
 * messages; the packet waits in the connection until all have arrived (spec "Packet
 * encoding": "the attachments are sent as separate binary messages").
 *
 * Emits are encoded once into a ws_buf ("4" + packet, with its WebSocket header) and
 * queued by reference on every recipient; eio writes them once per loop turn. Room
 * emits across loops and instances are sio_broadcast.c's.
 *
 * Spec: Socket.IO v5 protocol (socketio/socket.io-protocol, README). */
#include "realtime/sio.h"
#include "realtime/sio_int.h"
#include "realtime/sio_events.h"
#include "core/service.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/http.h"
#include "realtime/eio.h"
#include "core/loop.h"
#include "realtime/sio_codec.h"
#include "realtime/sio_recovery.h"
#include "realtime/sio_recovery_shared.h"
#include "realtime/sio_presence.h"
#include "realtime/sio_rooms.h"

static sio_ns nsps[MAX_NSPS];
static int nnsps;
static sio_auth_fn auth_check = sio_auth_token_nonempty;

static sio_loopst *sio_loops[64]; /* outlive the loops: freed at exit */

static int sio_slot = -1; /* taken in sio_init */
sio_loopst *sio_loopst_of(vz_loop *l) {
  void **slot = vz_loop_slot(l, sio_slot);
  if (!*slot) {
    *slot = calloc(1, sizeof(sio_loopst));
    if (!*slot) abort(); /* first use on a loop only */
    if (vz_loop_index(l) < 64) sio_loops[vz_loop_index(l)] = *slot;
  }
  return *slot;
}

/* Recoveries by where the missed packets came from, and the tries that started fresh. */
static atomic_ullong rec_memory, rec_stream, rec_fresh;

void sio_recovery_stats(uint64_t *memory, uint64_t *stream, uint64_t *fresh) {
  *memory = atomic_load(&rec_memory);
  *stream = atomic_load(&rec_stream);
  *fresh = atomic_load(&rec_fresh);
}

/* Sums over the loops for /metrics; other loops' counters may be a moment stale. */
void sio_stats_sum(uint64_t *delivered, long *rooms) {
  *delivered = 0;
  *rooms = 0;
  for (int i = 0; i < 64; i++)
    if (sio_loops[i]) {
      *delivered += sio_loops[i]->delivered;
      *rooms += (long)sio_loops[i]->rooms.count;
    }
}

static void sio_loops_free(void) {
  sio_presence_free();
  for (int i = 0; i < 64; i++) {
    if (!sio_loops[i]) continue;
    sio_rooms_free(&sio_loops[i]->rooms);
    free(sio_loops[i]);
    sio_loops[i] = NULL;
  }
}

/* ---- registration -------------------------------------------------------------------- */

static sio_ns *ns_find(const char *name) {
  for (int i = 0; i < nnsps; i++)
    if (strcmp(nsps[i].name, name) == 0) return &nsps[i];
  return NULL;
}

int sio_namespace_add(const char *nsp, sio_conn_fn on_connect, sio_conn_fn on_disconnect) {
  sio_ns *n = ns_find(nsp);
  if (!n) {
    if (nnsps == MAX_NSPS || nsp[0] != '/' || strlen(nsp) > SIO_MAX_NSP) return -1;
    n = &nsps[nnsps++];
    snprintf(n->name, sizeof n->name, "%s", nsp);
  }
  if (on_connect) n->on_connect = on_connect;
  if (on_disconnect) n->on_disconnect = on_disconnect;
  return 0;
}

static int handler_add(const char *nsp, const char *event, sio_event_fn fn, const sio_event *decl) {
  if (sio_namespace_add(nsp, NULL, NULL) < 0) return -1;
  sio_ns *n = ns_find(nsp);
  if (n->nh == MAX_HANDLERS) return -1;
  for (int i = 0; i < n->nh; i++)
    if (strcmp(n->h[i].event, event) == 0) return -1; /* one handler per event: a second is a bug */
  n->h[n->nh].event = event;
  n->h[n->nh].fn = fn;
  n->h[n->nh].decl = decl;
  n->nh++;
  return 0;
}

int sio_on(const char *nsp, const char *event, sio_event_fn fn) { return handler_add(nsp, event, fn, NULL); }
int sio_on_declared(const char *nsp, const char *event, const sio_event *decl) {
  return handler_add(nsp, event, NULL, decl);
}

int sio_namespace_recovery(const char *nsp, int on) {
  if (sio_namespace_add(nsp, NULL, NULL) < 0) return -1;
  ns_find(nsp)->no_recovery = (uint8_t)!on;
  return 0;
}

/* Room packets of this namespace carry offsets and are kept (key: "<nsp>\x1f<room>"). */
int sio_key_recovers(const char *key, size_t klen) {
  if (!sio_rec_enabled()) return 0;
  const char *sep = memchr(key, KEY_SEP, klen);
  for (int i = 0; sep && i < nnsps; i++)
    if (strlen(nsps[i].name) == (size_t)(sep - key) && memcmp(nsps[i].name, key, (size_t)(sep - key)) == 0)
      return !nsps[i].no_recovery;
  return 0;
}

void sio_set_auth_check(sio_auth_fn fn) { auth_check = fn ? fn : sio_auth_token_nonempty; }

int sio_auth_token_nonempty(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  const json_t *tok = json_object_get(auth, "token");
  if (!json_is_string(tok) || json_string_length(tok) == 0) {
    *message = "unauthorized";
    return -1;
  }
  /* The peer keeps token.slice(0, 64) as the user name. */
  size_t n = json_string_length(tok);
  if (n > 64) n = 64;
  memcpy(out->user, json_string_value(tok), n);
  out->user[n] = 0;
  return 0;
}

/* ---- encoding ------------------------------------------------------------------------ */

ws_buf *sio_encode(int type, const char *nsp, int64_t ack, int natt, const json_t *data) {
  char *buf;
  long n = sio_packet_encode(type, nsp, ack, natt, data, 1, &buf);
  if (n < 0) return NULL;
  buf[0] = '4'; /* Engine.IO "message" */
  ws_buf *b = ws_buf_from(WS_OP_TEXT, buf, (size_t)n + 1);
  free(buf);
  return b;
}

/* [event, ...args]; args stolen. */
json_t *sio_event_data(const char *event, json_t *args) {
  json_t *d = json_array();
  if (!d) { json_decref(args); return NULL; }
  json_array_append_new(d, json_string(event));
  if (json_is_array(args)) json_array_extend(d, args);
  else if (args) json_array_append(d, args);
  json_decref(args);
  return d;
}

/* A packet and its attachments as buffers: out[0] text, out[1..] binary. */
static int encode_all(int type, const char *nsp, int64_t ack, json_t *data, const sio_bin *bins, int nbins,
                      ws_buf **out) {
  if (nbins < 0 || nbins > SIO_MAX_ATTACHMENTS) return -1;
  if (nbins) type = type == SIO_EVENT ? SIO_BINARY_EVENT : SIO_BINARY_ACK;
  out[0] = sio_encode(type, nsp, ack, nbins, data);
  if (!out[0]) return -1;
  for (int i = 0; i < nbins; i++) {
    out[1 + i] = ws_buf_from(WS_OP_BINARY, bins[i].data, bins[i].len);
    if (!out[1 + i]) {
      for (int k = 0; k <= i; k++) ws_buf_unref(out[k]);
      return -1;
    }
  }
  return 1 + nbins;
}

static int send_bufs(sio_socket *s, ws_buf **b, int nb) {
  int rc = 0;
  for (int i = 0; i < nb && rc == 0; i++) rc = eio_send(s->c->e, b[i]);
  return rc;
}

void sio_unref_all(ws_buf **b, int nb) {
  for (int i = 0; i < nb; i++) ws_buf_unref(b[i]);
}

static int send_packet(sio_conn *c, int type, const char *nsp, const json_t *data) {
  ws_buf *b = sio_encode(type, nsp, -1, 0, data);
  if (!b) return -1;
  int rc = eio_send(c->e, b);
  ws_buf_unref(b);
  return rc;
}

/* ---- rooms --------------------------------------------------------------------------- */

size_t sio_room_key(char *key, const char *nsp, const char *room) {
  int n = snprintf(key, SIO_MAX_NSP + ROOM_MAX + 2, "%s%c%s", nsp, KEY_SEP, room);
  return (size_t)n;
}

static int join_key(sio_socket *s, const char *key, size_t klen) {
  sio_loopst *st = sio_loopst_of(eio_session_loop(s->c->e));
  for (int i = 0; i < s->nmem; i++)
    if (s->mem[i].r->key_len == klen && memcmp(s->mem[i].r->key, key, klen) == 0) return 0;
  if (s->nmem == s->capmem) {
    if (s->capmem >= 1024) return -1;
    uint16_t cap = s->capmem ? (uint16_t)(s->capmem * 2) : 2;
    sio_member *m = realloc(s->mem, cap * sizeof *m);
    if (!m) return -1;
    s->mem = m;
    s->capmem = cap;
  }
  sio_room *r = sio_rooms_get(&st->rooms, key, klen, 1);
  if (!r) return -1;
  int idx = sio_room_add(r, s);
  if (idx < 0) { sio_rooms_release(&st->rooms, r); return -1; }
  s->mem[s->nmem].r = r;
  s->mem[s->nmem].idx = (uint32_t)idx;
  s->nmem++;
  return 0;
}

static void leave_at(sio_socket *s, int i) {
  sio_loopst *st = sio_loopst_of(eio_session_loop(s->c->e));
  sio_room *r = s->mem[i].r;
  sio_socket *moved = sio_room_del(r, s->mem[i].idx);
  if (moved)
    for (int k = 0; k < moved->nmem; k++)
      if (moved->mem[k].r == r) { moved->mem[k].idx = s->mem[i].idx; break; }
  s->mem[i] = s->mem[--s->nmem];
  sio_rooms_release(&st->rooms, r);
}

int sio_valid_room(const char *room) {
  size_t n = room ? strlen(room) : 0;
  return n > 0 && n <= ROOM_MAX;
}

int sio_join(sio_socket *s, const char *room) {
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  if (!sio_valid_room(room)) return -1;
  return join_key(s, key, sio_room_key(key, s->ns->name, room));
}

int sio_leave(sio_socket *s, const char *room) {
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  if (!sio_valid_room(room)) return -1;
  size_t klen = sio_room_key(key, s->ns->name, room);
  for (int i = 0; i < s->nmem; i++)
    if (s->mem[i].r->key_len == klen && memcmp(s->mem[i].r->key, key, klen) == 0) {
      leave_at(s, i);
      return 0;
    }
  return 0;
}

int sio_in_room(const sio_socket *s, const char *room) {
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  if (!sio_valid_room(room)) return 0;
  size_t klen = sio_room_key(key, s->ns->name, room);
  for (int i = 0; i < s->nmem; i++)
    if (s->mem[i].r->key_len == klen && memcmp(s->mem[i].r->key, key, klen) == 0) return 1;
  return 0;
}

/* ---- per socket ---------------------------------------------------------------------- */

const char *sio_socket_id(const sio_socket *s) { return s->id; }
const char *sio_socket_nsp(const sio_socket *s) { return s->ns->name; }
const sio_identity *sio_socket_identity(const sio_socket *s) { return &s->who; }
const json_t *sio_socket_auth(const sio_socket *s) { return s->auth; }

/* Recovery on: a direct emit carries an offset too, or the client would take its last
 * string argument for one. Not kept in a history (the reference would replay it); its
 * offset is the newest room packet this socket can have had, so a recovery from it
 * neither repeats nor skips room packets. */
static void add_offset(sio_socket *s, json_t *d) {
  if (!d || !s->pid[0]) return;
  uint64_t seq = sio_loopst_of(eio_session_loop(s->c->e))->last_seq;
  if (s->min_seq > seq) seq = s->min_seq;
  char off[24];
  snprintf(off, sizeof off, "%llu", (unsigned long long)seq);
  json_array_append_new(d, json_string(off));
}

int sio_emit_bin(sio_socket *s, const char *event, json_t *args, const sio_bin *bins, int nbins) {
  if (s->gone) { json_decref(args); return -1; }
  json_t *d = sio_event_data(event, args);
  add_offset(s, d);
  ws_buf *b[1 + SIO_MAX_ATTACHMENTS];
  int nb = d ? encode_all(SIO_EVENT, s->ns->name, -1, d, bins, nbins, b) : -1;
  json_decref(d);
  if (nb < 0) return -1;
  int rc = send_bufs(s, b, nb);
  sio_unref_all(b, nb);
  return rc;
}

int sio_emit(sio_socket *s, const char *event, json_t *args) { return sio_emit_bin(s, event, args, NULL, 0); }

int sio_emit_ack(sio_socket *s, const char *event, json_t *args, sio_ack_fn cb, void *ud) {
  if (s->gone || s->nacks >= 256) { json_decref(args); return -1; }
  json_t *d = sio_event_data(event, args);
  if (!d) return -1;
  int64_t id = s->next_ack++;
  ws_buf *b = sio_encode(SIO_EVENT, s->ns->name, id, 0, d);
  json_decref(d);
  if (!b) return -1;
  sio_pending_ack *a = realloc(s->acks, (s->nacks + 1u) * sizeof *a);
  if (!a) { ws_buf_unref(b); return -1; }
  s->acks = a;
  s->acks[s->nacks].id = id;
  s->acks[s->nacks].cb = cb;
  s->acks[s->nacks].ud = ud;
  s->nacks++;
  int rc = eio_send(s->c->e, b);
  ws_buf_unref(b);
  return rc;
}

int sio_ack_bin(sio_socket *s, int64_t ack_id, json_t *args, const sio_bin *bins, int nbins) {
  if (s->gone || ack_id < 0) { json_decref(args); return -1; }
  if (!json_is_array(args)) {
    json_t *a = json_array();
    if (args) json_array_append_new(a, args);
    args = a;
  }
  ws_buf *b[1 + SIO_MAX_ATTACHMENTS];
  int nb = encode_all(SIO_ACK, s->ns->name, ack_id, args, bins, nbins, b);
  json_decref(args);
  if (nb < 0) return -1;
  int rc = send_bufs(s, b, nb);
  sio_unref_all(b, nb);
  return rc;
}

int sio_ack(sio_socket *s, int64_t ack_id, json_t *args) { return sio_ack_bin(s, ack_id, args, NULL, 0); }

/* The reference's RECOVERABLE_DISCONNECT_REASONS, less the "forced" ones we never
 * produce, and "server shutting down" only when the store outlives this process (Redis):
 * then a rolling restart costs a client nothing. */
static int recoverable(const char *reason) {
  return reason && (strcmp(reason, "transport close") == 0 || strcmp(reason, "transport error") == 0 ||
                    strcmp(reason, "ping timeout") == 0 ||
                    (sio_rec_shared_enabled() && strcmp(reason, "server shutting down") == 0));
}

/* A socket that dropped: its id, pid and rooms wait for the client to come back. */
static void persist(sio_socket *s) {
  sio_rec_session *r = calloc(1, sizeof *r);
  if (!r) return;
  r->keys = calloc(s->nmem ? s->nmem : 1, sizeof *r->keys);
  if (!r->keys) { free(r); return; }
  memcpy(r->pid, s->pid, sizeof r->pid);
  memcpy(r->sid, s->id, sizeof r->sid);
  r->user_id = s->who.user_id;
  for (int i = 0; i < s->nmem; i++) {
    const sio_room *room = s->mem[i].r;
    char *k = malloc(room->key_len + 1);
    if (!k) { sio_rec_session_free(r); return; }
    memcpy(k, room->key, room->key_len);
    k[room->key_len] = 0;
    r->keys[r->nkeys++] = k;
  }
  if (sio_rec_shared_enabled() && sio_rec_shared_persist(r) == 0) {
    sio_rec_session_free(r);
    return;
  }
  sio_rec_lock(); /* one instance, or Redis unreachable: kept here */
  sio_rec_persist(r);
  sio_rec_unlock();
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int sio_socket_hide(sio_socket *s, const char *key, const int64_t *ids, int n) {
  if (!key || strlen(key) >= sizeof s->hide_key || n < 0) return -1;
  int64_t *v = n ? malloc((size_t)n * sizeof *v) : NULL;
  if (n && !v) return -1;
  if (n) {
    memcpy(v, ids, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
  }
  free(s->hide);
  s->hide = v;
  s->nhide = (uint32_t)n;
  snprintf(s->hide_key, sizeof s->hide_key, "%s", key);
  return 0;
}

int sio_socket_hides(const sio_socket *s, const ws_buf *b) {
  if (!s->nhide) return 0;
  char pat[32];
  int pl = snprintf(pat, sizeof pat, "\"%s\":\"", s->hide_key);
  const uint8_t *p = memmem(b->data, b->len, pat, (size_t)pl);
  if (!p) return 0;
  p += pl;
  const uint8_t *end = b->data + b->len;
  int64_t id = 0;
  int digits = 0;
  while (p < end && *p >= '0' && *p <= '9' && digits < 19) id = id * 10 + (*p++ - '0'), digits++;
  if (!digits || p >= end || *p != '"') return 0;
  return bsearch(&id, s->hide, s->nhide, sizeof id, cmp_i64) != NULL;
}

static void socket_free(sio_socket *s, const char *reason) {
  s->gone = 1;
  if (s->pid[0] && recoverable(reason)) persist(s);
  if (s->ns->on_disconnect) s->ns->on_disconnect(s, reason);
  while (s->nmem) leave_at(s, s->nmem - 1);
  free(s->mem);
  free(s->acks);
  free(s->hide);
  sio_event_waiting_free(s);
  free(s);
}

static void socket_unlink(sio_socket *s) {
  for (sio_socket **pp = &s->c->sockets; *pp; pp = &(*pp)->next)
    if (*pp == s) { *pp = s->next; return; }
}

void sio_disconnect(sio_socket *s) {
  if (s->gone) return;
  send_packet(s->c, SIO_DISCONNECT, s->ns->name, NULL);
  socket_unlink(s);
  socket_free(s, "server namespace disconnect");
}

/* On each loop: the sockets of a revoked session leave with a DISCONNECT, after which
 * socket.io-client does not reconnect by itself. Every socket is in its namespace's ""
 * room; the room is held (busy) while members leave, walked from the end because a
 * leaving member is replaced by the last one. */
static void drop_session_posted(void *arg) {
  int64_t sid = *(int64_t *)arg;
  free(arg);
  sio_loopst *st = sio_loopst_of(vz_loop_current());
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  for (int i = 0; i < nnsps; i++) {
    sio_room *r = sio_rooms_get(&st->rooms, key, sio_room_key(key, nsps[i].name, ""), 0);
    if (!r) continue;
    r->busy++;
    for (uint32_t k = r->n; k-- > 0;)
      if (k < r->n && r->m[k]->who.session_id == sid) sio_disconnect(r->m[k]);
    r->busy--;
    sio_rooms_release(&st->rooms, r);
  }
}

void sio_disconnect_session(int64_t session_id) {
  for (int i = 0, n = vz_loop_count(); session_id > 0 && i < n; i++) {
    int64_t *arg = malloc(sizeof *arg);
    if (!arg) return;
    *arg = session_id;
    if (vz_loop_post(vz_loop_get(i), drop_session_posted, arg) < 0) free(arg);
  }
}

/* Removing a user's sockets from a room (a ban) on every loop and every instance. The
 * message on the bus "sio:kick" is: 8-byte origin, 8-byte user id, then the room key.
 * This instance posts to its own loops directly (Redis may be down) and ignores its echo. */
typedef struct kick_msg { int64_t user_id; size_t klen; char key[SIO_MAX_NSP + ROOM_MAX + 2]; } kick_msg;
static uint64_t kick_origin;

static void kick_posted(void *arg) {
  kick_msg *k = arg;
  sio_loopst *st = sio_loopst_of(vz_loop_current());
  sio_room *r = sio_rooms_get(&st->rooms, k->key, k->klen, 0);
  if (r) {
    r->busy++;
    for (uint32_t i = r->n; i-- > 0;) {
      if (i >= r->n || r->m[i]->who.user_id != k->user_id) continue;
      sio_socket *m = r->m[i];
      for (int j = 0; j < m->nmem; j++)
        if (m->mem[j].r == r) { leave_at(m, j); break; }
    }
    r->busy--;
    sio_rooms_release(&st->rooms, r);
  }
  free(k);
}

static void kick_local(int64_t user_id, const char *key, size_t klen) {
  for (int i = 0, n = vz_loop_count(); i < n; i++) {
    kick_msg *k = malloc(sizeof *k);
    if (!k) return;
    k->user_id = user_id;
    k->klen = klen;
    memcpy(k->key, key, klen);
    if (vz_loop_post(vz_loop_get(i), kick_posted, k) < 0) free(k);
  }
}

static void on_bus_kick(const char *topic, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t origin;
  int64_t uid;
  if (strcmp(topic, "sio:kick") != 0 || len <= 16 || len - 16 >= SIO_MAX_NSP + ROOM_MAX + 2) return;
  memcpy(&origin, p, 8);
  memcpy(&uid, p + 8, 8);
  if (origin != kick_origin) kick_local(uid, (const char *)p + 16, len - 16);
}

int sio_room_leave_user(const char *nsp, const char *room, int64_t user_id) {
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  if (!nsp || strlen(nsp) > SIO_MAX_NSP || !sio_valid_room(room) || user_id <= 0) return -1;
  size_t klen = sio_room_key(key, nsp, room);
  kick_local(user_id, key, klen);
  uint8_t m[16 + sizeof key];
  memcpy(m, &kick_origin, 8);
  memcpy(m + 8, &user_id, 8);
  memcpy(m + 16, key, klen);
  if (cache_backend() == CACHE_REDIS) vz_bus_publish("sio:kick", m, 16 + klen);
  return 0;
}

/* ---- incoming packets ------------------------------------------------------------------ */

static sio_socket *find_socket(sio_conn *c, const char *nsp) {
  for (sio_socket *s = c->sockets; s; s = s->next)
    if (strcmp(s->ns->name, nsp) == 0) return s;
  return NULL;
}

static int connect_error(sio_conn *c, const char *nsp, const char *message) {
  json_t *d = json_pack("{s:s}", "message", message);
  int rc = send_packet(c, SIO_CONNECT_ERROR, nsp, d);
  json_decref(d);
  return rc < 0 ? -1 : 0;
}

/* CONNECT {pid, offset, ...auth} from a client that had a session (socket.io-client
 * sends them by itself when the server gave it a pid). On success s takes its old id,
 * pid and rooms, *missed holds the packets to replay in order, and the count is
 * returned; -1 means a fresh session (unknown or expired pid, another namespace or user,
 * or an offset the history no longer covers), as the reference's restoreSession. The
 * auth check has run already: recovery never skips it. */
static int recover(sio_socket *s, const json_t *auth, ws_buf ***missed) {
  const json_t *jp = json_object_get(auth, "pid"), *jo = json_object_get(auth, "offset");
  if (!json_is_string(jp) || !json_is_string(jo)) return -1;
  const char *os = json_string_value(jo);
  char *end;
  if (!*os || *os < '0' || *os > '9') return -1;
  unsigned long long offset = strtoull(os, &end, 10);
  if (*end) return -1;
  const char *pid = json_string_value(jp);
  int n = -1, shared = sio_rec_shared_enabled();
  /* Only the owner (same user, anonymous for anonymous, same namespace) takes the
   * session; a stranger who learnt the pid gets a fresh one and leaves it in place. */
  sio_rec_lock();
  sio_rec_session *r = sio_rec_take(pid, s->who.user_id, s->ns->name);
  sio_rec_unlock();
  if (!r && shared) r = sio_rec_shared_take(pid, s->who.user_id, s->ns->name); /* from any instance */
  int ok = r != NULL;
  uint64_t last = 0;
  /* The local history, under the lock the emit path (or the stream follower) posts
   * under, so nothing slips between the history read and the join below (which runs
   * before this loop's next post). With Redis it holds what the follower saw since it
   * started; an older offset, or one a local bound dropped, reads the stream instead. */
  if (ok && (!shared || offset >= sio_rec_shared_since())) {
    sio_rec_lock();
    n = sio_rec_missed(r, offset, missed, &last);
    sio_rec_unlock();
  }
  if (n >= 0) atomic_fetch_add(&rec_memory, 1);
  if (ok && shared && n < 0 && (n = sio_rec_shared_missed(r, offset, missed, &last)) >= 0)
    atomic_fetch_add(&rec_stream, 1);
  if (n < 0) atomic_fetch_add(&rec_fresh, 1);
  if (n >= 0) {
    memcpy(s->id, r->sid, sizeof s->id);
    memcpy(s->pid, r->pid, sizeof s->pid);
    s->min_seq = last; /* posts up to here still queued to this loop are in *missed */
    for (int i = 0; i < r->nkeys; i++) join_key(s, r->keys[i], strlen(r->keys[i]));
  }
  sio_rec_session_free(r);
  return n;
}

static int on_connect(sio_conn *c, sio_packet *p) {
  /* Spec "Connection to a namespace": unknown namespace → CONNECT_ERROR
   * {"message":"Invalid namespace"}; the Engine.IO connection stays open. */
  const sio_ns *ns = ns_find(p->nsp);
  if (!ns) return connect_error(c, p->nsp, "Invalid namespace");
  if (find_socket(c, p->nsp)) return 0; /* already connected: nothing to do */
  sio_identity who;
  memset(&who, 0, sizeof who);
  const char *msg = "unauthorized";
  if (auth_check(p->nsp, p->data, &who, &msg) < 0) return connect_error(c, p->nsp, msg ? msg : "unauthorized");
  sio_socket *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->c = c;
  s->ns = ns;
  s->who = who;
  s->next = c->sockets;
  c->sockets = s;
  ws_buf **missed = NULL;
  int rec = sio_rec_enabled() && !ns->no_recovery;
  int nmissed = rec ? recover(s, p->data, &missed) : -1;
  if (nmissed < 0) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t rnd[40];
    randombytes_buf(rnd, sizeof rnd);
    for (int i = 0; i < 20; i++) s->id[i] = al[rnd[i] & 63];
    if (rec)
      for (int i = 0; i < 20; i++) s->pid[i] = al[rnd[20 + i] & 63];
  }
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  join_key(s, key, sio_room_key(key, ns->name, ""));
  if (who.user_id > 0 && strcmp(ns->name, "/") == 0) {
    char room[32];
    snprintf(room, sizeof room, "user:%lld", (long long)who.user_id);
    sio_join(s, room);
  }
  eio_session_accept(c->e); /* in a namespace: messages up to maxPayload from now on */
  json_t *d = s->pid[0] ? json_pack("{s:s,s:s}", "sid", s->id, "pid", s->pid) : json_pack("{s:s}", "sid", s->id);
  int rc = send_packet(c, SIO_CONNECT, ns->name, d);
  json_decref(d);
  /* what it missed, after the CONNECT (the client would buffer them before it too) */
  for (int i = 0; i < nmissed; i++) {
    if (rc == 0 && !sio_socket_hides(s, missed[i])) rc = eio_send(c->e, missed[i]);
    ws_buf_unref(missed[i]);
  }
  free(missed);
  s->auth = p->data;
  if (ns->on_connect) ns->on_connect(s, NULL);
  s->auth = NULL;
  return rc < 0 ? -1 : 0;
}

static int dispatch(sio_conn *c, sio_packet *p, const sio_bin *bins, int nbins) {
  if (p->type == SIO_CONNECT) return on_connect(c, p);
  sio_socket *s = find_socket(c, p->nsp);
  /* A packet for a namespace the client is not connected to is a protocol error
   * (the reference server closes the connection). */
  if (!s || p->type == SIO_CONNECT_ERROR) return -1;
  switch (p->type) {
  case SIO_DISCONNECT:
    socket_unlink(s);
    socket_free(s, "client namespace disconnect");
    return 0;
  case SIO_EVENT:
  case SIO_BINARY_EVENT: {
    const json_t *name = json_array_get(p->data, 0);
    int declared = 0, handled = 0;
    for (int i = 0; i < s->ns->nh; i++) declared |= s->ns->h[i].decl != NULL;
    for (int i = 0; json_is_string(name) && i < s->ns->nh; i++) {
      if (strcmp(s->ns->h[i].event, json_string_value(name)) != 0) continue;
      json_t *args = json_array();
      for (size_t k = 1; k < json_array_size(p->data); k++) json_array_append(args, json_array_get(p->data, k));
      if (s->ns->h[i].decl) sio_event_run(s, s->ns->h[i].decl, args, p->ack_id);
      else s->ns->h[i].fn(s, args, p->ack_id, bins, nbins);
      json_decref(args);
      handled = 1;
      break; /* s may be gone now (a handler may disconnect it): touch nothing of it */
    }
    /* A namespace of declared events answers an unknown event that asked for an ack
     * with an error, so a client learns at once (issue 19); elsewhere, as the reference
     * server, nothing (the conformance application). */
    if (!handled && declared && p->ack_id >= 0)
      sio_ack(s, p->ack_id, json_pack("[{s:{s:s,s:s}}]", "error", "code", "unknown_event", "message", "no such event"));
    return 0;
  }
  case SIO_ACK:
  case SIO_BINARY_ACK:
    for (int i = 0; i < s->nacks; i++) {
      if (s->acks[i].id != p->ack_id) continue;
      sio_pending_ack a = s->acks[i];
      s->acks[i] = s->acks[--s->nacks];
      if (a.cb) a.cb(s, p->data, a.ud);
      break;
    }
    return 0; /* an unknown ack id is ignored, as the reference server does */
  }
  return -1;
}

static void partial_free(sio_partial *pp) {
  if (!pp) return;
  sio_packet_clear(&pp->p);
  for (int i = 0; i < pp->nbins; i++) free((void *)pp->bins[i].data);
  free(pp);
}

int sio_session_message(eio_session *e, const uint8_t *d, size_t n, int binary) {
  sio_conn *c = *eio_session_data(e);
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->e = e;
    *eio_session_data(e) = c;
  }
  if (binary) {
    sio_partial *pp = c->partial;
    if (!pp) return -1; /* an attachment nobody announced */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return -1;
    if (n) memcpy(copy, d, n);
    pp->bins[pp->nbins].data = copy;
    pp->bins[pp->nbins].len = n;
    if (++pp->nbins < pp->p.attachments) return 0;
    c->partial = NULL;
    int rc = dispatch(c, &pp->p, pp->bins, pp->nbins);
    partial_free(pp);
    return rc;
  }
  if (c->partial) return -1; /* text while attachments were due */
  sio_packet p;
  if (sio_packet_decode((const char *)d, n, &p) < 0) return -1;
  if (p.attachments > 0) {
    /* A binary packet for a namespace this client is not in would be refused once
     * whole (dispatch); refuse it now, before up to SIO_MAX_ATTACHMENTS x maxPayload
     * of attachments are copied for it (issue 15: nothing large before CONNECT). */
    if (!find_socket(c, p.nsp)) { sio_packet_clear(&p); return -1; }
    sio_partial *pp = calloc(1, sizeof *pp);
    if (!pp) { sio_packet_clear(&p); return -1; }
    pp->p = p;
    c->partial = pp;
    return 0;
  }
  int rc = dispatch(c, &p, NULL, 0);
  sio_packet_clear(&p);
  return rc;
}

void sio_session_closed(eio_session *e, const char *reason) {
  sio_conn *c = *eio_session_data(e);
  if (!c) return;
  *eio_session_data(e) = NULL;
  while (c->sockets) {
    sio_socket *s = c->sockets;
    c->sockets = s->next;
    socket_free(s, reason);
  }
  partial_free(c->partial);
  free(c);
}

static sio_rooms *loop_rooms(vz_loop *l) { return &sio_loopst_of(l)->rooms; }

long sio_room_presence(const char *nsp, const char *room) {
  char key[SIO_MAX_NSP + ROOM_MAX + 2];
  if (!nsp || !room || strlen(nsp) > SIO_MAX_NSP || strlen(room) > ROOM_MAX) return 0;
  size_t n = sio_room_key(key, nsp, room);
  return sio_presence_count(key, n);
}

static const eio_upper sio_upper = {
  .prefix = "/socket.io/", .on_message = sio_session_message, .on_close = sio_session_closed,
};

static int recovery_wanted = 1;
void sio_set_recovery(int on) { recovery_wanted = on; }

/* A socket's access token is checked by the same hook as an HTTP bearer token (the auth
 * service installs it); a guest rule, if any, is an application's (sio_set_auth_check). */
int sio_auth_bearer(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  const json_t *jt = json_object_get(auth, "token");
  /* No token at all: an anonymous viewer (issue 19), user_id 0, role none. It may join
   * public rooms through the services' events and receive; every declared event with
   * VZ_AUTH or a role refuses it (401). A token that is there but bad is still refused:
   * a client whose token expired must learn it, not be silently read-only. */
  if (!jt) {
    out->user_id = out->session_id = 0;
    out->role = VZ_R_NONE;
    snprintf(out->user, sizeof out->user, "anonymous");
    return 0;
  }
  const char *tok = json_string_value(jt);
  int64_t uid = 0, sid = 0;
  int role = 0;
  if (!tok || !vz_hook.authenticate || vz_hook.authenticate(tok, &uid, &role, &sid) != 0) {
    *message = "unauthorized";
    return -1;
  }
  out->user_id = uid;
  out->session_id = sid;
  out->role = role;
  snprintf(out->user, sizeof out->user, "%lld", (long long)uid);
  return 0;
}

int sio_init(void) {
  if (sio_slot < 0 && (sio_slot = vz_loop_slot_new()) < 0) return -1;
  if (sio_namespace_add("/", NULL, NULL) < 0) return -1;
  sio_set_auth_check(sio_auth_bearer);
  vz_hook.session_revoked = sio_disconnect_session; /* signed out: its sockets end too */
  if (eio_init() < 0 || eio_mount(&sio_upper) < 0) return -1;
  return vz_service_events_adder(sio_events_add); /* services' declared events */
}

/* Serve only: recovery (an application may have turned it off), the cross-loop and
 * cross-instance broadcast, presence. */
int sio_start(int recovery) {
  sio_rec_enable(recovery && recovery_wanted);
  uint64_t instance;
  if (sio_broadcast_init(&instance) < 0) return -1;
  if (sio_presence_init(instance, loop_rooms) < 0) return -1;
  kick_origin = instance;
  if (vz_bus_subscribe("sio:kick", on_bus_kick) < 0) return -1;
  atexit(sio_rec_free);
  atexit(sio_loops_free);
  return 0;
}
