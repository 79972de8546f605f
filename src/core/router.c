/* router: the route tables services register, path matching with :params, and the
 * declared-input validation that runs before any handler. A known path with the wrong
 * method is a 405 with Allow (kore src/route.c); an unknown field is a 400 naming it;
 * a body that is not declared JSON on a JSON route is a 415. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conn.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lib/utf8.h"

static vz_route *routes[VZ_MAX_ROUTES];
static int nroutes;

/* A row that asks for what its thread cannot give is our bug, found at start-up rather
 * than as a silent no-op: the request transaction behind VZ_AUDIT and VZ_IDEMPOTENT
 * exists only on the worker pool (dispatch.c work_cb). */
static int route_ok(const vz_route *r) {
  const char *why = NULL;
  if (!r->path || !r->handler) why = "a route needs a path and a handler";
  else if (!vz_route_on_pool(r) && (r->flags & (VZ_AUDIT | VZ_IDEMPOTENT)))
    why = "VZ_AUDIT and VZ_IDEMPOTENT work only on the worker pool: drop VZ_ON_LOOP / VZ_ASYNC";
  if (!why) return 1;
  char name[160];
  snprintf(name, sizeof name, "%s %s", r->method, r->path ? r->path : "(no path)");
  vz_log_error("route refused", "route", name, "error", why);
  return 0;
}

int vz_routes_add(vz_route *table) { return vz_routes_add_tagged(table, NULL); }

int vz_routes_add_tagged(vz_route *table, const char *tag) {
  int n = 0;
  for (vz_route *r = table; r->method; r++, n++)
    if (!route_ok(r)) return -1;
  if (nroutes + n > VZ_MAX_ROUTES) {
    vz_log_error("route table full", "route", table[VZ_MAX_ROUTES - nroutes].path); /* the first that does not fit */
    return -1;
  }
  for (vz_route *r = table; r->method; r++) {
    if (!r->tag) r->tag = tag;
    r->idx = nroutes;
    routes[nroutes++] = r;
  }
  return 0;
}

const vz_route *vz_route_at(int idx) { return idx >= 0 && idx < nroutes ? routes[idx] : NULL; }
int vz_route_count(void) { return nroutes; }

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into out (n+1 bytes). '+' as space only for query values.
 * Returns the length or -1 on a bad escape or NUL byte. */
static long url_decode(const char *s, size_t n, char *out, int plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n) return -1;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = h * 16 + l;
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    if (c == 0) return -1;
    out[o++] = (char)c;
  }
  out[o] = 0;
  return (long)o;
}

/* Splits the raw target into a decoded path and the raw query; refuses traversal. */
static int split_target(vz_req *req) {
  const char *raw = req->path;
  if (raw[0] != '/') return -1; /* absolute-form and '*' are not served */
  const char *q = strchr(raw, '?');
  size_t plen = q ? (size_t)(q - raw) : strlen(raw);
  const char *hash = memchr(raw, '#', plen);
  if (hash) plen = (size_t)(hash - raw);
  char *path = vz_arena_alloc(req->arena, plen + 1);
  if (!path) return -1;
  long n = url_decode(raw, plen, path, 0);
  if (n < 0 || !vz_utf8_valid(path, (size_t)n) || strchr(path, '\\')) return -1;
  /* No "." or ".." segments anywhere: nothing may climb out of a prefix. */
  for (const char *s = path; *s;) {
    const char *e = strchr(s + 1, '/');
    size_t len = e ? (size_t)(e - s - 1) : strlen(s + 1);
    if ((len == 1 && s[1] == '.') || (len == 2 && s[1] == '.' && s[2] == '.')) return -1;
    if (!e) break;
    s = e;
  }
  req->query = q ? q + 1 : "";
  req->path = path;
  return 0;
}

/* Matches one pattern against the path; fills params on success when capture is set. */
static int match_path(vz_req *req, const vz_route *r, int capture) {
  const char *p = r->path, *s = req->path;
  if (r->flags & VZ_PREFIX) return strncmp(s, p, strlen(p)) == 0;
  int np = 0;
  while (*p && *s) {
    if (*p == ':') {
      const char *pe = strchr(p, '/'), *se = strchr(s, '/');
      size_t plen = pe ? (size_t)(pe - p) : strlen(p), slen = se ? (size_t)(se - s) : strlen(s);
      if (slen == 0 || np >= VZ_MAX_PARAMS) return 0;
      if (capture) {
        req->param_names[np] = vz_arena_strndup(req->arena, p + 1, plen - 1);
        req->param_values[np] = vz_arena_strndup(req->arena, s, slen);
      }
      np++;
      p += plen;
      s += slen;
      continue;
    }
    if (*p != *s) return 0;
    p++;
    s++;
  }
  if (*p || *s) return 0;
  if (capture) req->nparams = np;
  return 1;
}

