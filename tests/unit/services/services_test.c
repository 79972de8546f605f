/* services: every route that the services (and the core's ops) registers declares
 * bounded input. Each string field, in the body or the query and at any depth, has a max
 * length; each array a max item count and an element spec; each object a nested field
 * table; no field is VZ_ANY. And the router enforces it: a value one character over a
 * string's max is a 400 naming that field (by its path when nested, "links[0].label"),
 * while a value of exactly max characters is not refused for its length. The probes send
 * one field at a time: unknown and oversized checks fire per field before the required
 * ones, so missing siblings do not matter. */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "core/config.h"
#include "core/conn.h"
#include "core/http.h"
#include "core/log.h"
#include "core/ops.h"
#include "core/service.h"
#include "services/services.h"

int vz_validate_query_or_fail(vz_req *req);
int vz_validate_body_or_fail(vz_req *req);

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* Starts every service as `vidzo serve --dev --bench` would, so optional tables are
 * registered too, against a scratch data directory. Once per process. */
static int start_all(void) {
  static int state; /* 0 not tried, 1 started, -1 failed */
  if (state) return state;
  const char *tmp = getenv("TMPDIR");
  char dir[256];
  snprintf(dir, sizeof dir, "%s/vz-routes-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return state = -1;
  vz_config saved = vz_cfg;
  vz_config_defaults(&vz_cfg);
  vz_cfg.dev = 1;
  vz_cfg.bench = 1;
  snprintf(vz_cfg.data_dir, sizeof vz_cfg.data_dir, "%s", dir);
  snprintf(vz_cfg.db_url, sizeof vz_cfg.db_url, "sqlite:%s/vidzo.db", dir);
  snprintf(vz_cfg.jwt_secret, sizeof vz_cfg.jwt_secret, "unit-routes-secret-0123456789abcdef0123");
  int level = vz_log_level;
  vz_log_level = VZ_LOG_ERROR; /* the scratch database has no tables: its warnings are noise */
  char err[256];
  state = vz_services_init(vz_service_list, err, sizeof err) == 0 && vz_ops_init() == 0 ? 1 : -1;
  vz_log_level = level;
  vz_cfg = saved;
  nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  return state;
}

static int is_str(const vz_field *f) { return f->type == VZ_STR || f->type == VZ_EMAIL || f->type == VZ_URL; }

/* A value of n characters shaped like the field wants (a URL for VZ_URL, an address for
 * VZ_EMAIL), or NULL when n is too short for that shape. Caller frees. */
static char *sample(const vz_field *f, long long n) {
  const char *head = f->type == VZ_URL ? "https://e.co/" : "", *tail = f->type == VZ_EMAIL ? "@e.co" : "";
  long long fixed = (long long)(strlen(head) + strlen(tail));
  if (n < fixed + 1) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  memset(s, 'x', (size_t)n);
  memcpy(s, head, strlen(head));
  memcpy(s + n - (long long)strlen(tail), tail, strlen(tail));
  s[n] = 0;
  return s;
}

typedef struct probe {
  const vz_route *r;
  const vz_field *chain[8]; /* top-level field ... the string's parent (arrays, objects) */
  int depth;
  int bad, strings, nested;
} probe;

/* "links[0].label": the path the router names for the leaf below chain[0..depth). */
static void path_of(const probe *p, const vz_field *leaf, char *out, size_t cap) {
  size_t n = (size_t)snprintf(out, cap, "%s", p->depth ? p->chain[0]->name : leaf->name);
  for (int i = 0; i < p->depth && n < cap; i++) {
    if (p->chain[i]->type == VZ_ARR) n += (size_t)snprintf(out + n, cap - n, "[0]");
    else n += (size_t)snprintf(out + n, cap - n, ".%s", i + 1 < p->depth ? p->chain[i + 1]->name : leaf->name);
  }
}

/* {"top": ... {"name": value} or [value] ... } around the leaf's value. */
static json_t *wrap(const probe *p, const vz_field *leaf, json_t *v) {
  const vz_field *cur = leaf;
  for (int i = p->depth - 1; i >= 0; i--) {
    json_t *o = p->chain[i]->type == VZ_ARR ? json_array() : json_object();
    if (p->chain[i]->type == VZ_ARR) json_array_append_new(o, v);
    else json_object_set_new(o, cur->name, v);
    v = o;
    cur = p->chain[i];
  }
  json_t *body = json_object();
  json_object_set_new(body, cur->name, v);
  return body;
}

/* Runs one request through the router's checks; returns 0 or the status and copies the
 * error's field name. */
static int run(const vz_route *r, const char *query, const char *body, char *field, size_t cap) {
  vz_arena *a = vz_arena_new(0);
  vz_req *req = vz_arena_calloc(a, sizeof *req);
  static vz_header ct = { "Content-Type", "application/json" };
  req->arena = a;
  req->route = r;
  req->method = strcmp(r->method, "*") ? r->method : "POST";
  req->path = r->path;
  req->query = query ? query : "";
  req->headers = &ct;
  req->nheaders = 1;
  req->body = body ? body : "";
  req->body_len = body ? strlen(body) : 0;
  int rc = body ? vz_validate_body_or_fail(req) : vz_validate_query_or_fail(req);
  int st = rc ? req->status : 0;
  json_t *j = rc && req->res_body ? json_loadb(req->res_body, req->res_len, 0, NULL) : NULL;
  const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
  snprintf(field, cap, "%s", f ? f : "");
  json_decref(j);
  vz_req_free(req);
  return st;
}

static void complain(probe *p, const char *where, const char *path, const char *what) {
  fprintf(stderr, "  %s %s %s %s: %s\n", p->r->method, p->r->path, where, path, what);
  p->bad++;
}

/* Sends the string field at max+1 and at max characters. */
static void probe_string(probe *p, const vz_field *f, int in_query) {
  char path[256], got[256];
  path_of(p, f, path, sizeof path);
  const char *where = in_query ? "query" : "body";
  for (int over = 1; over >= 0; over--) {
    char *s = sample(f, f->max + over);
    if (!s) continue; /* too short a max for the shape: the over-by-one probe still ran */
    int st;
    if (in_query) {
      size_t qn = strlen(f->name) + strlen(s) + 2;
      char *q = malloc(qn);
      snprintf(q, qn, "%s=%s", f->name, s); /* 'x', '.', '/', ':' and '@' need no escaping */
      st = run(p->r, q, NULL, got, sizeof got);
      free(q);
    } else {
      json_t *b = wrap(p, f, json_string(s));
      char *text = json_dumps(b, JSON_COMPACT);
      st = run(p->r, NULL, text, got, sizeof got);
      free(text);
      json_decref(b);
    }
    free(s);
    if (over && (st != 400 || strcmp(got, path)))
      complain(p, where, path, "a value of max+1 characters is not a 400 naming the field");
    if (!over && st && !strcmp(got, path)) complain(p, where, path, "a value of max characters is refused");
  }
  p->strings++;
  if (p->depth) p->nested++;
}

static void walk(probe *p, const vz_field *fs, int in_query);

static void check_field(probe *p, const vz_field *f, int in_query) {
  char path[256];
  path_of(p, f, path, sizeof path);
  const char *where = in_query ? "query" : "body";
  if (f->type == VZ_ANY) { complain(p, where, path, "VZ_ANY takes anything: declare the type"); return; }
  if (in_query && (f->type == VZ_ARR || f->type == VZ_OBJ)) { complain(p, where, path, "query values are scalars"); return; }
  if (is_str(f)) {
    if (f->max <= 0 || f->min > f->max) { complain(p, where, path, "string without a max length"); return; }
    probe_string(p, f, in_query);
    return;
  }
  if (f->type != VZ_ARR && f->type != VZ_OBJ) return;
  if (f->type == VZ_ARR && (f->max <= 0 || f->min > f->max)) complain(p, where, path, "array without a max item count");
  if (!f->of) { complain(p, where, path, f->type == VZ_ARR ? "array without an element spec" : "object without a field table"); return; }
  if (p->depth >= 7) { complain(p, where, path, "nested too deep for this test"); return; }
  p->chain[p->depth++] = f;
  if (f->type == VZ_ARR) check_field(p, f->of, in_query);
  else walk(p, f->of, in_query);
  p->depth--;
}

static void walk(probe *p, const vz_field *fs, int in_query) {
  for (const vz_field *f = fs; f && f->name; f++) check_field(p, f, in_query);
}

TEST(services_routes_declare_bounded_input) {
  CHECK_EQ_INT(start_all(), 1);
  probe p = {0};
  int routes = 0, links_seen = 0;
  for (int i = 0; i < vz_route_count(); i++) {
    const vz_route *r = vz_route_at(i);
    if (!strncmp(r->path, "/t/", 3)) continue; /* router_test's own table */
    routes++;
    p.r = r;
    p.depth = 0;
    if (r->body && (r->flags & VZ_RAW_BODY)) complain(&p, "body", "", "a raw body cannot have JSON fields");
    if (r->query && (r->flags & (VZ_PREFIX | VZ_ASYNC))) complain(&p, "query", "", "declared but never validated");
    int before = p.nested;
    walk(&p, r->body, 0);
    walk(&p, r->query, 1);
    if (!strcmp(r->path, "/v1/me") && p.nested > before) links_seen = 1;
  }
  fprintf(stderr, "  %d routes, %d string fields probed (%d nested)\n", routes, p.strings, p.nested);
  CHECK_EQ_INT(p.bad, 0);
  CHECK(routes >= 40);          /* the walk saw every service, not an empty table */
  CHECK(links_seen);            /* PATCH /v1/me links[0].label and .url were probed */
  /* the paging parameters every route accepts are bounded too */
  char got[64];
  char *big = malloc(600);
  memset(big, 'x', 599);
  big[599] = 0;
  char q[620];
  for (int i = 0; i < vz_route_count(); i++) {
    const vz_route *r = vz_route_at(i);
    if (strcmp(r->path, "/v1/users") || strcmp(r->method, "GET")) continue;
    snprintf(q, sizeof q, "q=a&cursor=%s", big);
    CHECK_EQ_INT(run(r, q, NULL, got, sizeof got), 400);
    CHECK_EQ_STR(got, "cursor");
    snprintf(q, sizeof q, "q=a&fields=%s", big);
    CHECK_EQ_INT(run(r, q, NULL, got, sizeof got), 400);
    CHECK_EQ_STR(got, "fields");
  }
  free(big);
}
