/* respcache: hot public reads answered from memory on the io loop. A route opts in with
 * .cache_ms and a .cache_group; only anonymous GETs with status 200 are kept, per loop
 * (no locks), keyed by path + query (+ gzip). Any write calls vz_cache_bump(group), which
 * invalidates every loop at once through a generation counter and, with Redis, every
 * instance through the bus. cache_ms bounds staleness should an invalidation be lost. */
#ifndef VZ_RESPCACHE_H
#define VZ_RESPCACHE_H
#include "core/http.h"
void vz_cache_bump(const char *group);
int vz_respcache_init(void);                /* subscribes to invalidations on the bus */
int vz_respcache_lookup(vz_req *req);       /* 1: replied from cache */
void vz_respcache_store(vz_req *req);
/* The route group's generation now; dispatch records it before the handler runs. */
unsigned vz_respcache_gen(const vz_route *r);
void vz_respcache_free(vz_loop *l);
#endif
