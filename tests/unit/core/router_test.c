/* router: a path matches exactly one route with its :params; a known path with another
 * method is 405, an unknown one 404 (or the fallback row's, outside every route's first
 * segment); traversal, NUL, bad escapes and invalid UTF-8 are
 * 400 before any route is tried; declared query and body input is checked field by field. */
#include <stdlib.h>
#include "core/http.h"
#include "core/conn.h"
#include <jansson.h>
#include <stdio.h>
#include "../test.h"

int vz_utf8_valid(const char *s, size_t n);
int vz_validate_query_or_fail(vz_req *req);
int vz_validate_body_or_fail(vz_req *req);
char *vz_route_allow(vz_req *req);

static int h_ok(vz_req *r) { (void)r; return 200; }
static const vz_field q_in[] = { { "kind", VZ_ENUM, 0, 0, 0, "a|b" }, { "n", VZ_INT, 0, 1, 10, 0 }, { 0 } };
static const vz_field b_in[] = {
  { "name", VZ_STR, VZ_REQUIRED, 1, 5, 0 }, { "n", VZ_INT, 0, 0, 100, 0 }, { "id", VZ_ID, VZ_NULLABLE, 0, 0, 0 },
  { "ok", VZ_BOOL, 0, 0, 0, 0 }, { "mail", VZ_EMAIL, 0, 0, 0, 0 }, { 0 } };
/* nested input: {"links":[{"label","url"}], "tags":["..."], "meta":{"note"}} */
static const vz_field link_fields[] = {
  { "label", VZ_STR, VZ_REQUIRED, 1, 5, 0 }, { "url", VZ_URL, VZ_REQUIRED, 8, 40, 0 }, { 0 } };
static const vz_field link_in = { "link", VZ_OBJ, 0, 0, 0, 0, link_fields };
static const vz_field tag_in = { "tag", VZ_STR, 0, 1, 3, 0 };
static const vz_field meta_fields[] = { { "note", VZ_STR, 0, 0, 4, 0 }, { 0 } };
static const vz_field n_in[] = {
  { "links", VZ_ARR, 0, 0, 2, 0, &link_in }, { "tags", VZ_ARR, 0, 1, 3, 0, &tag_in },
  { "meta", VZ_OBJ, VZ_NULLABLE, 0, 0, 0, meta_fields }, { "ratio", VZ_NUM, 0, -1, 1, 0 }, { 0 } };
static vz_route table[] = {
  VZ_GET("/t/things", h_ok, .query = q_in),
  VZ_POST("/t/things", h_ok, .body = b_in),
  VZ_GET("/t/things/:id", h_ok),
  VZ_GET("/t/things/:id/parts/:part", h_ok),
  VZ_ANY_METHOD("/t/static/", h_ok, .flags = VZ_PREFIX),
  VZ_POST("/t/nested", h_ok, .body = n_in),
  VZ_PUT("/t/raw", h_ok, .flags = VZ_RAW_BODY),
  VZ_GET("/", h_ok, .flags = VZ_PREFIX | VZ_FALLBACK), /* the web app's files (services/web) */
  { 0 } };

static void setup(void) {
  static int done;
  if (!done) { vz_routes_add(table); done = 1; }
}

static vz_req *mk(const char *method, const char *target) {
  setup();
  vz_arena *a = vz_arena_new(0);
  vz_req *r = vz_arena_calloc(a, sizeof *r);
  r->arena = a;
  r->method = method;
  r->path = vz_arena_strdup(a, target);
  r->query = "";
  vz_route_match(r);
  return r;
}

static void done(vz_req *r) { vz_req_free(r); }

TEST(router_matches_params_and_methods) {
  vz_req *r = mk("GET", "/t/things/42/parts/wheel?x=1");
  CHECK(r->route && r->route == &table[3]);
  CHECK_EQ_STR(vz_req_param(r, "id"), "42");
  CHECK_EQ_STR(vz_req_param(r, "part"), "wheel");
  CHECK_EQ_STR(r->query, "x=1");
  done(r);
  r = mk("HEAD", "/t/things/7");
  CHECK(r->route == &table[2]);
  done(r);
  r = mk("DELETE", "/t/things");
  CHECK(!r->route);
  CHECK_EQ_INT(r->status, 405);
  CHECK_EQ_STR(vz_route_allow(r), "GET, POST");
  done(r);
  r = mk("GET", "/t/thing");
  CHECK(!r->route);
  CHECK_EQ_INT(r->status, 404);
  done(r);
  r = mk("GET", "/t/things/");  /* an empty :id is not a match */
  CHECK(!r->route);
  done(r);
  r = mk("GET", "/t/static/css/a.css");
  CHECK(r->route == &table[4]);
  done(r);
  r = mk("GET", "/t/things/%41%42");  /* decoded path */
  CHECK_EQ_STR(vz_req_param(r, "id"), "AB");
  done(r);
}

