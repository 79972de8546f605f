/* json: whatever allocation fails, vz_json_loadb gives the exact document or NULL with
 * oom set, never a document missing a byte (jansson's json_loadb does: "two.example"
 * came back "two.exmple"), and vz_json_dumps gives valid JSON or NULL. */
#include "../test.h"

#ifdef VZ_DEBUG
#include <stdlib.h>

#include "core/fault.h"
#include "core/json.h"

static const char doc[] = "{\"links\":[{\"label\":\"Store\",\"url\":\"https://two.example/store\"}],\"amount\":100000,"
                          "\"note\":\"a longer string that needs the buffer to grow twice or more\"}";

TEST(json_loadb_exact_or_nothing) {
  vz_json_init();
  int nulls = 0;
  for (long n = 1; n < 200; n++) {
    json_error_t err;
    int oom = -1;
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    json_t *j = vz_json_loadb(doc, sizeof doc - 1, 0, &err, &oom);
    vz_fault_disarm();
    if (!j) {
      CHECK_EQ_INT(oom, 1);
      nulls++;
      continue;
    }
    CHECK_EQ_INT(oom, 0);
    char *back = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int same = back && strcmp(back, doc) == 0;
    if (!same) fprintf(stderr, "  alloc %ld: %s\n", n, back ? back : "(null)");
    free(back);
    CHECK(same);
    if (n > nulls + 1) break; /* past the last allocation of the parse: nothing failed */
  }
  CHECK(nulls > 5);
  json_error_t err;
  int oom = -1;
  CHECK(vz_json_loadb("{\"a\":", 5, 0, &err, &oom) == NULL);
  CHECK_EQ_INT(oom, 0); /* bad JSON is not out of memory */
}

TEST(json_dumps_valid_or_nothing) {
  vz_json_init();
  json_t *j = json_loads(doc, 0, NULL);
  CHECK(j);
  for (long n = 1; n < 50; n++) {
    size_t len = 0;
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    char *s = vz_json_dumps(j, &len);
    vz_fault_disarm();
    if (s) {
      CHECK_EQ_INT(len, strlen(doc));
      CHECK_EQ_STR(s, doc);
    }
    free(s);
  }
  json_decref(j);
}
#endif
