/* sio_recovery: the history and session store behind connection state recovery.
 *
 * Spec: Socket.IO v4.6 "connection state recovery" (socket.io lib/socket.ts and
 * socket.io-adapter SessionAwareAdapter): the CONNECT reply carries a private session id
 * ("pid"); every event packet ends with an offset argument; a client that comes back
 * with CONNECT {pid, offset} within maxDisconnectionDuration gets its old sid, its rooms
 * and the packets it missed, and sees socket.recovered == true. When the offset is too
 * old for the history, the server starts a fresh session (recovered false).
 *
 * Shape. One process-wide store behind one mutex: histories by room key (a ring of
 * shared ws_bufs per room, the very buffers that went out) and sessions by pid. The
 * offset is a process-wide counter taken under the same mutex by the emit path, which
 * also posts the packet to every loop before it unlocks: each loop's FIFO post queue
 * therefore delivers room packets in offset order, which is what makes "everything
 * after my last offset" exact. Bounded: per room (packets, bytes), in total (bytes),
 * in time (the window), and the number of sessions. Stale entries are swept on the
 * emit path every few thousand packets; an idle process holds at most what it had. */
#include "realtime/sio_recovery.h"
#include "lib/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct hist_ent {
  uint64_t seq, at_ms;
  ws_buf *b;
  char except[21];
} hist_ent;

typedef struct sio_hist {
  struct sio_hist *next;
  uint64_t evicted;  /* newest seq no longer held: nothing older than it can be recovered */
  hist_ent *v;       /* ring */
  uint32_t head, n, cap;
  size_t bytes;
  size_t klen;
  char key[];
} sio_hist;

typedef struct sess_node { struct sess_node *next; sio_rec_session *s; } sess_node;

#define HBUCKETS 4096
#define SBUCKETS 4096
#define SWEEP_EVERY 4096

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int enabled;
static uint64_t seq_now;
static sio_hist *htab[HBUCKETS];
static sess_node *stab[SBUCKETS];
static size_t total_bytes, nsessions;
static unsigned stores_since_sweep;

void sio_rec_enable(int on) { enabled = on; }
int sio_rec_enabled(void) { return enabled; }
void sio_rec_lock(void) { pthread_mutex_lock(&mu); }
void sio_rec_unlock(void) { pthread_mutex_unlock(&mu); }
uint64_t sio_rec_next_seq(void) { return ++seq_now; }


static uint64_t hash(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
  return h;
}

static sio_hist *hist_get(const char *key, size_t klen, int create) {
  sio_hist **pp = &htab[hash(key, klen) & (HBUCKETS - 1)];
  for (sio_hist *h = *pp; h; h = h->next)
    if (h->klen == klen && memcmp(h->key, key, klen) == 0) return h;
  if (!create) return NULL;
  sio_hist *h = calloc(1, sizeof *h + klen + 1);
  if (!h) return NULL;
  memcpy(h->key, key, klen);
  h->klen = klen;
  h->next = *pp;
  *pp = h;
  return h;
}

static void hist_pop(sio_hist *h) {
  hist_ent *e = &h->v[h->head];
  size_t sz = e->b->len + e->b->hdr_len;
  h->bytes -= sz;
  total_bytes -= sz;
  if (e->seq > h->evicted) h->evicted = e->seq;
  ws_buf_unref(e->b);
  h->head = (h->head + 1) % h->cap;
  h->n--;
}

/* Drops what is older than the window; frees the rooms left empty. */
static void sweep(uint64_t now) {
  uint64_t limit = now > SIO_REC_WINDOW_MS ? now - SIO_REC_WINDOW_MS : 0;
  for (int i = 0; i < HBUCKETS; i++) {
    for (sio_hist **pp = &htab[i]; *pp;) {
      sio_hist *h = *pp;
      while (h->n && h->v[h->head].at_ms < limit) hist_pop(h);
      if (h->n == 0) {
        /* everything it held has expired: so have the sessions that could need it */
        *pp = h->next;
        free(h->v);
        free(h);
      } else pp = &h->next;
    }
  }
  for (int i = 0; i < SBUCKETS; i++) {
    for (sess_node **pp = &stab[i]; *pp;) {
      sess_node *n = *pp;
      if (n->s->at_ms < limit) {
        *pp = n->next;
        sio_rec_session_free(n->s);
        free(n);
        nsessions--;
      } else pp = &n->next;
    }
  }
}

void sio_rec_store(const char *key, size_t klen, uint64_t seq, ws_buf *b, const char *except_sid) {
  uint64_t now = vz_mono_ms();
  if (seq > seq_now) seq_now = seq; /* shared mode: offsets are stream ids */
  if (++stores_since_sweep >= SWEEP_EVERY) {
    stores_since_sweep = 0;
    sweep(now);
  }
  sio_hist *h = hist_get(key, klen, 1);
  if (!h) return;
  size_t sz = b->len + b->hdr_len;
  while (h->n && (h->n >= SIO_REC_ROOM_MAX_PACKETS || h->bytes + sz > SIO_REC_ROOM_MAX_BYTES ||
                  total_bytes + sz > SIO_REC_MAX_BYTES))
    hist_pop(h);
  if (sz > SIO_REC_ROOM_MAX_BYTES || total_bytes + sz > SIO_REC_MAX_BYTES) goto lost;
  if (h->n == h->cap) {
    uint32_t cap = h->cap ? h->cap * 2 : 8;
    hist_ent *v = malloc(cap * sizeof *v);
    if (!v) goto lost;
    for (uint32_t i = 0; i < h->n; i++) v[i] = h->v[(h->head + i) % h->cap];
    free(h->v);
    h->v = v;
    h->head = 0;
    h->cap = cap;
  }
  hist_ent *e = &h->v[(h->head + h->n) % h->cap];
  e->seq = seq;
  e->at_ms = now;
  e->b = b;
  ws_buf_ref(b);
  snprintf(e->except, sizeof e->except, "%s", except_sid ? except_sid : "");
  h->n++;
  h->bytes += sz;
  total_bytes += sz;
  return;
lost:
  h->evicted = seq;
}