/* Called at headers-complete. Sets req->route, or req->status 400/404/405 for dispatch. */
void vz_route_match(vz_req *req) {
  if (split_target(req) < 0) {
    req->path = "";
    req->query = "";
    req->status = 400;
    return;
  }
  int path_hit = 0;
  for (int i = 0; i < nroutes; i++) {
    const vz_route *r = routes[i];
    if (!match_path(req, r, 0)) continue;
    path_hit = 1;
    if (strcmp(r->method, "*") == 0 || strcmp(r->method, req->method) == 0 ||
        (strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
      match_path(req, r, 1);
      req->route = r;
      return;
    }
  }
  req->status = path_hit ? 405 : 404;
}

/* "GET, POST" for a path that matched with another method. */
char *vz_route_allow(vz_req *req) {
  char buf[128];
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < nroutes; i++) {
    const vz_route *r = routes[i];
    if (!match_path(req, r, 0) || strstr(buf, r->method)) continue;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", r->method);
    if (n >= sizeof buf) break;
  }
  return vz_arena_strdup(req->arena, buf);
}

const char *vz_req_param(const vz_req *req, const char *name) {
  for (int i = 0; i < req->nparams; i++)
    if (strcmp(req->param_names[i], name) == 0) return req->param_values[i];
  return NULL;
}

const char *vz_req_header(const vz_req *req, const char *name) {
  for (int i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

/* Finds name in the raw query and decodes its value into the arena. */
const char *vz_req_query(vz_req *req, const char *name) {
  size_t nl = strlen(name);
  const char *s = req->query;
  while (s && *s) {
    const char *amp = strchr(s, '&');
    size_t len = amp ? (size_t)(amp - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    if (klen == nl && memcmp(s, name, nl) == 0) {
      const char *v = eq ? eq + 1 : s + len;
      size_t vlen = (size_t)(s + len - v);
      char *out = vz_arena_alloc(req->arena, vlen + 1);
      if (!out || url_decode(v, vlen, out, 1) < 0) return NULL;
      return out;
    }
    s = amp ? amp + 1 : NULL;
  }
  return NULL;
}

int vz_parse_id(const char *s, int64_t *out) {
  if (!s || !*s || strlen(s) > 19) return -1;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p)) return -1;
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno || v <= 0) return -1;
  *out = v;
  return 0;
}

int vz_req_param_id_or_fail(vz_req *req, const char *name, int64_t *out) {
  if (vz_parse_id(vz_req_param(req, name), out) == 0) return 0;
  vz_fail(req, 404, "not_found", name, "no such object");
  return -1;
}


static int email_ok(const char *s) {
  size_t n = strlen(s);
  const char *at = strchr(s, '@');
  if (n < 3 || n > 254 || !at || at == s || strchr(at + 1, '@')) return 0;
  const char *dot = strrchr(at, '.');
  if (!dot || dot == at + 1 || !dot[1]) return 0;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"') return 0;
  return 1;
}

static int enum_ok(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *c = choices; c && *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && memcmp(c, s, n) == 0) return 1;
    c = bar ? bar + 1 : NULL;
  }
  return 0;
}

/* Declared-input checks. `path` is the name an error carries: the field's own name at the
 * top level, "links[2].label" inside arrays and objects, so a client can point at it. */
static int check_str_or_fail(vz_req *req, const vz_field *f, const char *s, const char *path) {
  size_t len = vz_utf8_chars(s);
  if (f->max && (len < (size_t)f->min || len > (size_t)f->max))
    return vz_fail(req, 400, "invalid_argument", path, "%s must be %lld to %lld characters", path, f->min, f->max);
  if (f->type == VZ_EMAIL && !email_ok(s))
    return vz_fail(req, 400, "invalid_argument", path, "%s is not a valid email address", path);
  if (f->type == VZ_URL && ((strncmp(s, "https://", 8) && strncmp(s, "http://", 7)) || strlen(s) > 2048 ||
                            strpbrk(s, " \t\r\n<>\"")))
    return vz_fail(req, 400, "invalid_argument", path, "%s must be an http(s) URL", path);
  if (f->type == VZ_ENUM && !enum_ok(f->choices, s))
    return vz_fail(req, 400, "invalid_argument", path, "%s must be one of %s", path, f->choices);
  return 0;
}

static int check_int_or_fail(vz_req *req, const vz_field *f, long long v, const char *path) {
  if ((f->min || f->max) && (v < f->min || v > f->max))
    return vz_fail(req, 400, "invalid_argument", path, "%s must be from %lld to %lld", path, f->min, f->max);
  return 0;
}

