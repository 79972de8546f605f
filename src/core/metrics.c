/* metrics: Prometheus text exposition of the per-loop counters plus what other modules
 * register. Rendering walks every loop's counters; it runs on the scraping loop. */
#include "core/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/http.h"
#include "core/loop_internal.h"
#include "core/idempotency.h"
#include "core/version.h"
#include "db/db.h"

static const double bounds[VZ_HIST_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,   5,     10 };
static const int status_codes[VZ_NSTATUS] = { 0,   200, 201, 204, 101, 304, 400, 401, 403, 404,
                                              405, 409, 413, 422, 429, 431, 500, 503, 0 };
static atomic_long queue_depth;
static atomic_ulong db_hist[VZ_HIST_BUCKETS + 1];
static atomic_ulong db_count;
static atomic_ulong db_sum_us;
#define MAX_WRITERS 32
static vz_metrics_writer writers[MAX_WRITERS];
static int nwriters;


int vz_metrics_status_index(int status) {
  for (int i = 1; i < VZ_ST_OTHER; i++)
    if (status_codes[i] == status) return i;
  return status >= 200 && status < 300 ? VZ_ST_2XX_OTHER : VZ_ST_OTHER;
}

static int bucket(double s) {
  int i = 0;
  while (i < VZ_HIST_BUCKETS && s > bounds[i]) i++;
  return i;
}

void vz_metrics_observe(vz_metrics *m, int route_idx, int status, double seconds) {
  m->requests[route_idx][vz_metrics_status_index(status)]++;
  m->hist[bucket(seconds)]++;
  m->hist_sum += seconds;
  m->hist_count++;
}

void vz_metrics_queue(int delta) { atomic_fetch_add_explicit(&queue_depth, delta, memory_order_relaxed); }

void vz_metrics_db(double seconds) {
  atomic_fetch_add_explicit(&db_hist[bucket(seconds)], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&db_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&db_sum_us, (unsigned long)(seconds * 1e6), memory_order_relaxed);
}

int vz_metrics_register(vz_metrics_writer w) {
  if (nwriters >= MAX_WRITERS) return -1;
  writers[nwriters++] = w;
  return 0;
}

void vz_metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = *buf ? vsnprintf(*buf + *len, *cap - *len, fmt, ap) : -1;
    va_end(ap);
    if (n >= 0 && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return;
    }
    size_t ncap = *cap ? *cap * 2 : 16384;
    while (n >= 0 && ncap < *len + (size_t)n + 1) ncap *= 2;
    char *nb = realloc(*buf, ncap);
    if (!nb) return;
    *buf = nb;
    *cap = ncap;
  }
}

static long rss_bytes(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * sysconf(_SC_PAGESIZE);
}

static double cpu_seconds(void) {
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
  return 0;
}

static void histogram(char **b, size_t *l, size_t *c, const char *name, const uint64_t *h, uint64_t count, double sum) {
  uint64_t cum = 0;
  for (int i = 0; i < VZ_HIST_BUCKETS; i++) {
    cum += h[i];
    vz_metrics_printf(b, l, c, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cum);
  }
  cum += h[VZ_HIST_BUCKETS];
  vz_metrics_printf(b, l, c, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                    (unsigned long long)cum, name, sum, name, (unsigned long long)count);
}

char *vz_metrics_render(size_t *len) {
  char *b = NULL;
  size_t l = 0, c = 0;
  int nl = vz_loop_count();
  vz_metrics_printf(&b, &l, &c, "# HELP vidzo_http_requests_total HTTP requests by route, method and status.\n"
                                "# TYPE vidzo_http_requests_total counter\n");
  for (int r = 0; r <= VZ_MAX_ROUTES; r++) {
    const vz_route *rt = r < VZ_MAX_ROUTES ? vz_route_at(r) : NULL;
    if (r < VZ_MAX_ROUTES && !rt) continue;
    for (int s = 0; s < VZ_NSTATUS; s++) {
      uint64_t sum = 0;
      for (int i = 0; i < nl; i++) sum += vz_loop_get(i)->m.requests[r][s];
      if (!sum) continue;
      const char *st = s == VZ_ST_2XX_OTHER ? "2xx" : s == VZ_ST_OTHER ? "other" : NULL;
      char code[8];
      if (!st) { snprintf(code, sizeof code, "%d", status_codes[s]); st = code; }
      vz_metrics_printf(&b, &l, &c, "vidzo_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                        rt ? rt->path : "unmatched", rt ? rt->method : "", st, (unsigned long long)sum);
    }
  }
  uint64_t h[VZ_HIST_BUCKETS + 1] = { 0 }, count = 0;
  double hsum = 0;
  long open = 0, bad = 0, limited = 0;
  unsigned long long total = 0;
  for (int i = 0; i < nl; i++) {
    vz_metrics *m = &vz_loop_get(i)->m;
    for (int k = 0; k <= VZ_HIST_BUCKETS; k++) h[k] += m->hist[k];
    count += m->hist_count;
    hsum += m->hist_sum;
    open += m->conns_open;
    total += m->conns_total;
    bad += (long)m->bad_requests;
    limited += (long)m->ratelimited;
  }
  vz_metrics_printf(&b, &l, &c, "# HELP vidzo_http_request_duration_seconds Time from request start to reply.\n"
                                "# TYPE vidzo_http_request_duration_seconds histogram\n");
  histogram(&b, &l, &c, "vidzo_http_request_duration_seconds", h, count, hsum);
  uint64_t dh[VZ_HIST_BUCKETS + 1];
  for (int k = 0; k <= VZ_HIST_BUCKETS; k++) dh[k] = atomic_load(&db_hist[k]);
  vz_metrics_printf(&b, &l, &c, "# HELP vidzo_db_query_duration_seconds Time a request spent in its database job.\n"
                                "# TYPE vidzo_db_query_duration_seconds histogram\n");
  histogram(&b, &l, &c, "vidzo_db_query_duration_seconds", dh, atomic_load(&db_count),
            (double)atomic_load(&db_sum_us) / 1e6);
  vz_metrics_printf(&b, &l, &c,
                    "# TYPE vidzo_http_connections_open gauge\nvidzo_http_connections_open %ld\n"
                    "# TYPE vidzo_http_connections_total counter\nvidzo_http_connections_total %llu\n"
                    "# TYPE vidzo_http_bad_requests_total counter\nvidzo_http_bad_requests_total %ld\n"
                    "# TYPE vidzo_ratelimit_rejected_total counter\nvidzo_ratelimit_rejected_total %ld\n"
                    "# TYPE vidzo_worker_queue_depth gauge\nvidzo_worker_queue_depth %ld\n"
                    "# TYPE vidzo_build_info gauge\nvidzo_build_info{version=\"%s\"} 1\n"
                    "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n"
                    "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n",
                    open, total, bad, limited, atomic_load(&queue_depth), VZ_VERSION, rss_bytes(), cpu_seconds());
  vz_metrics_printf(&b, &l, &c,
                    "# HELP vidzo_db_busy_retries_total Transactions run again after losing to another writer.\n"
                    "# TYPE vidzo_db_busy_retries_total counter\n"
                    "vidzo_db_busy_retries_total{level=\"db_tx\"} %lld\n"
                    "vidzo_db_busy_retries_total{level=\"request\"} %lld\n",
                    db_tx_retries(), vz_tx_busy_reruns());
  for (int i = 0; i < nwriters; i++) writers[i](&b, &l, &c);
  *len = l;
  return b;
}
