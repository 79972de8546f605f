/* arena: per-request bump allocator. Everything a request allocates comes from its
 * arena and is freed in one go when the reply has been written; foreign objects (jansson
 * values, statements) register a cleanup that runs at that moment. A budget caps how
 * much one request may take, so a hostile body cannot grow memory without bound. */
#ifndef VZ_ARENA_H
#define VZ_ARENA_H
#include <stddef.h>
#include <stdarg.h>

typedef struct vz_arena vz_arena;

vz_arena *vz_arena_new(size_t budget);          /* budget 0: default 8 MB */
void vz_arena_free(vz_arena *a);                 /* runs cleanups, frees chunks */
void *vz_arena_alloc(vz_arena *a, size_t n);     /* 16-byte aligned; NULL over budget */
void *vz_arena_calloc(vz_arena *a, size_t n);
char *vz_arena_strndup(vz_arena *a, const char *s, size_t n);
char *vz_arena_strdup(vz_arena *a, const char *s);
char *vz_arena_printf(vz_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Calls fn(p) when the arena is freed (last registered runs first). */
int vz_arena_defer(vz_arena *a, void (*fn)(void *), void *p);
size_t vz_arena_used(const vz_arena *a);
#endif
