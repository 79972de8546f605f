/* breaker: N failed attempts in a row, or a failed share of a full window, open it; open
 * fails fast until the cool-down, then lets exactly one probe through; the probe's success
 * closes it, its failure reopens it for a new cool-down, and an answer from an attempt that
 * started before it opened changes nothing. The clock is made up, so nothing here sleeps. */
#include "integrations/breaker.h"
#include "../test.h"

static int allow(integ_breaker *b, uint64_t now, int *probe) { return integ_breaker_allow(b, now, probe); }

TEST(integ_breaker_opens_after_consecutive_failures) {
  integ_breaker b;
  int probe;
  integ_breaker_init(&b, 3, 60000, 1000, 0, 5000);
  CHECK_EQ_INT(integ_breaker_record(&b, 10, -1, 0), 0);
  CHECK_EQ_INT(integ_breaker_record(&b, 11, -1, 0), 0);
  CHECK_EQ_INT(integ_breaker_record(&b, 12, 1, 0), 0);  /* a success ends the streak */
  CHECK_EQ_INT(integ_breaker_record(&b, 13, -1, 0), 0);
  CHECK_EQ_INT(integ_breaker_record(&b, 14, -1, 0), 0);
  CHECK_EQ_INT(integ_breaker_record(&b, 15, 0, 0), 0);  /* neither: no effect */
  CHECK_EQ_INT(integ_breaker_record(&b, 16, -1, 0), 1); /* third in a row opens it */
  CHECK_EQ_INT(b.state, INTEG_OPEN);
  CHECK_EQ_INT(allow(&b, 17, &probe), 0);
  CHECK_EQ_INT(integ_breaker_wait_ms(&b, 1016), 4000);
}

TEST(integ_breaker_opens_on_failure_share) {
  integ_breaker b;
  integ_breaker_init(&b, 100, 10000, 10, 50, 5000);
  for (int i = 0; i < 9; i++) CHECK_EQ_INT(integ_breaker_record(&b, 100 + i, i % 2 ? -1 : 1, 0), 0);
  CHECK_EQ_INT(b.state, INTEG_CLOSED); /* 4 of 9: under min_requests anyway */
  CHECK_EQ_INT(integ_breaker_record(&b, 110, -1, 0), 1); /* 5 of 10 = 50% */
  CHECK_EQ_INT(b.state, INTEG_OPEN);
  /* A new window forgets the old share. */
  integ_breaker_init(&b, 100, 1000, 4, 50, 5000);
  integ_breaker_record(&b, 0, -1, 0);
  integ_breaker_record(&b, 1, -1, 0);
  integ_breaker_record(&b, 2, -1, 0);
  for (int i = 0; i < 3; i++) integ_breaker_record(&b, 1500 + i, 1, 0);
  CHECK_EQ_INT(integ_breaker_record(&b, 1600, -1, 0), 0); /* 1 of 4 in this window */
  CHECK_EQ_INT(b.state, INTEG_CLOSED);
}

TEST(integ_breaker_half_open_one_probe) {
  integ_breaker b;
  int probe = -1;
  integ_breaker_init(&b, 1, 0, 0, 0, 1000);
  CHECK_EQ_INT(integ_breaker_record(&b, 0, -1, 0), 1);
  CHECK_EQ_INT(allow(&b, 999, &probe), 0);
  CHECK_EQ_INT(allow(&b, 1000, &probe), 1);
  CHECK_EQ_INT(probe, 1);
  CHECK_EQ_INT(b.state, INTEG_HALF_OPEN);
  CHECK_EQ_INT(allow(&b, 1001, &probe), 0); /* one probe at a time */
  /* A late success from before the breaker opened does not close it. */
  CHECK_EQ_INT(integ_breaker_record(&b, 1002, 1, 0), 0);
  CHECK_EQ_INT(b.state, INTEG_HALF_OPEN);
  /* The probe fails: open again for a whole new cool-down. */
  CHECK_EQ_INT(integ_breaker_record(&b, 1100, -1, 1), 1);
  CHECK_EQ_INT(b.state, INTEG_OPEN);
  CHECK_EQ_INT(allow(&b, 2000, &probe), 0);
  CHECK_EQ_INT(integ_breaker_wait_ms(&b, 2000), 100);
  /* A probe that never reached the remote hands its turn back. */
  CHECK_EQ_INT(allow(&b, 2100, &probe), 1);
  CHECK_EQ_INT(integ_breaker_record(&b, 2101, 0, 1), 0);
  CHECK_EQ_INT(b.state, INTEG_HALF_OPEN);
  CHECK_EQ_INT(allow(&b, 2102, &probe), 1);
  CHECK_EQ_INT(probe, 1);
  /* Its success closes the breaker and clears the counts. */
  CHECK_EQ_INT(integ_breaker_record(&b, 2200, 1, 1), 0);
  CHECK_EQ_INT(b.state, INTEG_CLOSED);
  CHECK_EQ_INT(allow(&b, 2201, &probe), 1);
  CHECK_EQ_INT(probe, 0);
  CHECK_EQ_INT(integ_breaker_wait_ms(&b, 2201), 0);
}
