/* reply: a cursor survives encode/decode unchanged and a forged one is refused with the
 * envelope; every failure is the one envelope {"error":{code,message,field?,request_id}}. */
#include <stdlib.h>
#include "core/http.h"
#include "core/conn.h"
#include "../test.h"

static vz_req *mk(void) {
  vz_arena *a = vz_arena_new(0);
  vz_req *r = vz_arena_calloc(a, sizeof *r);
  r->arena = a;
  r->query = "";
  snprintf(r->request_id, sizeof r->request_id, "rid-1");
  return r;
}

TEST(reply_cursor_round_trip) {
  const char *plain[] = { "0:1", "12:345678901234567890", "a", "ab", "abc", "abcd", "position:9223372036854775807", NULL };
  for (int i = 0; plain[i]; i++) {
    vz_req *r = mk();
    char *c = vz_cursor_encode(r->arena, plain[i]);
    CHECK(c);
    CHECK(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(c));
    CHECK_EQ_STR(vz_cursor_decode_or_fail(r, c), plain[i]);
    vz_req_free(r);
  }
}

TEST(reply_cursor_forged) {
  const char *bad[] = { "", "!!", "a b", "AA", "A", "%2F", NULL };
  for (int i = 0; bad[i]; i++) {
    vz_req *r = mk();
    CHECK(vz_cursor_decode_or_fail(r, bad[i]) == NULL);
    CHECK_EQ_INT(r->status, 400);
    CHECK(strstr(r->res_body, "\"field\":\"cursor\""));
    vz_req_free(r);
  }
}

TEST(reply_error_envelope) {
  vz_req *r = mk();
  CHECK_EQ_INT(vz_fail(r, 409, "conflict", "slug", "slug %s is taken", "a\"b"), 409);
  json_error_t e;
  json_t *j = json_loadb(r->res_body, r->res_len, 0, &e);
  CHECK(j);
  json_t *err = json_object_get(j, "error");
  CHECK_EQ_STR(json_string_value(json_object_get(err, "code")), "conflict");
  CHECK_EQ_STR(json_string_value(json_object_get(err, "field")), "slug");
  CHECK_EQ_STR(json_string_value(json_object_get(err, "message")), "slug a\"b is taken");
  CHECK_EQ_STR(json_string_value(json_object_get(err, "request_id")), "rid-1");
  json_decref(j);
  CHECK_EQ_STR(r->res_type, "application/json");
  vz_req_free(r);
}

TEST(reply_header_injection_refused) {
  vz_req *r = mk();
  CHECK(vz_add_header(r, "Location", "/ok") == 0);
  CHECK(vz_add_header(r, "Location", "/x\r\nSet-Cookie: a=b") < 0);
  CHECK_EQ_INT(r->nres_headers, 1);
  vz_req_free(r);
}

TEST(reply_json_id_and_time) {
  json_t *id = vz_json_id(9223372036854775807LL);
  CHECK_EQ_STR(json_string_value(id), "9223372036854775807");
  json_decref(id);
  json_t *t = vz_json_time(1764072000123LL);
  CHECK_EQ_STR(json_string_value(t), "2025-11-25T12:00:00.123Z");
  json_decref(t);
}

#ifdef VZ_DEBUG
#include "core/fault.h"
#include "core/json.h"
/* Whatever allocation fails while a reply is encoded, the body is valid JSON: the reply
 * itself or the error envelope (jansson's json_dumps wrote {"data":{":"...}} here). */
TEST(reply_json_valid_under_every_allocation_failure) {
  vz_json_init(); /* the jansson allocator with its fault point */
  int failed = 0;
  for (long n = 1; n < 60; n++) {
    vz_req *r = mk();
    json_t *body = json_pack("{s:{s:s, s:i, s:[i, {s:s}]}}", "data", "status", "sent_if_account_exists",
                             "resend_after_s", 60, "more", 1, "k", "v");
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    vz_reply_json(r, 200, body);
    vz_fault_disarm();
    json_t *back = r->res_body ? json_loadb(r->res_body, r->res_len, 0, NULL) : NULL;
    if (!back) { fprintf(stderr, "  alloc %ld: %.*s\n", n, (int)r->res_len, r->res_body); failed = 1; }
    else CHECK(r->status == 200 ? json_object_get(json_object_get(back, "data"), "status") != NULL
                                : json_object_get(back, "error") != NULL);
    json_decref(back);
    vz_req_free(r);
  }
  CHECK(!failed);
}

/* An error whose envelope cannot be built is a 500 "internal", never a 403 saying so. */
TEST(reply_error_status_matches_its_body_under_allocation_failure) {
  vz_json_init();
  for (long n = 1; n < 40; n++) {
    vz_req *r = mk();
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    vz_fail(r, 403, "blocked", "id", "you cannot follow this user");
    vz_fault_disarm();
    json_t *back = json_loadb(r->res_body, r->res_len, 0, NULL);
    const char *code = json_string_value(json_object_get(json_object_get(back, "error"), "code"));
    CHECK(code);
    if (r->status == 403) CHECK_EQ_STR(code, "blocked");
    else {
      CHECK_EQ_INT(r->status, 500);
      CHECK_EQ_STR(code, "internal");
    }
    json_decref(back);
    vz_req_free(r);
  }
}
#endif
