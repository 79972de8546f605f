/* bench/service.c: the benchmark peer's fixtures, an application of its own: it exists
 * only under --bench, and the gateway never names it. */
#include "core/service.h"
#include "services/bench/bench.h"

static int bench_service_init(void) { return vz_cfg.bench ? bench_init() : 0; }

const vz_service bench_service = { .name = "bench", .init = bench_service_init };
