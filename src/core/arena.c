/* arena: chunks of 4 KB and up, carved front to back. A request costs two mallocs (the
 * header and its first 4 KB chunk); larger ones add chunks, each freed with the arena. */
#include "core/arena.h"
#include "core/fault.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 4096
#define DEFAULT_BUDGET (8u << 20)

/* mem is 16-aligned: the header is 24 bytes, so without this every pointer was 8-aligned. */
typedef struct chunk { struct chunk *next; size_t cap, used; _Alignas(16) char mem[]; } chunk;
typedef struct cleanup { struct cleanup *next; void (*fn)(void *); void *p; } cleanup;

struct vz_arena {
  chunk *head;
  cleanup *cleanups;
  size_t budget, total;
};

static chunk *chunk_new(size_t cap) {
  chunk *c = malloc(sizeof(chunk) + cap);
  if (!c) return NULL;
  c->next = NULL;
  c->cap = cap;
  c->used = 0;
  return c;
}

vz_arena *vz_arena_new(size_t budget) {
  vz_arena *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->budget = budget ? budget : DEFAULT_BUDGET;
  a->head = chunk_new(CHUNK_MIN);
  if (!a->head) { free(a); return NULL; }
  a->total = CHUNK_MIN;
  return a;
}

void vz_arena_free(vz_arena *a) {
  if (!a) return;
  for (cleanup *c = a->cleanups; c; c = c->next) c->fn(c->p);
  for (chunk *c = a->head, *n; c; c = n) { n = c->next; free(c); }
  free(a);
}

void *vz_arena_alloc(vz_arena *a, size_t n) {
  if (vz_fault_hit(VZ_FAULT_ALLOC)) return NULL; /* debug builds: as if over budget */
  if (n > a->budget) return NULL; /* also keeps the rounding below from wrapping to 0 */
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  chunk *c = a->head;
  if (c->cap - c->used < n) {
    size_t cap = n > CHUNK_MIN ? n : c->cap * 2;
    if (cap > 256 * 1024 && n <= 256 * 1024) cap = 256 * 1024;
    if (a->total + cap > a->budget) return NULL;
    chunk *nc = chunk_new(cap);
    if (!nc) return NULL;
    nc->next = c;
    a->head = c = nc;
    a->total += cap;
  }
  void *p = c->mem + c->used;
  c->used += n;
  return p;
}

void *vz_arena_calloc(vz_arena *a, size_t n) {
  void *p = vz_arena_alloc(a, n);
  if (p) memset(p, 0, n);
  return p;
}

char *vz_arena_strndup(vz_arena *a, const char *s, size_t n) {
  char *p = vz_arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *vz_arena_strdup(vz_arena *a, const char *s) { return vz_arena_strndup(a, s, strlen(s)); }

char *vz_arena_printf(vz_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n >= 0 ? vz_arena_alloc(a, (size_t)n + 1) : NULL;
  if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

int vz_arena_defer(vz_arena *a, void (*fn)(void *), void *p) {
  cleanup *c = vz_arena_alloc(a, sizeof *c);
  if (!c) return -1;
  c->fn = fn;
  c->p = p;
  c->next = a->cleanups;
  a->cleanups = c;
  return 0;
}

size_t vz_arena_used(const vz_arena *a) { return a->total; }
