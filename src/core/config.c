/* config: one table describes every setting once: flag, env var, type, bounds, help.
 * Flags, env and the usage text are all read from it, so they cannot drift apart. */
#include "core/config.h"
#include "core/log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

vz_config vz_cfg;

enum { T_INT = VZ_OPT_INT, T_STR = VZ_OPT_STR, T_BOOL = VZ_OPT_BOOL, T_SIZE = VZ_OPT_SIZE,
       T_LEVEL = VZ_OPT_LEVEL, T_COUNT = VZ_OPT_COUNT };
typedef vz_opt opt;

#define O(f, e, t, field, lo, hi, h) { f, e, t, NULL, offsetof(vz_config, field), sizeof(((vz_config *)0)->field), lo, hi, h }
static const opt core_opts[] = {
  O("port", "VIDZO_PORT", T_INT, port, 1, 65535, "TCP port (8080)"),
  O("bind", "VIDZO_BIND", T_STR, bind, 0, 0, "address to listen on (0.0.0.0)"),
  O("threads", "VIDZO_THREADS", T_INT, threads, 1, 256, "io loops (number of cores)"),
  O("workers", "VIDZO_WORKERS", T_INT, workers, 1, 128, "database worker threads (4 x io loops)"),
  O("job-workers", "VIDZO_JOB_WORKERS", T_INT, job_workers, 0, 64, "job queue threads (2; 0: this instance runs no jobs)"),
  O("db", "VIDZO_DB", T_STR, db_url, 0, 0, "database URL: sqlite:PATH or postgres://... (sqlite:DATA_DIR/vidzo.db)"),
  O("replica", "VIDZO_REPLICA", T_STR, replica_url, 0, 0, "read-replica URL for feeds and search (none)"),
  O("redis", "VIDZO_REDIS", T_STR, redis_url, 0, 0, "Redis URL for multi-instance mode (none)"),
  O("data-dir", "VIDZO_DATA_DIR", T_STR, data_dir, 0, 0, "data and media directory (./data)"),
  O("log-level", "VIDZO_LOG_LEVEL", T_LEVEL, log_level, 0, 3, "debug|info|warn|error (info)"),
  O("jwt-secret", "VIDZO_JWT_SECRET", T_STR, jwt_secret, 0, 0, "access-token signing secret (random, kept in DATA_DIR/jwt.secret)"),
  O("shutdown-timeout", "VIDZO_SHUTDOWN_TIMEOUT", T_INT, shutdown_timeout, 0, 3600, "seconds to drain on SIGTERM (20)"),
  O("cors-origins", "VIDZO_CORS_ORIGINS", T_STR, cors_origins, 0, 0, "allowed browser origins, comma list or * (none)"),
  O("max-body", "VIDZO_MAX_BODY", T_SIZE, max_body, 1024, 1LL << 30, "largest request body in bytes (1048576)"),
  O("max-header", "VIDZO_MAX_HEADER", T_SIZE, max_header, 1024, 1 << 20, "largest request head in bytes (16384)"),
  O("header-timeout", "VIDZO_HEADER_TIMEOUT", T_INT, header_timeout_ms, 100, 600000, "ms for a request head to arrive (10000)"),
  O("idle-timeout", "VIDZO_IDLE_TIMEOUT", T_INT, idle_timeout_ms, 100, 3600000, "ms a keep-alive connection may idle (60000)"),
  O("public-url", "VIDZO_PUBLIC_URL", T_STR, public_url, 0, 0, "external base URL for links (http://localhost:PORT)"),
  O("trust-proxy", "VIDZO_TRUST_PROXY", T_COUNT, trust_proxy, 0, 16,
    "proxies in front of vidzo (N or true = 1): the client address is the Nth X-Forwarded-For entry from the right (off)"),
  O("metrics-token", "VIDZO_METRICS_TOKEN", T_STR, metrics_token, 0, 0, "bearer token /metrics requires (none: open)"),
  O("bench", "VIDZO_BENCH", T_BOOL, bench, 0, 1, "serve the benchmark peer's fixtures and events"),
  O("conformance", "VIDZO_CONFORMANCE", T_BOOL, conformance, 0, 1, "run the Socket.IO conformance-suite application"),
  O("test-app", "VIDZO_TEST_APP", T_BOOL, test_app, 0, 1,
    "the e2e test application: /test namespaces, a Socket.IO token without '.' is a guest (never in production)"),
  O("dev", "VIDZO_DEV", T_BOOL, dev, 0, 1, "development helpers (codes written to DATA_DIR/outbox)"),
  { 0 },
};

/* The core's rows first, then each service's table in the order services.c lists them. */
#define MAX_TABLES 32
static const opt *tables[MAX_TABLES] = { core_opts };
static const char *owners[MAX_TABLES] = { "core" };
static int ntables = 1;

#define FOR_EACH_OPT(o)                                                                                    \
  for (int t_ = 0; t_ < ntables; t_++)                                                                     \
    for (const opt *o = tables[t_]; o->flag; o++)

