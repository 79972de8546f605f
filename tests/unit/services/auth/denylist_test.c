/* Invariant: a denied session refuses exactly its own tokens; other sessions and tokens
 * without a session are untouched; entries vanish after the token lifetime; thousands
 * of entries (the table grows and rebuilds) are all still found. */
#include "../../test.h"
#include "services/auth/denylist.h"

TEST(denylist_sessions) {
  denylist_free();
  CHECK_EQ_INT(denylist_init(NULL, 60), 0);
  CHECK_EQ_INT(denylist_rejects(70), 0); /* empty: nothing refused */
  denylist_session(70);
  CHECK_EQ_INT(denylist_rejects(70), 1);
  CHECK_EQ_INT(denylist_rejects(71), 0); /* the user's other session */
  CHECK_EQ_INT(denylist_rejects(0), 0);  /* no session id */
  for (int64_t i = 1000; i < 6000; i++) denylist_session(i);
  int found = 0;
  for (int64_t i = 1000; i < 6000; i++) found += denylist_rejects(i);
  CHECK_EQ_INT(found, 5000);
  CHECK_EQ_INT(denylist_rejects(70), 1); /* still there after the growth */
  CHECK_EQ_INT(denylist_rejects(6000), 0);
  denylist_free();
}

TEST(denylist_entries_expire) {
  denylist_free();
  CHECK_EQ_INT(denylist_init(NULL, 0), 0); /* a lifetime of 0 s: gone at once */
  denylist_session(5);
  CHECK_EQ_INT(denylist_rejects(5), 0);
  denylist_free();
}
