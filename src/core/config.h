/* config: every setting of `vidzo serve`, from flags (--port 8080 or --port=8080), then
 * VIDZO_* environment variables, then defaults. Bad values are refused with a message
 * naming the setting; the CLI turns that into exit code 2. */
#ifndef VZ_CONFIG_H
#define VZ_CONFIG_H
#include <stddef.h>

typedef struct vz_config {
  int port;
  char bind[64];
  int threads;            /* io loops */
  int workers;            /* libuv pool threads for database work */
  int job_workers;        /* threads working the durable job queue */
  char db_url[512];
  char replica_url[512];  /* optional read replica for feeds and search */
  char redis_url[256];    /* empty: single instance, in-process cache and rooms */
  char data_dir[256];
  int log_level;
  char jwt_secret[256];   /* empty: generated once and kept in DATA_DIR/jwt.secret (auth_start) */
  int shutdown_timeout;   /* seconds to finish in-flight requests */
  char cors_origins[1024];/* comma list, "*" for any */
  size_t max_body;        /* bytes */
  size_t max_header;      /* bytes of request line + headers */
  int header_timeout_ms;  /* whole head must arrive within this (slowloris) */
  int idle_timeout_ms;    /* keep-alive idle */
  int bench;              /* serve the peer's benchmark fixtures and events */
  int conformance;        /* Socket.IO conformance-suite application */
  int test_app;           /* the e2e stories' Socket.IO application (/test namespaces, guests) */
  int dev;                /* development helpers (log OTP sender writes codes to data dir) */
  char public_url[256];
  int trust_proxy;        /* proxies in front that append to X-Forwarded-For (0: none, use the peer) */
  char metrics_token[256];/* non-empty: /metrics wants "Authorization: Bearer <this>" */
} vz_config;

extern vz_config vz_cfg;

/* One setting: a row of the config table. The core's rows write into the vz_config being
 * loaded (off); a service's rows write into the service's own variable (ptr), so services
 * add settings without touching the core (vz_config_add, core/service.h). */
enum { VZ_OPT_INT, VZ_OPT_STR, VZ_OPT_BOOL, VZ_OPT_SIZE, VZ_OPT_LEVEL,
       VZ_OPT_COUNT /* an integer, or true (1) / false (0) */ };
typedef struct vz_opt {
  const char *flag, *env;
  int type;
  void *ptr;                /* a service's variable; NULL: off into vz_config */
  size_t off, size;
  long long min, max;
  const char *help;         /* meaning (default) */
} vz_opt;
/* A service's row: VZ_OPT("google-client-ids", "VIDZO_GOOGLE_CLIENT_IDS", VZ_OPT_STR, var, 0, 0, "...") */
#define VZ_OPT(flag_, env_, type_, var_, lo_, hi_, help_)                                                       \
  { .flag = flag_, .env = env_, .type = type_, .ptr = &(var_), .size = sizeof(var_), .min = lo_, .max = hi_,   \
    .help = help_ }

/* Appends a {0}-terminated table of rows owned by `owner` (a service name). Refuses a
 * flag or variable already taken, and a full table, with a message naming both owners. */
int vz_config_add(const char *owner, const vz_opt *rows, char *err, size_t errlen);

void vz_config_defaults(vz_config *c);
/* Applies env then argv (argv wins). Returns 0, or -1 with a message in err. */
int vz_config_load(vz_config *c, int argc, char **argv, char *err, size_t errlen);
void vz_config_usage(void);
#endif