TEST(router_refuses_unsafe_targets) {
  const char *bad[] = { "/t/../etc/passwd", "/t/%2e%2e/x", "/t/static/..", "/t/static/%2E%2e/%2e%2e/etc",
    "/t/./things", "/t/things%00", "/t/%ff", "/t/%c0%af", "/t/%ed%a0%80", "/t/%", "/t/%4", "/t/%zz",
    "/t/a\\b", "/t/%5c", "*", "http://x/t/things", "", "t/things", NULL };
  for (int i = 0; bad[i]; i++) {
    vz_req *r = mk("GET", bad[i]);
    if (r->route || r->status != 400) fprintf(stderr, "  target %s\n", bad[i]);
    CHECK(!r->route);
    CHECK_EQ_INT(r->status, 400);
    done(r);
  }
  vz_req *r = mk("GET", "/t/static/a..b/..c/.d"); /* dots inside names are fine */
  CHECK(r->route == &table[4]);
  done(r);
}

TEST(router_utf8) {
  CHECK(vz_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
  CHECK(!vz_utf8_valid("\xc0\x80", 2));       /* overlong NUL */
  CHECK(!vz_utf8_valid("\xe0\x80\xaf", 3));   /* overlong / */
  CHECK(!vz_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
  CHECK(!vz_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  CHECK(!vz_utf8_valid("\xe2\x82", 2));       /* truncated */
  CHECK(!vz_utf8_valid("\xff", 1));
  CHECK(!vz_utf8_valid("\x80", 1));
}

static int query_status(const char *target) {
  vz_req *r = mk("GET", target);
  int rc = r->route ? vz_validate_query_or_fail(r) : -1;
  int st = rc ? r->status : 0;
  done(r);
  return st;
}

TEST(router_validates_query) {
  CHECK_EQ_INT(query_status("/t/things?kind=a&n=3&limit=5&fields=id&cursor=abc"), 0);
  CHECK_EQ_INT(query_status("/t/things?"), 0);
  CHECK_EQ_INT(query_status("/t/things?kind=c"), 400);
  CHECK_EQ_INT(query_status("/t/things?n=11"), 400);
  CHECK_EQ_INT(query_status("/t/things?n=1x"), 400);
  CHECK_EQ_INT(query_status("/t/things?n=99999999999999999999999"), 400);
  CHECK_EQ_INT(query_status("/t/things?n="), 400);
  CHECK_EQ_INT(query_status("/t/things?zzz=1"), 400);
  CHECK_EQ_INT(query_status("/t/things?kind=%ff"), 400);
  CHECK_EQ_INT(query_status("/t/things?kind=%00"), 400);
  CHECK_EQ_INT(query_status("/t/things?limit=0"), 400);
  CHECK_EQ_INT(query_status("/t/things?limit=101"), 400);
}

/* Validates `json` sent to target with Content-Type ct (NULL: none). Returns 0 when
 * accepted, else the status; the error's field goes to field_out when given. */
static int body_status_at(const char *method, const char *target, const char *ct, const char *json,
                          char *field_out, size_t cap) {
  vz_req *r = mk(method, target);
  static vz_header h[1];
  h[0].name = "Content-Type";
  h[0].value = ct;
  r->headers = h;
  r->nheaders = ct ? 1 : 0;
  r->body = json;
  r->body_len = strlen(json);
  int rc = vz_validate_body_or_fail(r);
  int st = rc ? r->status : 0;
  if (field_out) {
    json_t *j = rc && r->res_body ? json_loadb(r->res_body, r->res_len, 0, NULL) : NULL;
    const char *f = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
    snprintf(field_out, cap, "%s", f ? f : "");
    json_decref(j);
  }
  done(r);
  return st;
}

static int body_status(const char *json) {
  return body_status_at("POST", "/t/things", "application/json", json, NULL, 0);
}

TEST(router_validates_body) {
  CHECK_EQ_INT(body_status("{\"name\":\"abc\",\"n\":5,\"id\":\"12\",\"ok\":true,\"mail\":\"a@b.co\"}"), 0);
  CHECK_EQ_INT(body_status("{\"name\":\"h\xc3\xa9llo\"}"), 0); /* 5 characters, 6 bytes */
  CHECK_EQ_INT(body_status("{\"name\":\"abc\",\"id\":null}"), 0);
  CHECK_EQ_INT(body_status("{}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"\"}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"toolong\"}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":1}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"n\":101}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"n\":1.5}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"n\":123456789012345678901234567890}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"id\":\"0\"}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"id\":-4}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"ok\":1}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"mail\":\"nope\"}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"extra\":1}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\",\"name\":\"b\"}"), 400);
  CHECK_EQ_INT(body_status("[1]"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"\xff\"}"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\"} trailing"), 400);
  CHECK_EQ_INT(body_status("{\"name\":\"a\\u0000b\"}"), 400);
}

TEST(router_parse_id) {
  int64_t id = 0;
  CHECK_EQ_INT(vz_parse_id("42", &id), 0);
  CHECK_EQ_INT(id, 42);
  CHECK_EQ_INT(vz_parse_id("9223372036854775807", &id), 0);
  CHECK(vz_parse_id("9223372036854775808", &id) < 0);
  CHECK(vz_parse_id("0", &id) < 0);
  CHECK(vz_parse_id("-1", &id) < 0);
  CHECK(vz_parse_id("+1", &id) < 0);
  CHECK(vz_parse_id(" 1", &id) < 0);
  CHECK(vz_parse_id("", &id) < 0);
  CHECK(vz_parse_id(NULL, &id) < 0);
}

/* A JSON route reads only JSON: another Content-Type, or none, with a body is 415 before
 * any parsing; a body-less POST needs none; VZ_RAW_BODY routes take their own types. */
TEST(router_body_needs_json_content_type) {
  const char *ok = "{\"name\":\"abc\"}";
  const char *good[] = { "application/json", "application/json; charset=utf-8", "Application/JSON",
    "application/json;charset=UTF-8", " application/json ", "application/merge-patch+json",
    "application/vnd.vidzo.v1+json; charset=utf-8", NULL };
  for (int i = 0; good[i]; i++) {
    if (body_status_at("POST", "/t/things", good[i], ok, NULL, 0)) fprintf(stderr, "  refused %s\n", good[i]);
    CHECK_EQ_INT(body_status_at("POST", "/t/things", good[i], ok, NULL, 0), 0);
  }
  const char *bad[] = { "text/plain", "text/plain;charset=UTF-8", "application/xml", "text/json",
    "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/jsonp",
    "application/json5", "application/+json", "application/a/b+json", "application/json-seq", "", NULL };
  for (int i = 0; bad[i]; i++) {
    if (body_status_at("POST", "/t/things", bad[i], ok, NULL, 0) != 415) fprintf(stderr, "  accepted %s\n", bad[i]);
    CHECK_EQ_INT(body_status_at("POST", "/t/things", bad[i], ok, NULL, 0), 415);
  }
  CHECK_EQ_INT(body_status_at("POST", "/t/things", NULL, ok, NULL, 0), 415);
  CHECK_EQ_INT(body_status_at("POST", "/t/nested", NULL, "", NULL, 0), 0); /* body-less POST */
  CHECK_EQ_INT(body_status_at("PUT", "/t/raw", "image/png", "\x89PNG", NULL, 0), 0);
  CHECK_EQ_INT(body_status_at("PUT", "/t/raw", NULL, "anything", NULL, 0), 0);
  vz_req *r = mk("POST", "/t/things");
  r->body = ok;
  r->body_len = strlen(ok);
  CHECK_EQ_INT(vz_validate_body_or_fail(r), 415);
  CHECK(r->res_body && strstr(r->res_body, "\"code\":\"unsupported_media_type\""));
  done(r);
}

static int nested(const char *json, char *field, size_t cap) {
  return body_status_at("POST", "/t/nested", "application/json", json, field, cap);
}

/* Arrays and objects are checked inside with the same rules; an error names the path. */
TEST(router_validates_nested_body) {
  char f[64];
  CHECK_EQ_INT(nested("{\"links\":[{\"label\":\"a\",\"url\":\"https://e.co/\"}],\"tags\":[\"x\"],"
                      "\"meta\":{\"note\":\"hi\"},\"ratio\":0.5}", f, sizeof f), 0);
  CHECK_EQ_INT(nested("{\"links\":[],\"meta\":null}", f, sizeof f), 0);
  CHECK_EQ_INT(nested("{\"links\":[{\"label\":\"a\",\"url\":\"https://e.co/\"},{\"label\":\"toolong\",\"url\":\"https://e.co/\"}]}",
                      f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[1].label");
  CHECK_EQ_INT(nested("{\"links\":[{\"label\":\"a\",\"url\":\"javascript:1\"}]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[0].url");
  CHECK_EQ_INT(nested("{\"links\":[{\"label\":\"a\"}]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[0].url");
  CHECK_EQ_INT(nested("{\"links\":[{\"label\":\"a\",\"url\":\"https://e.co/\",\"x\":1}]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[0].x");
  CHECK_EQ_INT(nested("{\"links\":[\"https://e.co/\"]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[0]");
  CHECK_EQ_INT(nested("{\"links\":[null]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "links[0]");
  CHECK_EQ_INT(nested("{\"links\":[{},{},{}]}", f, sizeof f), 400); /* 3 > max 2 items */
  CHECK_EQ_STR(f, "links");
  CHECK_EQ_INT(nested("{\"tags\":[]}", f, sizeof f), 400); /* min 1 item */
  CHECK_EQ_STR(f, "tags");
  CHECK_EQ_INT(nested("{\"tags\":[\"abcd\"]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "tags[0]");
  CHECK_EQ_INT(nested("{\"tags\":[\"a\",2]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "tags[1]");
  CHECK_EQ_INT(nested("{\"meta\":{\"note\":\"12345\"}}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "meta.note");
  CHECK_EQ_INT(nested("{\"meta\":{\"other\":1}}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "meta.other");
  CHECK_EQ_INT(nested("{\"meta\":[]}", f, sizeof f), 400);
  CHECK_EQ_STR(f, "meta");
  CHECK_EQ_INT(nested("{\"ratio\":1e300}", f, sizeof f), 400); /* no undefined cast on the way */
  CHECK_EQ_STR(f, "ratio");
  CHECK_EQ_INT(nested("{\"ratio\":-1.5}", f, sizeof f), 400);
}

#ifdef VZ_DEBUG
#include "core/fault.h"
#include "core/json.h"
/* A body is taken exactly or refused with 503: under memory pressure jansson's parser
 * dropped a byte and went on, so "https://two.example/x" was accepted as "two.exmple". */
TEST(router_body_exact_or_503_under_allocation_failure) {
  vz_json_init();
  static const char body[] = "{\"links\":[{\"label\":\"Store\",\"url\":\"https://two.example/x\"}],\"tags\":[\"ab\"]}";
  int refused = 0;
  for (long n = 1; n < 200; n++) {
    vz_req *r = mk("POST", "/t/nested");
    static vz_header h[1] = { { "Content-Type", "application/json" } };
    r->headers = h;
    r->nheaders = 1;
    r->body = body;
    r->body_len = sizeof body - 1;
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    int rc = vz_validate_body_or_fail(r);
    vz_fault_disarm();
    if (rc) {
      if (r->status != 503) fprintf(stderr, "  alloc %ld: %d %.*s\n", n, r->status, (int)r->res_len, r->res_body);
      CHECK_EQ_INT(r->status, 503);
      refused++;
    } else {
      json_t *link = json_array_get(json_object_get(r->json, "links"), 0);
      CHECK_EQ_STR(json_string_value(json_object_get(link, "url")), "https://two.example/x");
    }
    done(r);
    if (!rc && n > refused + 1) break;
  }
  CHECK(refused > 3);
}
#endif

TEST(router_fallback_only_where_no_route_and_no_api_namespace) {
  vz_req *r = mk("GET", "/watch/42");          /* an app path: the fallback */
  CHECK(r->route == &table[7]);
  done(r);
  r = mk("HEAD", "/");
  CHECK(r->route == &table[7]);
  done(r);
  r = mk("GET", "/t/things/9");                 /* a real route still wins, whatever the order */
  CHECK(r->route == &table[2]);
  done(r);
  r = mk("GET", "/t/nope");                     /* inside a route's namespace: its 404 */
  CHECK(!r->route);
  CHECK_EQ_INT(r->status, 404);
  done(r);
  r = mk("GET", "/t");
  CHECK(!r->route);
  done(r);
  r = mk("POST", "/watch/42");                  /* the fallback is GET only */
  CHECK(!r->route);
  CHECK_EQ_INT(r->status, 404);
  done(r);
  r = mk("PUT", "/t/things");                   /* Allow never names the fallback's GET twice or alone */
  CHECK_EQ_INT(r->status, 405);
  CHECK_EQ_STR(vz_route_allow(r), "GET, POST");
  done(r);
  r = mk("GET", "/t/raw");                      /* PUT-only route: 405 without GET in Allow */
  CHECK_EQ_INT(r->status, 405);
  CHECK_EQ_STR(vz_route_allow(r), "PUT");
  done(r);
}
