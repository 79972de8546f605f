/* bench/service.c: the benchmark peer's fixtures, an application of its own: it exists
 * only under --bench, and the gateway never names it. */
#include "core/service.h"
#include "services/bench/bench.h"

extern vz_route bench_routes[];

static int bench_service_init(void) {
  if (!vz_cfg.bench) return 0;
  if (bench_init() < 0) return -1;
  return vz_routes_add(bench_routes); /* only with --bench: not a descriptor field */
}

const vz_service bench_service = { .name = "bench", .init = bench_service_init };