int vz_config_add(const char *owner, const vz_opt *rows, char *err, size_t errlen) {
  for (int t = 0; t < ntables; t++)
    if (tables[t] == rows) return 0; /* added already (a second command in one process: tests) */
  if (ntables == MAX_TABLES) {
    snprintf(err, errlen, "%s: the settings table is full (%d tables)", owner, MAX_TABLES);
    return -1;
  }
  for (const opt *r = rows; r->flag; r++) {
    int int_like = r->type == T_INT || r->type == T_BOOL || r->type == T_COUNT || r->type == T_LEVEL;
    if (!r->ptr || !r->env || (r->type == T_STR && r->size < 2) || (r->type == T_SIZE && r->size != sizeof(size_t)) ||
        (int_like && r->size != sizeof(int) && !(r->type == T_INT && r->size == sizeof(int64_t)))) {
      snprintf(err, errlen, "%s: setting --%s is declared with a variable of the wrong kind", owner, r->flag);
      return -1;
    }
    FOR_EACH_OPT(o) {
      if (!strcmp(o->flag, r->flag) || !strcmp(o->env, r->env)) {
        snprintf(err, errlen, "%s: setting --%s (%s) is taken by %s", owner, r->flag, r->env, owners[t_]);
        return -1;
      }
    }
  }
  owners[ntables] = owner;
  tables[ntables++] = rows;
  return 0;
}

/* Where a row's value lives. */
static char *field_of(vz_config *c, const opt *o) { return o->ptr ? (char *)o->ptr : (char *)c + o->off; }


void vz_config_defaults(vz_config *c) {
  memset(c, 0, sizeof *c);
  c->port = 8080;
  snprintf(c->bind, sizeof c->bind, "0.0.0.0");
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  c->threads = n > 0 && n < 256 ? (int)n : 1;
  snprintf(c->data_dir, sizeof c->data_dir, "./data");
  c->log_level = VZ_LOG_INFO;
  c->shutdown_timeout = 20;
  c->max_body = 1 << 20;
  c->max_header = 16384;
  c->header_timeout_ms = 10000;
  c->idle_timeout_ms = 60000;
  c->job_workers = 2;
}

static int set_opt(vz_config *c, const opt *o, const char *val, const char *src, char *err, size_t errlen) {
  char *field = field_of(c, o);
  if (o->type == T_STR) {
    if (strlen(val) >= o->size) {
      snprintf(err, errlen, "%s: value too long (max %zu characters)", src, o->size - 1);
      return -1;
    }
    memcpy(field, val, strlen(val) + 1);
    return 0;
  }
  if (o->type == T_LEVEL) {
    int l = vz_log_parse_level(val);
    if (l < 0) { snprintf(err, errlen, "%s: expected debug, info, warn or error, got '%s'", src, val); return -1; }
    *(int *)field = l;
    return 0;
  }
  if (o->type == T_COUNT && !strcmp(val, "true")) val = "1";
  if (o->type == T_COUNT && !strcmp(val, "false")) val = "0";
  if (o->type == T_BOOL) {
    if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes")) *(int *)field = 1;
    else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no")) *(int *)field = 0;
    else { snprintf(err, errlen, "%s: expected true or false, got '%s'", src, val); return -1; }
    return 0;
  }
  char *end;
  errno = 0;
  long long v = strtoll(val, &end, 10);
  if (errno || end == val || *end || v < o->min || v > o->max) {
    snprintf(err, errlen, "%s: expected an integer from %lld to %lld, got '%s'", src, o->min, o->max, val);
    return -1;
  }
  if (o->type == T_SIZE) *(size_t *)field = (size_t)v;
  else if (o->size == sizeof(int64_t) && o->ptr) *(int64_t *)field = v;
  else *(int *)field = (int)v;
  return 0;
}

int vz_config_load(vz_config *c, int argc, char **argv, char *err, size_t errlen) {
  FOR_EACH_OPT(o) {
    const char *v = getenv(o->env);
    if (v && *v && set_opt(c, o, v, o->env, err, errlen) < 0) return -1;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) { snprintf(err, errlen, "unexpected argument '%s'", a); return -1; }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    const opt *o = NULL;
    FOR_EACH_OPT(k) if (strlen(k->flag) == klen && !strncmp(k->flag, a, klen)) o = k;
    if (!o) { snprintf(err, errlen, "unknown flag '--%.*s' (see vidzo serve --help)", (int)klen, a); return -1; }
    const char *val = eq ? eq + 1 : NULL;
    if (!val && o->type == T_BOOL) val = "true";
    if (!val && o->type == T_COUNT && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))
      val = "true"; /* a bare --trust-proxy still means one proxy */
    if (!val) {
      if (i + 1 >= argc) { snprintf(err, errlen, "--%s needs a value", o->flag); return -1; }
      val = argv[++i];
    }
    char src[64];
    snprintf(src, sizeof src, "--%s", o->flag);
    if (set_opt(c, o, val, src, err, errlen) < 0) return -1;
  }
  if (!c->workers) c->workers = c->threads * 4 > 128 ? 128 : c->threads * 4;
  if (!c->db_url[0]) {
    if ((size_t)snprintf(c->db_url, sizeof c->db_url, "sqlite:%s/vidzo.db", c->data_dir) >= sizeof c->db_url) {
      snprintf(err, errlen, "--data-dir: too long");
      return -1;
    }
  }
  if (!c->public_url[0]) snprintf(c->public_url, sizeof c->public_url, "http://localhost:%d", c->port);
  return 0;
}

void vz_config_usage(void) {
  fprintf(stderr, "settings (flag, environment variable, meaning and default):\n");
  FOR_EACH_OPT(o) fprintf(stderr, "  --%-18s %-24s %s\n", o->flag, o->env, o->help);
}