void sio_rec_session_free(sio_rec_session *s) {
  if (!s) return;
  for (int i = 0; i < s->nkeys; i++) free(s->keys[i]);
  free(s->keys);
  free(s);
}

void sio_rec_persist(sio_rec_session *s) {
  sess_node *n = nsessions < SIO_REC_MAX_SESSIONS ? malloc(sizeof *n) : NULL;
  if (!n) { sio_rec_session_free(s); return; }
  s->at_ms = vz_mono_ms();
  size_t k = hash(s->pid, strlen(s->pid)) & (SBUCKETS - 1);
  n->s = s;
  n->next = stab[k];
  stab[k] = n;
  nsessions++;
}

int sio_rec_owned(const sio_rec_session *s, int64_t user_id, const char *nsp) {
  size_t nl = strlen(nsp);
  if (s->user_id != user_id) return 0;
  for (int i = 0; i < s->nkeys; i++) /* every key is "<nsp>\x1f<room>" */
    if (strncmp(s->keys[i], nsp, nl) != 0 || s->keys[i][nl] != '\x1f') return 0;
  return 1;
}

sio_rec_session *sio_rec_take(const char *pid, int64_t user_id, const char *nsp) {
  size_t k = hash(pid, strlen(pid)) & (SBUCKETS - 1);
  for (sess_node **pp = &stab[k]; *pp; pp = &(*pp)->next) {
    sess_node *n = *pp;
    if (strcmp(n->s->pid, pid) != 0) continue;
    sio_rec_session *s = n->s;
    int expired = s->at_ms + SIO_REC_WINDOW_MS < vz_mono_ms();
    /* Ownership first: a stranger's CONNECT with this pid leaves it where it is. */
    if (!expired && !sio_rec_owned(s, user_id, nsp)) return NULL;
    *pp = n->next;
    free(n);
    nsessions--;
    if (expired) { sio_rec_session_free(s); return NULL; }
    return s;
  }
  return NULL;
}

typedef struct seq_buf { uint64_t seq; ws_buf *b; } seq_buf;

static int by_seq(const void *a, const void *b) {
  uint64_t x = ((const seq_buf *)a)->seq, y = ((const seq_buf *)b)->seq;
  return x < y ? -1 : x > y;
}

int sio_rec_missed(const sio_rec_session *s, uint64_t offset, ws_buf ***out, uint64_t *last_seq) {
  *out = NULL;
  *last_seq = seq_now;
  if (offset > seq_now) return -1;
  size_t n = 0, cap = 0;
  seq_buf *v = NULL;
  ws_buf **bv = NULL;
  for (int i = 0; i < s->nkeys; i++) {
    sio_hist *h = hist_get(s->keys[i], strlen(s->keys[i]), 0);
    if (!h) continue;
    if (h->evicted > offset) goto fail;
    for (uint32_t k = 0; k < h->n; k++) {
      hist_ent *e = &h->v[(h->head + k) % h->cap];
      if (e->seq <= offset || strcmp(e->except, s->sid) == 0) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        seq_buf *nv = realloc(v, cap * sizeof *nv);
        if (!nv) goto fail;
        v = nv;
      }
      v[n].seq = e->seq;
      v[n++].b = e->b;
    }
  }
  if (n > 1) qsort(v, n, sizeof *v, by_seq);
  if (n) {
    bv = malloc(n * sizeof *bv);
    if (!bv) goto fail;
    for (size_t i = 0; i < n; i++) { bv[i] = v[i].b; ws_buf_ref(bv[i]); }
  }
  free(v);
  *out = bv;
  return (int)n;
fail:
  free(v);
  return -1;
}

/* SessionAwareAdapter.broadcast: "the offset is stored at the end of the data array". */
ws_buf *sio_rec_with_offset(const void *packet, size_t len, uint64_t seq) {
  const uint8_t *p = packet;
  char off[32];
  int k = snprintf(off, sizeof off, ",\"%llu\"]", (unsigned long long)seq);
  if (len < 2 || p[len - 1] != ']') return NULL;
  ws_buf *o = ws_buf_new(WS_OP_TEXT, len - 1 + (size_t)k);
  if (!o) return NULL;
  memcpy(o->data, p, len - 1);
  memcpy(o->data + len - 1, off, (size_t)k);
  return o;
}

void sio_rec_free(void) {
  for (int i = 0; i < HBUCKETS; i++)
    while (htab[i]) {
      sio_hist *h = htab[i];
      while (h->n) hist_pop(h);
      htab[i] = h->next;
      free(h->v);
      free(h);
    }
  for (int i = 0; i < SBUCKETS; i++)
    while (stab[i]) {
      sess_node *n = stab[i];
      stab[i] = n->next;
      sio_rec_session_free(n->s);
      free(n);
    }
  nsessions = 0;
}
