/* fault.c: the counters behind fault.h. One arm at a time, process-wide, under a mutex
 * (arming is rare); the hot path, vz_fault_hit, is one relaxed atomic load when nothing
 * is armed and touches only thread-local state for a request-scoped arm, so a handler's
 * count never depends on what other threads do meanwhile. Debug builds only. */
#include "core/fault.h"

#ifdef VZ_DEBUG
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/log.h"
#include "db/db.h"

static const char *const kind_names[VZ_FAULT_KINDS] = { "alloc", "db", "call" };
static const char *const scope_names[] = { "request", "global", "thread" };
static const char *const code_names[] = { "io", "busy", "error" };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Fast-path flags: something request- or global-scoped is armed. */
static atomic_int armed_request, armed_global;
/* The arm itself, read and written under mu. */
static vz_fault_spec arm;
static atomic_long global_seen;
static vz_fault_report last;

/* This thread: its handler window and what it claimed, and a thread-scoped arm. */
typedef struct tl_state {
  int in_window, claimed, fired, code;
  int kind;
  long nth, seen;
  char route[96];
} tl_state;
static _Thread_local tl_state tl;
static _Thread_local struct { int armed, kind, code; long nth, seen; } tt;
static _Thread_local int tl_code; /* code of the fault that fired last on this thread */

static int lookup(const char *s, size_t n, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0) return i;
  return -1;
}

const char *vz_fault_kind_name(int kind) {
  return kind >= 0 && kind < VZ_FAULT_KINDS ? kind_names[kind] : "?";
}

int vz_fault_parse(const char *s, vz_fault_spec *out) {
  vz_fault_spec sp = { .kind = -1, .scope = VZ_FAULT_GLOBAL, .code = VZ_FAULT_IO, .nth = 0 };
  const char *colon = s ? strchr(s, ':') : NULL;
  if (!colon) return -1;
  if ((sp.kind = lookup(s, (size_t)(colon - s), kind_names, VZ_FAULT_KINDS)) < 0) return -1;
  char *end;
  long n = strtol(colon + 1, &end, 10);
  if (end == colon + 1 || n < 1 || (*end && *end != ':')) return -1;
  sp.nth = n;
  if (*end == ':') {
    const char *sc = end + 1, *c2 = strchr(sc, ':');
    size_t len = c2 ? (size_t)(c2 - sc) : strlen(sc);
    if ((sp.scope = lookup(sc, len, scope_names, 3)) < 0) return -1;
    if (c2 && (sp.code = lookup(c2 + 1, strlen(c2 + 1), code_names, 3)) < 0) return -1;
  }
  *out = sp;
  return 0;
}

void vz_fault_arm(const vz_fault_spec *spec) {
  vz_fault_disarm();
  if (spec->scope == VZ_FAULT_THREAD) {
    tt.armed = 1, tt.kind = spec->kind, tt.code = spec->code, tt.nth = spec->nth, tt.seen = 0;
    return;
  }
  pthread_mutex_lock(&mu);
  arm = *spec;
  memset(&last, 0, sizeof last);
  atomic_store(&global_seen, 0);
  if (spec->scope == VZ_FAULT_REQUEST) atomic_store(&armed_request, 1);
  else atomic_store(&armed_global, 1);
  pthread_mutex_unlock(&mu);
}

void vz_fault_disarm(void) {
  pthread_mutex_lock(&mu);
  atomic_store(&armed_request, 0);
  atomic_store(&armed_global, 0);
  pthread_mutex_unlock(&mu);
  tt.armed = 0;
}

void vz_fault_last(vz_fault_report *out) {
  pthread_mutex_lock(&mu);
  *out = last;
  pthread_mutex_unlock(&mu);
}

void vz_fault_enter(const char *method, const char *path) {
  tl.in_window = 1;
  tl.claimed = 0;
  if (!atomic_load_explicit(&armed_request, memory_order_relaxed)) return;
  /* the debug routes themselves never claim: GET after POST must not spend the arm */
  if (strncmp(path, "/v1/_debug/", 11) == 0) return;
  pthread_mutex_lock(&mu);
  if (atomic_load(&armed_request)) {
    atomic_store(&armed_request, 0);
    tl.claimed = 1, tl.fired = 0, tl.seen = 0;
    tl.kind = arm.kind, tl.nth = arm.nth, tl.code = arm.code;
    snprintf(tl.route, sizeof tl.route, "%s %s", method, path);
  }
  pthread_mutex_unlock(&mu);
}

void vz_fault_leave(void) {
  if (tl.claimed) {
    pthread_mutex_lock(&mu);
    last.valid = 1;
    last.fired = tl.fired;
    last.seen = tl.seen;
    memcpy(last.route, tl.route, sizeof last.route);
    pthread_mutex_unlock(&mu);
    tl.claimed = 0;
  }
  tl.in_window = 0;
}

static void fired(int kind, long nth, int code) {
  tl_code = code;
  char n[24];
  snprintf(n, sizeof n, "%ld", nth);
  vz_log_warn("fault injected", "kind", kind_names[kind], "nth", n);
}

