/* lib/yaml: the contract's YAML printer keeps strings YAML would misread (numbers,
 * booleans, "a: b", comments, empty) quoted, writes empty containers inline, and lists
 * block style, so a document reads back as the JSON it came from. */
#include <stdlib.h>

#include "../test.h"
#include "lib/yaml.h"

TEST(yaml_quotes_what_yaml_would_misread) {
  json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:{}, s:[s,i], s:b, s:n}", "plain", "hello world", "num", "3.1.0",
                        "bool", "yes", "colon", "a: b", "hash", "x #y", "empty", "", "ea", "eo", "list", "a", 1, "t", 1,
                        "z");
  char *y = vz_yaml_dump(v);
  CHECK_EQ_STR(y, "plain: hello world\nnum: \"3.1.0\"\nbool: \"yes\"\ncolon: \"a: b\"\nhash: \"x #y\"\nempty: \"\"\n"
                  "ea: []\neo: {}\nlist:\n- a\n- 1\nt: true\nz: null\n");
  free(y);
  json_decref(v);
}