static int check_value_or_fail(vz_req *req, const vz_field *f, json_t *v, const char *path);

/* A JSON object against a field table: every key must be declared (checked as it comes,
 * so the first bad key is the one named), then every required field must be present.
 * prefix: NULL at the top level, else the path of the object ("links[2]"). */
static int check_object_or_fail(vz_req *req, const vz_field *fields, json_t *obj, const char *prefix) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    const vz_field *f = fields;
    while (f && f->name && strcmp(f->name, key)) f++;
    const char *path = prefix ? vz_arena_printf(req->arena, "%s.%s", prefix, key) : key;
    if (!path) return vz_fail(req, 503, "unavailable", NULL, "server busy");
    if (!f || !f->name) return vz_fail(req, 400, "invalid_argument", path, "unknown field %s", path);
    int rc = check_value_or_fail(req, f, v, path);
    if (rc) return rc;
  }
  for (const vz_field *f = fields; f && f->name; f++) {
    if (!(f->flags & VZ_REQUIRED) || json_object_get(obj, f->name)) continue;
    const char *path = prefix ? vz_arena_printf(req->arena, "%s.%s", prefix, f->name) : f->name;
    if (!path) return vz_fail(req, 503, "unavailable", NULL, "server busy");
    return vz_fail(req, 400, "invalid_argument", path, "%s is required", path);
  }
  return 0;
}