int vz_fault_hit(int kind) {
  if (tt.armed && tt.kind == kind && ++tt.seen == tt.nth) {
    tt.armed = 0;
    fired(kind, tt.nth, tt.code);
    return 1;
  }
  if (!tl.in_window) return 0;
  if (tl.claimed) {
    if (tl.kind != kind) return 0;
    if (++tl.seen != tl.nth) return 0;
    tl.fired = 1;
    fired(kind, tl.nth, tl.code);
    return 1;
  }
  if (!atomic_load_explicit(&armed_global, memory_order_relaxed)) return 0;
  pthread_mutex_lock(&mu);
  int hit = atomic_load(&armed_global) && arm.kind == kind && atomic_fetch_add(&global_seen, 1) + 1 == arm.nth;
  vz_fault_spec sp = arm;
  if (hit) atomic_store(&armed_global, 0);
  pthread_mutex_unlock(&mu);
  if (hit) fired(kind, sp.nth, sp.code);
  return hit;
}

int vz_fault_db_code(void) {
  switch (tl_code) {
  case VZ_FAULT_BUSY: return DB_EBUSY;
  case VZ_FAULT_ERROR: return DB_ERROR;
  default: return DB_EUNAVAILABLE;
  }
}

int vz_fault_init(void) {
  const char *env = getenv("VIDZO_FAULT");
  if (!env || !*env) return 0;
  vz_fault_spec sp;
  if (vz_fault_parse(env, &sp) < 0) {
    vz_log_error("VIDZO_FAULT: expected kind:N[:scope[:code]] (kind alloc|db|call)", "value", env);
    return -1;
  }
  vz_fault_arm(&sp);
  vz_log_warn("fault armed", "spec", env);
  return 0;
}

/* ---- /v1/_debug/fault (serve --dev) ----------------------------------------------- */

static json_t *state_json(void) {
  vz_fault_report r;
  pthread_mutex_lock(&mu);
  vz_fault_spec sp = arm;
  int armed = atomic_load(&armed_request) || atomic_load(&armed_global);
  r = last;
  pthread_mutex_unlock(&mu);
  json_t *o = json_pack("{s:b}", "armed", armed);
  if (o && armed)
    json_object_set_new(o, "arm", json_pack("{s:s, s:I, s:s, s:s}", "kind", kind_names[sp.kind], "nth",
                                            (json_int_t)sp.nth, "scope", scope_names[sp.scope], "code",
                                            code_names[sp.code]));
  if (o && r.valid)
    json_object_set_new(o, "last", json_pack("{s:s, s:b, s:I}", "route", r.route, "fired", r.fired, "seen",
                                             (json_int_t)r.seen));
  return o;
}

static int index_of(const char *s, const char *const *names, int count) {
  return s ? lookup(s, strlen(s), names, count) : -1;
}

static int h_arm(vz_req *req) {
  vz_fault_spec sp = { .scope = VZ_FAULT_REQUEST, .code = VZ_FAULT_IO };
  sp.kind = index_of(json_string_value(json_object_get(req->json, "kind")), kind_names, VZ_FAULT_KINDS);
  sp.nth = (long)json_integer_value(json_object_get(req->json, "nth"));
  const char *scope = json_string_value(json_object_get(req->json, "scope"));
  const char *code = json_string_value(json_object_get(req->json, "code"));
  if (scope) sp.scope = index_of(scope, scope_names, 2); /* thread scope is for the arming thread: not here */
  if (code) sp.code = index_of(code, code_names, 3);
  if (sp.kind < 0 || sp.scope < 0 || sp.code < 0) /* the enums were validated; defensive only */
    return vz_fail(req, 400, "invalid_argument", NULL, "bad fault spec");
  vz_fault_arm(&sp);
  return vz_reply_item(req, 200, state_json());
}

static int h_show(vz_req *req) { return vz_reply_item(req, 200, state_json()); }

static int h_disarm(vz_req *req) {
  vz_fault_disarm();
  return vz_reply_item(req, 200, state_json());
}

static const vz_field arm_in[] = {
  { "kind", VZ_ENUM, VZ_REQUIRED, 0, 0, "alloc|db|call" },
  { "nth", VZ_INT, VZ_REQUIRED, 1, 1000000000, 0 },
  { "scope", VZ_ENUM, 0, 0, 0, "request|global" },
  { "code", VZ_ENUM, 0, 0, 0, "io|busy|error" },
  { 0 } };

/* On the loop, no role: --dev is a developer's machine or the test suite, never production. */
static vz_route routes[] = {
  VZ_POST("/v1/_debug/fault", h_arm, .body = arm_in, .flags = VZ_ON_LOOP | VZ_UNLISTED),
  VZ_GET("/v1/_debug/fault", h_show, .flags = VZ_ON_LOOP | VZ_UNLISTED),
  VZ_DELETE("/v1/_debug/fault", h_disarm, .flags = VZ_ON_LOOP | VZ_UNLISTED),
  { 0 } };

int vz_fault_routes_add(void) { return vz_routes_add(routes); }
#else
typedef int vz_fault_release_build; /* ISO C wants a translation unit to declare something */
#endif
