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
  char jwt_secret[256];   /* empty: generated per start (tokens die with the process) */
  int shutdown_timeout;   /* seconds to finish in-flight requests */
  char cors_origins[1024];/* comma list, "*" for any */
  size_t max_body;        /* bytes */
  size_t max_header;      /* bytes of request line + headers */
  int header_timeout_ms;  /* whole head must arrive within this (slowloris) */
  int idle_timeout_ms;    /* keep-alive idle */
  int bench;              /* serve the peer's benchmark fixtures and events */
  int conformance;        /* Socket.IO conformance-suite application */
  int sio_recovery;       /* Socket.IO connection state recovery (on) */
  int dev;                /* development helpers (log OTP sender writes codes to data dir) */
  char public_url[256];
  int trust_proxy;        /* proxies in front that append to X-Forwarded-For (0: none, use the peer) */
  char metrics_token[256];/* non-empty: /metrics wants "Authorization: Bearer <this>" */
} vz_config;

extern vz_config vz_cfg;

void vz_config_defaults(vz_config *c);
/* Applies env then argv (argv wins). Returns 0, or -1 with a message in err. */
int vz_config_load(vz_config *c, int argc, char **argv, char *err, size_t errlen);
void vz_config_usage(void);
#endif
