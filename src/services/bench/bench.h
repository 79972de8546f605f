/* bench: the benchmark peer's fixtures (../shared/bench/peer-node/server.js), served only
 * with `vidzo serve --bench`, so both servers answer the same scenario byte for byte. */
#ifndef VZ_BENCH_H
#define VZ_BENCH_H
int bench_init(void); /* the peer's 1000 generated streams, served by GET /v1/streams */
extern const struct vz_service bench_service;
#endif
