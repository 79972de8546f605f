/* The contract generator (core/contract.c): each declared field type becomes the JSON
 * Schema of what router.c enforces; a listed row without its contract fields is named in
 * the problems while the document stays whole; unlisted rows stay out; derived error
 * statuses follow the flags. */
#include <stdlib.h>

#include "../test.h"
#include "core/contract.h"
#include "core/http.h"

static int h_ok(vz_req *r) { (void)r; return 200; }

static char *dump(const json_t *v) { return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS); }

#define CHECK_SCHEMA(field_, in_query_, want_)                                             \
  do {                                                                                   \
    vz_field f_ = field_;                                                                \
    json_t *s_ = vz_field_schema(&f_, in_query_);                                        \
    char *t_ = dump(s_);                                                                 \
    CHECK_EQ_STR(t_, want_);                                                             \
    free(t_);                                                                            \
    json_decref(s_);                                                                     \
  } while (0)

TEST(contract_field_schemas_say_what_the_validator_enforces) {
  CHECK_SCHEMA(((vz_field){ "q", VZ_STR, 0, 1, 80, 0 }), 0, "{\"maxLength\":80,\"minLength\":1,\"type\":\"string\"}");
  CHECK_SCHEMA(((vz_field){ "bio", VZ_STR, 0, 0, 500, 0 }), 0, "{\"maxLength\":500,\"type\":\"string\"}");
  CHECK_SCHEMA(((vz_field){ "n", VZ_INT, 0, 0, 9, 0 }), 0, "{\"maximum\":9,\"minimum\":0,\"type\":\"integer\"}");
  CHECK_SCHEMA(((vz_field){ "k", VZ_ENUM, VZ_NULLABLE, 0, 0, "a|b" }), 0,
               "{\"enum\":[\"a\",\"b\",null],\"type\":[\"string\",\"null\"]}");
  CHECK_SCHEMA(((vz_field){ "id", VZ_ID, 0, 0, 0, 0 }), 1,
               "{\"maxLength\":19,\"pattern\":\"^0*[1-9][0-9]*$\",\"type\":\"string\"}");
  CHECK_SCHEMA(((vz_field){ "id", VZ_ID, 0, 0, 0, 0 }), 0,
               "{\"maxLength\":19,\"minimum\":1,\"pattern\":\"^0*[1-9][0-9]*$\",\"type\":[\"string\",\"integer\"]}");
  CHECK_SCHEMA(((vz_field){ "b", VZ_BOOL, 0, 0, 0, 0 }), 1, "{\"enum\":[\"true\",\"false\",\"1\",\"0\"],\"type\":\"string\"}");
  static const vz_field inner[] = { { "label", VZ_STR, VZ_REQUIRED, 1, 40, 0 }, { 0 } };
  static const vz_field el = { "x", VZ_OBJ, 0, 0, 0, 0, inner };
  CHECK_SCHEMA(((vz_field){ "links", VZ_ARR, 0, 0, 10, 0, &el }), 0,
               "{\"items\":{\"additionalProperties\":false,\"properties\":{\"label\":{\"maxLength\":40,\"minLength\":1,"
               "\"type\":\"string\"}},\"required\":[\"label\"],\"type\":\"object\"},\"maxItems\":10,\"type\":\"array\"}");
}

TEST(contract_names_rows_without_their_fields_and_leaves_unlisted_ones_out) {
  static const vz_field body[] = { { "name", VZ_STR, VZ_REQUIRED, 1, 80, 0 }, { 0 } };
  static vz_route table[] = {
    VZ_GET("/t/contract/bare", h_ok),
    VZ_POST("/t/contract/things/:id", h_ok, .op = "makeThing", .summary = "Make a thing", .res = "Error", .ok = 201,
            .errors = "409 200", .body = body, .flags = VZ_ROLE_ADMIN, .rate_per_min = 5),
    VZ_GET("/t/contract/hidden", h_ok, .flags = VZ_UNLISTED),
    VZ_GET("/t/contract/ghost", h_ok, .op = "ghost", .summary = "Ghost", .res = "NoSuchSchema"),
    { 0 } };
  CHECK_EQ_INT(vz_routes_add_tagged(table, "tests"), 0);
  json_t *problems = json_array();
  json_t *doc = vz_openapi(NULL, problems);
  CHECK(doc != NULL);
  char *p = dump(problems);
  CHECK(strstr(p, "route GET /t/contract/bare: no .op"));
  CHECK(strstr(p, "route GET /t/contract/bare: no .summary"));
  CHECK(strstr(p, "route GET /t/contract/bare: no .res"));
  CHECK(strstr(p, "route GET /t/contract/ghost: no component schema NoSuchSchema"));
  CHECK(strstr(p, "service tests has no .about"));
  CHECK(!strstr(p, "makeThing"));
  free(p);
  json_t *paths = json_object_get(doc, "paths");
  CHECK(json_object_get(paths, "/t/contract/bare") != NULL); /* still in the document */
  CHECK(json_object_get(paths, "/t/contract/hidden") == NULL);
  json_t *op = json_object_get(json_object_get(paths, "/t/contract/things/{id}"), "post");
  CHECK(op != NULL);
  json_t *resp = json_object_get(op, "responses");
  const char *want[] = { "200", "201", "400", "401", "403", "404", "409", "413", "415", "429", "500", "503" };
  CHECK_EQ_INT((int)json_object_size(resp), (int)(sizeof want / sizeof *want));
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) CHECK(json_object_get(resp, want[i]) != NULL);
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(op, "x-roles"), 0)), "admin");
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(op, "tags"), 0)), "tests");
  CHECK(json_array_size(json_object_get(op, "security")) == 1);
  json_t *param = json_array_get(json_object_get(op, "parameters"), 0);
  CHECK_EQ_STR(json_string_value(json_object_get(param, "name")), "id");
  CHECK_EQ_STR(json_string_value(json_object_get(param, "in")), "path");
  json_t *bare = json_object_get(json_object_get(paths, "/t/contract/bare"), "get");
  CHECK(json_is_array(json_object_get(bare, "security")) && json_array_size(json_object_get(bare, "security")) == 0);
  json_decref(doc);
  json_decref(problems);
}
