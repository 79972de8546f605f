/* bench/app.c: the benchmark peer's application, only under --bench. */
#include "apps/bench/bench.h"
#include "core/service.h"

extern vz_route bench_routes[];

static int bench_app_init(void) {
  if (!vz_cfg.bench) return 0;
  if (bench_init() < 0 || bench_peer_events_add("/") < 0) return -1;
  /* the load tool's tokens ("u1"...) are names, not access tokens: the test application,
   * on under --bench too, connects them as guests */
  return vz_routes_add(bench_routes); /* only with --bench: not a descriptor field */
}

const vz_service bench_app = { .name = "bench", .init = bench_app_init };
