/* json.c: see json.h. The allocator is malloc plus a thread-local flag raised when it
 * returns NULL: a parse clears the flag, runs, and looks at it afterwards, which is the
 * only way to see the failures jansson does not report. Encoding writes through our own
 * sink, which remembers a failed write that jansson ignored. */
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"

static _Thread_local int alloc_failed;

static void *json_malloc(size_t n) {
  void *p = vz_fault_hit(VZ_FAULT_ALLOC) ? NULL : malloc(n); /* debug builds: a fault point */
  if (!p) alloc_failed = 1;
  return p;
}

/* jansson frees with free() what it allocated before this was installed: same heap. */
void vz_json_init(void) { json_set_alloc_funcs(json_malloc, free); }

typedef struct dumpbuf { char *p; size_t len, cap; int failed; } dumpbuf;

static int dump_cb(const char *buf, size_t n, void *data) {
  dumpbuf *d = data;
  if (d->failed) return -1;
  if (d->len + n + 1 > d->cap) {
    size_t cap = d->cap ? d->cap : 256;
    while (cap < d->len + n + 1) cap *= 2;
    char *p = realloc(d->p, cap);
    if (!p) { d->failed = 1; return -1; }
    d->p = p;
    d->cap = cap;
  }
  memcpy(d->p + d->len, buf, n);
  d->len += n;
  d->p[d->len] = 0;
  return 0;
}

char *vz_json_dumps(const json_t *j, size_t *len) {
  dumpbuf d = { 0 };
  if (!j || json_dump_callback(j, dump_cb, &d, JSON_COMPACT) != 0 || d.failed || !d.p) {
    free(d.p);
    return NULL;
  }
  if (len) *len = d.len;
  return d.p;
}

json_t *vz_json_loadb(const char *s, size_t n, size_t flags, json_error_t *err, int *oom) {
  alloc_failed = 0;
  json_t *j = json_loadb(s, n, flags, err);
  int failed = alloc_failed;
  alloc_failed = 0;
  if (oom) *oom = failed;
  if (!failed) return j;
  json_decref(j);
  if (err) snprintf(err->text, sizeof err->text, "out of memory");
  return NULL;
}
