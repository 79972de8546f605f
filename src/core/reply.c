/* reply: the one error envelope, JSON replies with fields= projection, cursors, ids and
 * times as JSON, and gzip for large bodies. Handlers never build HTTP by hand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "core/http.h"
#include "core/json.h"
#include "lib/base64.h"
#include "db/db.h"

int vz_add_header(vz_req *req, const char *name, const char *value) {
  if (req->nres_headers >= (int)(sizeof req->res_headers / sizeof req->res_headers[0])) return -1;
  const char *v = vz_arena_strdup(req->arena, value);
  if (!v) return -1;
  for (const char *p = v; *p; p++)
    if (*p == '\r' || *p == '\n') return -1; /* no header injection */
  req->res_headers[req->nres_headers].name = name;
  req->res_headers[req->nres_headers++].value = v;
  return 0;
}

static void set_body(vz_req *req, int status, const char *type, char *body, size_t len) {
  free(req->res_body);
  req->status = status;
  req->res_type = type;
  req->res_body = body;
  req->res_len = len;
  req->replied = 1;
}

int vz_reply_bytes(vz_req *req, int status, const char *type, const void *body, size_t len) {
  char *b = NULL;
  if (len) {
    b = malloc(len);
    if (!b) return vz_fail(req, 503, "unavailable", NULL, "out of memory");
    memcpy(b, body, len);
  }
  set_body(req, status, type, b, len);
  return status;
}

int vz_reply_empty(vz_req *req, int status) {
  set_body(req, status, NULL, NULL, 0);
  return status;
}

int vz_reply_json(vz_req *req, int status, json_t *body) {
  size_t len = 0;
  char *s = vz_json_dumps(body, &len);
  json_decref(body);
  if (!s) return vz_fail(req, 500, "internal", NULL, "could not encode the reply");
  set_body(req, status, "application/json", s, len);
  return status;
}

static int has_res_header(const vz_req *req, const char *name) {
  for (int i = 0; i < req->nres_headers; i++)
    if (!strcasecmp(req->res_headers[i].name, name)) return 1;
  return 0;
}

int vz_fail(vz_req *req, int status, const char *code, const char *field, const char *fmt, ...) {
  char msg[512];
  /* Every 503 says when to come back (RFC 9110 10.2.3), whoever sends it: clients and
   * proxies back off instead of hammering a server that is busy or lost its database. */
  if (status == 503 && !has_res_header(req, "Retry-After")) vz_add_header(req, "Retry-After", "1");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *err = json_pack("{s:s, s:s}", "code", code, "message", msg);
  if (err && field) json_object_set_new(err, "field", json_string(field));
  if (err) json_object_set_new(err, "request_id", json_string(req->request_id));
  json_t *env = err ? json_pack("{s:o}", "error", err) : NULL; /* "o" takes err */
  char *s = vz_json_dumps(env, NULL);
  json_decref(env);
  if (!s) {
    static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    s = strdup(fallback);
    if (status < 500) status = 500; /* a 403 beside "internal" would tell the client two things */
  }
  set_body(req, status, "application/json", s, s ? strlen(s) : 0);
  return status;
}

/* The one mapping from db.h codes to the envelope, for every service: busy and
 * unavailable are 503 with Retry-After (try again shortly), a constraint is 409, anything
 * else (our SQL, a corrupt file, DB_EABORT that never replied) is 500. */
int vz_fail_db(vz_req *req, int rc) {
  req->db_busy = rc == DB_EBUSY;
  switch (rc) {
  case DB_EBUSY:
  case DB_EUNAVAILABLE: /* vz_fail adds Retry-After */
    return vz_fail(req, 503, "unavailable", NULL, "database busy or unavailable, retry shortly");
  case DB_ECONSTRAINT: return vz_fail(req, 409, "conflict", NULL, "conflicts with existing data");
  default: return vz_fail(req, 500, "internal", NULL, "database error");
  }
}

