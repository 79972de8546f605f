/* forwarded: with N trusted proxies the client is the Nth X-Forwarded-For entry from the
 * right; entries the client wrote (further left) never win, garbage is never taken. */
#include <stdio.h>
#include <string.h>
#include "core/forwarded.h"
#include "../test.h"

static const char *pick(const char *xff, int hops) {
  static char out[64];
  return vz_forwarded_client(xff, hops, out, sizeof out) == 0 ? out : "-";
}

TEST(forwarded_counts_from_the_right) {
  CHECK_EQ_STR(pick("203.0.113.7", 1), "203.0.113.7");
  CHECK_EQ_STR(pick("6.6.6.6, 203.0.113.7", 1), "203.0.113.7");   /* spoofed entry ignored */
  CHECK_EQ_STR(pick("6.6.6.6,203.0.113.7, 10.0.0.2", 2), "203.0.113.7");
  CHECK_EQ_STR(pick("203.0.113.7", 3), "203.0.113.7");            /* shorter than the hops */
  CHECK_EQ_STR(pick("  2001:db8::1 \t", 1), "2001:db8::1");
}

TEST(forwarded_refuses_what_is_not_an_address) {
  CHECK_EQ_STR(pick("", 1), "-");
  CHECK_EQ_STR(pick("1.2.3.4, evil", 1), "-");
  CHECK_EQ_STR(pick("1.2.3.4, ", 1), "-");
  CHECK_EQ_STR(pick("1.2.3.4:80", 1), "-");
  CHECK_EQ_STR(pick("<script>", 1), "-");
  CHECK_EQ_STR(pick("1.2.3.4", 0), "-");
  char many[4096];
  size_t n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(many + n, sizeof many - n, "9.9.9.9,");
  snprintf(many + n, sizeof many - n, "198.51.100.1");
  CHECK_EQ_STR(pick(many, 1), "198.51.100.1");
  CHECK_EQ_STR(pick(many, 2), "9.9.9.9");
}
