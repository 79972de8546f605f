/* metrics: counters owned by each io loop (no atomics on the hot path), summed when
 * /metrics is scraped. Values read from other threads may be a moment stale; that is
 * fine for monitoring. Worker-side figures use relaxed atomics. */
#ifndef VZ_METRICS_H
#define VZ_METRICS_H
#include <stdint.h>
#include <stddef.h>

#define VZ_MAX_ROUTES 256
#define VZ_HIST_BUCKETS 14
enum { VZ_ST_2XX_OTHER, VZ_ST_200, VZ_ST_201, VZ_ST_204, VZ_ST_101, VZ_ST_304, VZ_ST_400, VZ_ST_401,
       VZ_ST_403, VZ_ST_404, VZ_ST_405, VZ_ST_409, VZ_ST_413, VZ_ST_422, VZ_ST_429, VZ_ST_431,
       VZ_ST_500, VZ_ST_503, VZ_ST_OTHER, VZ_NSTATUS };

typedef struct vz_metrics {
  uint64_t requests[VZ_MAX_ROUTES + 1][VZ_NSTATUS]; /* last row: unmatched */
  uint64_t hist[VZ_HIST_BUCKETS + 1];
  double hist_sum;
  uint64_t hist_count;
  long conns_open;
  uint64_t conns_total;
  uint64_t bad_requests;                           /* parse errors, timeouts */
  uint64_t ratelimited;                            /* requests answered 429 by a route limit */
} vz_metrics;

int vz_metrics_status_index(int status);
void vz_metrics_observe(vz_metrics *m, int route_idx, int status, double seconds);
/* Worker-side (any thread). */
void vz_metrics_queue(int delta);
void vz_metrics_db(double seconds);
/* Other modules add their own lines to /metrics. */
typedef void (*vz_metrics_writer)(char **buf, size_t *len, size_t *cap);
/* <0 when the table (32 writers) is full: start-up fails naming the owner. */
int vz_metrics_register(vz_metrics_writer w);
void vz_metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Renders everything; returns a malloc'd buffer. */
char *vz_metrics_render(size_t *len);
#endif