int vz_tx_or_fail(vz_req *req, int (*fn)(vz_db *db, void *ctx), void *ctx) {
  int rc = db_tx(req->db, fn, ctx);
  if (rc >= 0) return rc;
  if (rc != DB_EABORT || !req->replied) vz_fail_db(req, rc);
  return -1;
}

/* fields=a,b,c keeps only those keys; a name the object lacks is a 400. */
static int project(vz_req *req, json_t *obj, const char *fields) {
  if (!json_is_object(obj)) return 0;
  json_t *keep = json_object();
  for (const char *s = fields; s && *s;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    char name[64];
    if (len == 0 || len >= sizeof name) { json_decref(keep); return vz_fail(req, 400, "invalid_argument", "fields", "bad field list"); }
    memcpy(name, s, len);
    name[len] = 0;
    json_t *v = json_object_get(obj, name);
    if (!v) {
      json_decref(keep);
      return vz_fail(req, 400, "invalid_argument", "fields", "unknown field %s in fields=", name);
    }
    json_object_set(keep, name, v);
    s = comma ? comma + 1 : NULL;
  }
  json_object_clear(obj);
  json_object_update(obj, keep);
  json_decref(keep);
  return 0;
}

int vz_reply_item(vz_req *req, int status, json_t *item) {
  const char *fields = vz_req_query(req, "fields");
  if (fields && project(req, item, fields)) { json_decref(item); return req->status; }
  return vz_reply_json(req, status, json_pack("{s:o}", "data", item));
}

int vz_reply_list(vz_req *req, json_t *items, const char *next_cursor) {
  const char *fields = vz_req_query(req, "fields");
  size_t i;
  json_t *it;
  if (fields)
    json_array_foreach(items, i, it) if (project(req, it, fields)) { json_decref(items); return req->status; }
  return vz_reply_json(req, 200, json_pack("{s:o, s:o}", "data", items, "next_cursor",
                                           next_cursor ? json_string(next_cursor) : json_null()));
}

int vz_req_limit(vz_req *req) {
  const char *s = vz_req_query(req, "limit");
  if (!s) return 20;
  long v = strtol(s, NULL, 10); /* validated 1..100 by the router */
  return v >= 1 && v <= 100 ? (int)v : 20;
}

/* Cursors are base64url of "position:id": opaque to clients, readable to us. */
char *vz_cursor_encode(vz_arena *a, const char *plain) {
  size_t n = strlen(plain), cap = vz_b64_len(n, VZ_B64_URL) + 1;
  char *out = vz_arena_alloc(a, cap);
  if (!out || vz_b64_encode(plain, n, out, cap, VZ_B64_URL) < 0) return NULL;
  return out;
}

const char *vz_cursor_decode_or_fail(vz_req *req, const char *cursor) {
  size_t n = strlen(cursor);
  char *out = vz_arena_alloc(req->arena, n + 1);
  long len = out ? vz_b64_decode(cursor, n, out, n, VZ_B64_URL) : -1;
  if (len <= 0 || memchr(out, 0, (size_t)len)) { /* a NUL would cut the position short */
    vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
    return NULL;
  }
  out[len] = 0;
  return out;
}

json_t *vz_json_id(int64_t id) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)id);
  return json_string(buf);
}

void vz_format_time(char out[32], int64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

json_t *vz_json_time(int64_t ms) {
  char buf[32];
  vz_format_time(buf, ms);
  return json_string(buf);
}

/* gzip JSON bodies over 1 KB for clients that accept it; level 1: cheap and most of the gain. */
void vz_gzip_reply(vz_req *req) {
  if (req->res_len < 1024 || !req->res_type || strncmp(req->res_type, "application/json", 16)) return;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
  uLong cap = deflateBound(&z, (uLong)req->res_len);
  char *out = malloc(cap);
  if (!out) { deflateEnd(&z); return; }
  z.next_in = (Bytef *)req->res_body;
  z.avail_in = (uInt)req->res_len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  size_t len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) { free(out); return; }
  free(req->res_body);
  req->res_body = out;
  req->res_len = len;
  vz_add_header(req, "Content-Encoding", "gzip");
  vz_add_header(req, "Vary", "Accept-Encoding");
}