/* One JSON value against its declared field; arrays and objects recurse into f->of. */
static int check_value_or_fail(vz_req *req, const vz_field *f, json_t *v, const char *path) {
  if (json_is_null(v)) {
    if (f->flags & VZ_NULLABLE) return 0;
    return vz_fail(req, 400, "invalid_argument", path, "%s must not be null", path);
  }
  switch (f->type) {
  case VZ_STR: case VZ_EMAIL: case VZ_URL: case VZ_ENUM:
    if (!json_is_string(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be a string", path);
    return check_str_or_fail(req, f, json_string_value(v), path);
  case VZ_INT:
    if (!json_is_integer(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be an integer", path);
    return check_int_or_fail(req, f, json_integer_value(v), path);
  case VZ_ID: {
    int64_t id;
    if (json_is_string(v) && vz_parse_id(json_string_value(v), &id) == 0) return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) return 0;
    return vz_fail(req, 400, "invalid_argument", path, "%s must be an id", path);
  }
  case VZ_BOOL:
    if (!json_is_boolean(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be true or false", path);
    return 0;
  case VZ_NUM: {
    if (!json_is_number(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be a number", path);
    /* compared as doubles: casting 1e300 to long long is undefined behaviour */
    double d = json_number_value(v);
    if ((f->min || f->max) && !(d >= (double)f->min && d <= (double)f->max))
      return vz_fail(req, 400, "invalid_argument", path, "%s must be from %lld to %lld", path, f->min, f->max);
    return 0;
  }
  case VZ_OBJ:
    if (!json_is_object(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be an object", path);
    return f->of ? check_object_or_fail(req, f->of, v, path) : 0;
  case VZ_ARR: {
    if (!json_is_array(v)) return vz_fail(req, 400, "invalid_argument", path, "%s must be an array", path);
    size_t n = json_array_size(v);
    if (f->max && (n < (size_t)f->min || n > (size_t)f->max))
      return vz_fail(req, 400, "invalid_argument", path, "%s must have %lld to %lld items", path, f->min, f->max);
    if (!f->of) return 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      const char *ipath = vz_arena_printf(req->arena, "%s[%zu]", path, i);
      if (!ipath) return vz_fail(req, 503, "unavailable", NULL, "server busy");
      int rc = check_value_or_fail(req, f->of, e, ipath);
      if (rc) return rc;
    }
    return 0;
  }
  default:
    return 0;
  }
}

static void json_decref_cb(void *p) { json_decref(p); }

json_t *vz_arena_json(vz_req *req, json_t *v) {
  if (v && vz_arena_defer(req->arena, json_decref_cb, v) < 0) {
    json_decref(v);
    return NULL;
  }
  return v;
}

/* Content-Type names JSON: application/json or application/<anything>+json (RFC 6839
 * structured syntax suffix), any parameters (";charset=utf-8"). Type and subtype are
 * case-insensitive (RFC 9110 8.3.1). */
static int json_media_type(const char *ct) {
  if (!ct) return 0;
  while (*ct == ' ' || *ct == '\t') ct++;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if (n < 16 || strncasecmp(ct, "application/", 12)) return 0;
  if (n == 16 && !strncasecmp(ct + 12, "json", 4)) return 1;
  if (n < 18 || strncasecmp(ct + n - 5, "+json", 5)) return 0;
  for (size_t i = 12; i < n - 5; i++)
    if (ct[i] == '/' || (unsigned char)ct[i] <= ' ') return 0;
  return 1;
}

int vz_validate_body_or_fail(vz_req *req) {
  const vz_route *r = req->route;
  int wants_json = r->body || !strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
                   !strcmp(req->method, "PATCH");
  if ((r->flags & VZ_RAW_BODY) || !wants_json) return 0;
  if (req->body_len == 0) {
    for (const vz_field *f = r->body; f && f->name; f++)
      if (f->flags & VZ_REQUIRED)
        return vz_fail(req, 400, "invalid_argument", f->name, "request body must be a JSON object with %s", f->name);
    req->json = vz_arena_json(req, json_object());
    return 0;
  }
  /* A body in another format is not guessed at: a form or a text/plain POST (which a
   * browser sends cross-origin without a preflight) is refused before parsing. */
  if (!json_media_type(vz_req_header(req, "Content-Type")))
    return vz_fail(req, 415, "unsupported_media_type", NULL, "send the body as Content-Type: application/json");
  json_error_t err;
  int oom = 0; /* not json_loadb: it can drop a byte under memory pressure (core/json.h) */
  json_t *j = vz_json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err, &oom);
  if (!j && oom) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
  if (!j) return vz_fail(req, 400, "invalid_json", NULL, "invalid JSON at position %d: %s", err.position, err.text);
  /* on a failed defer vz_arena_json has already freed j: reading it then was a use after free */
  if (!(j = vz_arena_json(req, j))) return vz_fail(req, 503, "unavailable", NULL, "out of memory, retry shortly");
  if (!json_is_object(j)) return vz_fail(req, 400, "invalid_json", NULL, "request body must be a JSON object");
  int rc = check_object_or_fail(req, r->body, j, NULL);
  if (rc) return rc;
  req->json = j;
  return 0;
}

/* The body validator for any JSON object (declared socket events use it too). */
int vz_validate_json_or_fail(vz_req *req, const vz_field *fields, json_t *obj) {
  return check_object_or_fail(req, fields, obj, NULL);
}

static const vz_field common_query[] = {
  { "fields", VZ_STR, 0, 1, 512, 0 },
  { "limit", VZ_INT, 0, 1, 100, 0 },
  { "cursor", VZ_STR, 0, 1, 512, 0 },
  { 0, 0, 0, 0, 0, 0 },
};

static const vz_field *find_field(const vz_field *fs, const char *name, size_t n) {
  for (const vz_field *f = fs; f && f->name; f++)
    if (strlen(f->name) == n && memcmp(f->name, name, n) == 0) return f;
  return NULL;
}

int vz_validate_query_or_fail(vz_req *req) {
  const vz_route *r = req->route;
  if (r->flags & (VZ_PREFIX | VZ_ASYNC)) return 0; /* protocol endpoints parse their own */
  for (const char *s = req->query; s && *s;) {
    const char *amp = strchr(s, '&');
    size_t len = amp ? (size_t)(amp - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    if (len) {
      const vz_field *f = find_field(r->query, s, klen);
      if (!f) f = find_field(common_query, s, klen);
      char *name = vz_arena_strndup(req->arena, s, klen);
      if (!f) return vz_fail(req, 400, "invalid_argument", name, "unknown query parameter %s", name);
      const char *v = vz_req_query(req, f->name);
      if (!v || !vz_utf8_valid(v, strlen(v)))
        return vz_fail(req, 400, "invalid_argument", f->name, "%s is not validly encoded", f->name);
      int rc = 0;
      if (f->type == VZ_INT) {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) return vz_fail(req, 400, "invalid_argument", f->name, "%s must be an integer", f->name);
        rc = check_int_or_fail(req, f, x, f->name);
      } else if (f->type == VZ_ID) {
        int64_t id;
        if (vz_parse_id(v, &id)) rc = vz_fail(req, 400, "invalid_argument", f->name, "%s must be an id", f->name);
      } else if (f->type == VZ_BOOL) {
        if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0"))
          rc = vz_fail(req, 400, "invalid_argument", f->name, "%s must be true or false", f->name);
      } else {
        rc = check_str_or_fail(req, f, v, f->name);
      }
      if (rc) return rc;
    }
    s = amp ? amp + 1 : NULL;
  }
  for (const vz_field *f = r->query; f && f->name; f++)
    if ((f->flags & VZ_REQUIRED) && !vz_req_query(req, f->name))
      return vz_fail(req, 400, "invalid_argument", f->name, "query parameter %s is required", f->name);
  return 0;
}
