/* json: jansson with its two silent failures closed. jansson 2.14 keeps going when an
 * allocation fails in two places: json_dumps skips an object key it could not write
 * ({"data":{":"...}}), and json_loads drops a byte it could not save
 * ("https://two.example" parses as "https://two.exmple"; "1000" could be "100"). Both
 * give a result that looks fine. Every encode and every decode of data we keep or send
 * goes through these two instead, which fail whole. */
#ifndef VZ_JSON_H
#define VZ_JSON_H
#include <jansson.h>
#include <stddef.h>

/* Installs the allocator that notices failures (and, in debug builds, the fault point
 * of core/fault.h). Call once at start, before any other thread uses jansson. */
void vz_json_init(void);
/* Compact JSON text (malloc'd; *len when not NULL), or NULL when any part failed. */
char *vz_json_dumps(const json_t *j, size_t *len);
/* json_loadb that returns NULL when an allocation failed during the parse, with *oom
 * set (1: out of memory, 0: not JSON, err says where). oom may be NULL. */
json_t *vz_json_loadb(const char *s, size_t n, size_t flags, json_error_t *err, int *oom);
#endif
