/* vidzo: the command line. `serve` runs the server, `migrate` applies migrations,
 * `admin create` makes (or confirms) an admin account, `agora` prints Agora tokens
 * (integrations/agora_cli.c), `version` prints the version.
 * Bad usage exits 2 with a message; runtime failures exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/config.h"
#include "core/contract.h"
#include "lib/yaml.h"
#include "core/fault.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/bus.h"
#include "core/http.h"
#include "core/respcache.h"
#include "core/service.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/ops.h"
#include "core/version.h"
#include "cache/cache.h"
#include "db/db.h"
#include "integrations/agora.h"
#include "integrations/http.h"
#include "jobs/runner.h"
#include "services/media/media.h"
#include "services/services.h"
#include "realtime/sio_contract.h"

void vz_worker_close_all(void);
extern int (*vz_ratelimit_hook)(const char *key, int per_min, int *retry_after_s);

static void usage(void) {
  fprintf(stderr,
          "usage: vidzo <command> [flags]\n"
          "  serve                      run the server\n"
          "  migrate                    apply database migrations and exit\n"
          "  admin create --email E [--password P] [--if-missing]\n"
          "                             create an admin account (password from VIDZO_ADMIN_PASSWORD too)\n"
          "  routes                     list every HTTP route\n"
          "  media migrate --to s3      copy every local media object to the bucket (resumable)\n"
          "  agora rtc-token|rtm-token  print an Agora AccessToken2 for given inputs (vidzo agora --help)\n"
          "  openapi [--json]           print the HTTP contract (OpenAPI 3.1) from the route tables\n"
          "  asyncapi [--json]          print the Socket.IO contract (AsyncAPI 3.0) from the event tables\n"
          "  version                    print the version\n\n");
  char err[256];
  if (vz_services_settings(vz_service_list, err, sizeof err) < 0) fprintf(stderr, "vidzo: %s\n", err);
  vz_config_usage();
}

/* The core's settings plus every service's rows (core/service.h), then flags and env. */
static int load_config(int argc, char **argv) {
  char err[512];
  vz_config_defaults(&vz_cfg);
  if (vz_services_settings(vz_service_list, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: %s\n", err);
    return 1;
  }
  if (vz_config_load(&vz_cfg, argc, argv, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: %s\n", err);
    return 2;
  }
  vz_log_level = vz_cfg.log_level;
  if (vz_fault_init() < 0) return 2; /* debug builds: VIDZO_FAULT (core/fault.h) */
  return 0;
}

/* Commands that keep state make the data directory; `routes` and `--help` never do. */
static void make_data_dir(void) {
  mkdir(vz_cfg.data_dir, 0750); /* may exist already; the database open reports real trouble */
}

static int open_and_migrate(vz_db **out) {
  char err[512];
  make_data_dir();
  if (db_open(vz_cfg.db_url, out, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: cannot open database: %s\n", err);
    return 1;
  }
  if (db_migrate(*out, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: migration failed: %s\n", err);
    db_close(*out);
    *out = NULL;
    return 1;
  }
  return 0;
}

static int cmd_migrate(int argc, char **argv) {
  int rc = load_config(argc, argv);
  if (rc) return rc;
  vz_db *db;
  if ((rc = open_and_migrate(&db))) return rc;
  db_close(db);
  vz_log_info("migrations applied", "db", strncmp(vz_cfg.db_url, "postgres", 8) ? vz_cfg.db_url : "postgres");
  return 0;
}

/* admin create takes its own flags first, then the usual settings. */
static int cmd_admin(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "create") != 0) {
    fprintf(stderr, "vidzo: expected 'admin create --email E [--password P] [--if-missing]'\n");
    return 2;
  }
  const char *email = NULL, *password = getenv("VIDZO_ADMIN_PASSWORD");
  int if_missing = 0;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--email") && i + 1 < argc) email = argv[++i];
    else if (!strncmp(argv[i], "--email=", 8)) email = argv[i] + 8;
    else if (!strcmp(argv[i], "--password") && i + 1 < argc) password = argv[++i];
    else if (!strncmp(argv[i], "--password=", 11)) password = argv[i] + 11;
    else if (!strcmp(argv[i], "--if-missing")) if_missing = 1;
    else rest[nrest++] = argv[i];
  }
  int rc = load_config(nrest, rest);
  free(rest);
  if (rc) return rc;
  if (!email || !password) {
    fprintf(stderr, "vidzo: admin create needs --email and --password (or VIDZO_ADMIN_PASSWORD)\n");
    return 2;
  }
  vz_db *db;
  if ((rc = open_and_migrate(&db))) return rc;
  char err[256] = "";
  rc = services_admin_create(db, email, password, if_missing, err, sizeof err);
  db_close(db);
  if (rc < 0) {
    fprintf(stderr, "vidzo: %s\n", err[0] ? err : "could not create the admin");
    return rc == -2 ? 2 : 1;
  }
  printf("admin %s ready\n", email);
  return 0;
}

/* Per-route limits from the route table, shared across instances when Redis is set. */
static int ratelimit_check(const char *key, int per_min, int *retry_after_s) {
  int64_t retry_ms = 0;
  int ok = cache_ratelimit(key, per_min / 60.0, per_min, 1, &retry_ms);
  *retry_after_s = (int)((retry_ms + 999) / 1000);
  return ok;
}

/* Each connection is a descriptor: take the hard limit, so 20,000 sockets are not refused
 * by a soft limit of 1024 that nobody meant to keep. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int cmd_serve(int argc, char **argv) {
  int rc = load_config(argc, argv);
  if (rc) return rc;
  raise_fd_limit();
  /* The libuv pool is global and sized once, before any loop starts (threadpool.rst). */
  char n[16];
  snprintf(n, sizeof n, "%d", vz_cfg.workers);
  setenv("UV_THREADPOOL_SIZE", n, 1);
  vz_db *db;
  if ((rc = open_and_migrate(&db))) return rc;
  db_close(db);
  char err[256];
  if (cache_init(vz_cfg.redis_url[0] ? vz_cfg.redis_url : NULL, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: --redis: %s\n", err);
    return 2;
  }
  vz_ratelimit_hook = ratelimit_check;
  err[0] = 0;
  if (integ_start() < 0) { /* outbound calls: services may register and call from init on */
    fprintf(stderr, "vidzo: could not start the integrations thread\n");
    return 1;
  }
  if (vz_ops_init() < 0 || vz_services_init(vz_service_list, err, sizeof err) < 0 ||
      vz_services_start(vz_service_list, err, sizeof err) < 0 || vz_respcache_init() < 0 ||
      vz_bus_start(vz_cfg.redis_url[0] ? vz_cfg.redis_url : NULL) < 0) {
    fprintf(stderr, "vidzo: could not start services%s%s\n", err[0] ? ": " : "", err);
    return 1;
  }
  /* Job runners: the queues the services registered, on their own connections. */
  char instance[40], host[24] = "vidzo";
  gethostname(host, sizeof host - 1);
  snprintf(instance, sizeof instance, "%s:%d", host, (int)getpid());
  if (jobs_runner_start(vz_cfg.db_url, vz_cfg.job_workers, instance) < 0) {
    fprintf(stderr, "vidzo: could not start the job workers\n");
    return 1;
  }
  rc = vz_server_run();
  jobs_runner_stop(); /* the jobs in hand finish; the rest wait in the queue */
  integ_stop(1000);   /* after every caller: loops, pool and job workers are done */
  vz_bus_stop(); /* its thread calls into services (revocations): stopped before them */
  vz_services_stop(vz_service_list);
  cache_shutdown();
  vz_worker_close_all();
  return rc ? 1 : 0;
}

/* Prints the route table (METHOD PATH FLAGS), for docs checks and operators. Services
 * are initialised, not started: nothing is written, nothing is connected to. */
static int cmd_routes(int argc, char **argv) {
  int rc = load_config(argc, argv);
  if (rc) return rc;
  char err[256] = "";
  if (vz_ops_init() < 0 || vz_services_init(vz_service_list, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: %s\n", err[0] ? err : "could not list the routes");
    return 1;
  }
  for (int i = 0; i < vz_route_count(); i++) {
    const vz_route *r = vz_route_at(i);
    printf("%s %s%s%s%s\n", r->method, r->path, (r->flags & VZ_ROLE_ADMIN) ? " admin" : "",
           (r->flags & VZ_AUTH) ? " auth" : "", (r->flags & VZ_PREFIX) ? " prefix" : "");
  }
  return 0;
}

/* The two contract documents of the registered tables; problems into `problems`. */
static int contract_docs(json_t **openapi, json_t **asyncapi, json_t *problems) {
  *openapi = vz_openapi(vz_service_list, problems);
  *asyncapi = sio_asyncapi(vz_service_list, problems);
  if (!*openapi || !*asyncapi) return -1;
  /* info.version follows the API: any change to either document needs a new version */
  char a[13], b[13], both[32];
  vz_contract_fingerprint(*openapi, a);
  vz_contract_fingerprint(*asyncapi, b);
  snprintf(both, sizeof both, "%.6s%.6s", a, b);
  if (strcmp(both, VZ_API_FINGERPRINT))
    vz_contract_problem(problems, "src/core/contract.h", "the contract changed (fingerprint %s, VZ_API_FINGERPRINT says %s): "
                        "raise VZ_API_VERSION (minor: additions; major: a change or removal a client may rely on) "
                        "and set VZ_API_FINGERPRINT to \"%s\"", both, VZ_API_FINGERPRINT, both);
  return 0;
}

/* `vidzo openapi` / `vidzo asyncapi`: the document on stdout (YAML, or JSON with --json),
 * whatever lacks contract fields on stderr with exit 1, so a check fails naming it while
 * the document is still whole for a diff. Services are initialised, not started. */
static int cmd_contract(int which, int argc, char **argv) {
  int as_json = 0, n = 0;
  char *rest[64];
  for (int i = 0; i < argc && n < 63; i++) {
    if (!strcmp(argv[i], "--json")) as_json = 1;
    else rest[n++] = argv[i];
  }
  rest[n] = NULL;
  int rc = load_config(n, rest);
  if (rc) return rc;
  char err[256] = "";
  /* the log writes to stdout: while the services initialise it goes to stderr, so stdout
   * is the document alone */
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  int bad = vz_ops_init() < 0 || vz_services_init(vz_service_list, err, sizeof err) < 0;
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  if (bad) {
    fprintf(stderr, "vidzo: %s\n", err[0] ? err : "could not build the contract");
    return 1;
  }
  json_t *problems = json_array(), *oa = NULL, *aa = NULL;
  contract_docs(&oa, &aa, problems);
  json_t *doc = which ? aa : oa;
  if (doc) {
    char *text = as_json ? json_dumps(doc, JSON_INDENT(2)) : vz_yaml_dump(doc);
    if (text) fputs(text, stdout);
    if (as_json) fputc('\n', stdout);
    free(text);
  }
  size_t i;
  json_t *p;
  json_array_foreach(problems, i, p) fprintf(stderr, "vidzo %s: %s\n", which ? "asyncapi" : "openapi", json_string_value(p));
  rc = json_array_size(problems) || !doc ? 1 : 0;
  json_decref(oa);
  json_decref(aa);
  json_decref(problems);
  return rc;
}

int main(int argc, char **argv) {
  vz_json_init(); /* before any thread: jansson's allocator is process-wide (core/json.h) */
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("vidzo %s (libuv %s)\n", VZ_VERSION, uv_version_string());
    return 0;
  }
  if (!strcmp(cmd, "agora")) return agora_cli(argc - 2, argv + 2); /* no settings, no data dir */
  if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
    usage();
    return 0;
  }
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
  if (!strcmp(cmd, "migrate")) return cmd_migrate(argc - 2, argv + 2);
  if (!strcmp(cmd, "admin")) return cmd_admin(argc - 2, argv + 2);
  if (!strcmp(cmd, "routes")) return cmd_routes(argc - 2, argv + 2);
  if (!strcmp(cmd, "media")) return media_cli(argc - 2, argv + 2, load_config);
  if (!strcmp(cmd, "openapi")) return cmd_contract(0, argc - 2, argv + 2);
  if (!strcmp(cmd, "asyncapi")) return cmd_contract(1, argc - 2, argv + 2);
  fprintf(stderr, "vidzo: unknown command '%s'\n\n", cmd);
  usage();
  return 2;
}
