/* sio_presence: each io loop reports the size of each of its rooms on the bus once per
 * PERIOD_MS (topic "sio:pres"), from its own thread, so no loop ever reads another loop's
 * table. Every instance keeps the newest report of each (instance, loop) and sums the
 * fresh ones; a crashed instance's counts age out after STALE_MS instead of staying
 * forever, which a shared counter incremented on join could not do. With Redis the
 * reports cross instances; without it the bus is in-process and this counts the loops of
 * one instance. A count is therefore up to one period old. */
#include "realtime/sio_presence.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/bus.h"
#include "core/log.h"
#include "lib/clock.h"

#define PERIOD_MS 1000
#define STALE_MS 3500
#define MAX_REPORT (256 * 1024)
#define MAX_ORIGINS 1024

typedef struct report { uint64_t origin; uint16_t loop; uint64_t at_ms; uint8_t *data; size_t len; } report;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static report reports[MAX_ORIGINS];
static int nreports;
static uint64_t self;
static sio_rooms *(*rooms_of)(vz_loop *l);
static uv_timer_t timers[64];


/* Message: origin (8) | loop (2) | { key_len (2) | key | count (4) }* */
static void publish(uv_timer_t *t) {
  vz_loop *l = t->data;
  sio_rooms *rooms = rooms_of(l);
  size_t cap = 10 + 64, len = 10;
  uint8_t *m = malloc(cap);
  if (!m) return;
  uint16_t idx = (uint16_t)vz_loop_index(l);
  memcpy(m, &self, 8);
  memcpy(m + 8, &idx, 2);
  for (size_t b = 0; rooms && b < rooms->cap; b++)
    for (sio_room *r = rooms->tab[b]; r; r = r->hnext) {
      if (!r->n || r->key_len > 0xffff) continue;
      size_t need = len + 2 + r->key_len + 4;
      if (need > MAX_REPORT) goto send; /* a bound on one message; the rest go unreported */
      if (need > cap) {
        size_t ncap = cap * 2 > need ? cap * 2 : need;
        uint8_t *n = realloc(m, ncap);
        if (!n) goto send;
        m = n;
        cap = ncap;
      }
      uint16_t kl = (uint16_t)r->key_len;
      uint32_t n = r->n;
      memcpy(m + len, &kl, 2);
      memcpy(m + len + 2, r->key, r->key_len);
      memcpy(m + len + 2 + r->key_len, &n, 4);
      len = need;
    }
send:
  vz_bus_publish("sio:pres", m, len);
  free(m);
}

static void on_report(const char *topic, const void *data, size_t len) {
  if (strcmp(topic, "sio:pres") != 0 || len < 10 || len > MAX_REPORT) return;
  uint64_t origin;
  uint16_t loop;
  memcpy(&origin, data, 8);
  memcpy(&loop, (const uint8_t *)data + 8, 2);
  uint8_t *copy = malloc(len);
  if (!copy) return;
  memcpy(copy, data, len);
  uint64_t now = vz_mono_ms();
  pthread_mutex_lock(&lock);
  report *slot = NULL;
  for (int i = 0; i < nreports && !slot; i++)
    if ((reports[i].origin == origin && reports[i].loop == loop) || now - reports[i].at_ms > STALE_MS * 4)
      slot = &reports[i]; /* the same reporter, or one long gone: reuse its slot */
  if (!slot && nreports < MAX_ORIGINS) slot = &reports[nreports++];
  if (slot) {
    free(slot->data);
    *slot = (report){ origin, loop, now, copy, len };
  } else {
    free(copy);
  }
  pthread_mutex_unlock(&lock);
}

long sio_presence_count(const char *key, size_t key_len) {
  long total = 0;
  uint64_t now = vz_mono_ms();
  pthread_mutex_lock(&lock);
  for (int i = 0; i < nreports; i++) {
    const report *r = &reports[i];
    if (now - r->at_ms > STALE_MS) continue;
    for (size_t p = 10; p + 2 <= r->len;) {
      uint16_t kl;
      memcpy(&kl, r->data + p, 2);
      if (p + 2 + kl + 4 > r->len) break;
      if (kl == key_len && memcmp(r->data + p + 2, key, kl) == 0) {
        uint32_t n;
        memcpy(&n, r->data + p + 2 + kl, 4);
        total += n;
        break;
      }
      p += 2 + (size_t)kl + 4;
    }
  }
  pthread_mutex_unlock(&lock);
  return total;
}

static void loop_start(vz_loop *l) {
  int i = vz_loop_index(l);
  if (i >= 64) return;
  uv_timer_init(vz_loop_uv(l), &timers[i]);
  timers[i].data = l;
  uv_timer_start(&timers[i], publish, PERIOD_MS / 4, PERIOD_MS);
}

static void loop_drain(vz_loop *l) {
  int i = vz_loop_index(l);
  if (i < 64 && !uv_is_closing((uv_handle_t *)&timers[i])) uv_close((uv_handle_t *)&timers[i], NULL);
}

int sio_presence_init(uint64_t instance_id, sio_rooms *(*fn)(vz_loop *l)) {
  self = instance_id;
  rooms_of = fn;
  vz_on_loop_start(loop_start);
  vz_on_drain(loop_drain);
  return vz_bus_subscribe("sio:pres", on_report);
}

void sio_presence_free(void) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < nreports; i++) free(reports[i].data);
  nreports = 0;
  pthread_mutex_unlock(&lock);
}
