/* streams: the state machine table, RFC 3339 times, nginx's form bodies, ingest keys. */
#include <string.h>

#include "services/streams/internal.h"
#include "../../test.h"

TEST(streams_transitions_legal_only) {
  int ok[5][5] = { { 0 } };
  ok[STREAMS_SCHEDULED][STREAMS_LIVE] = ok[STREAMS_SCHEDULED][STREAMS_CANCELLED] = ok[STREAMS_LIVE][STREAMS_ENDED] = 1;
  for (int from = 0; from < 5; from++)
    for (int to = 0; to < 5; to++) CHECK_EQ_INT(streams_transition_ok(from, to), ok[from][to]);
  CHECK_EQ_INT(streams_transition_ok(STREAMS_ENDED, STREAMS_LIVE), 0);   /* ended is final */
  CHECK_EQ_INT(streams_transition_ok(STREAMS_LIVE, STREAMS_LIVE), 0);    /* staying put is no move */
  CHECK_EQ_STR(streams_status_name(STREAMS_LIVE), "live");
  CHECK_EQ_STR(streams_status_name(9), "?");
  CHECK_EQ_INT(streams_status_parse("cancelled"), STREAMS_CANCELLED);
  CHECK_EQ_INT(streams_status_parse("LIVE"), 0);
  CHECK_EQ_INT(streams_status_parse(NULL), 0);
}

TEST(streams_parse_time_rfc3339) {
  int64_t ms;
  CHECK_EQ_INT(streams_parse_time("1970-01-01T00:00:00Z", &ms), 0);
  CHECK(ms == 0);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T18:00:00.250Z", &ms), 0);
  CHECK(ms == 1796320800250LL);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T19:00:00+01:00", &ms), 0);
  CHECK(ms == 1796320800000LL);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T17:30:00-00:30", &ms), 0);
  CHECK(ms == 1796320800000LL);
  CHECK_EQ_INT(streams_parse_time("2024-02-29T00:00:00Z", &ms), 0);            /* leap day */
  CHECK_EQ_INT(streams_parse_time("2023-02-29T00:00:00Z", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("2026-13-01T00:00:00Z", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T24:00:00Z", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T18:00:00", &ms), -1);              /* no zone */
  CHECK_EQ_INT(streams_parse_time("2026-12-03T18:00:00Zjunk", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("2026-12-03T18:00:00.Z", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("tomorrow", &ms), -1);
  CHECK_EQ_INT(streams_parse_time("", &ms), -1);
  CHECK_EQ_INT(streams_parse_time(NULL, &ms), -1);
}

TEST(streams_form_fields) {
  const char *b = "call=publish&app=live&name=live_a%2Bb+c&clientid=42&empty=&bad=%zz";
  char out[32];
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "name", out, sizeof out), 0);
  CHECK_EQ_STR(out, "live_a+b c");
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "clientid", out, sizeof out), 0);
  CHECK_EQ_STR(out, "42");
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "empty", out, sizeof out), 0);
  CHECK_EQ_STR(out, "");
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "bad", out, sizeof out), -1);      /* malformed escape */
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "nam", out, sizeof out), -1);      /* whole names only */
  CHECK_EQ_INT(streams_form_get(b, strlen(b), "app", out, 4), -1);               /* "live" + NUL > 4 */
  const char *nul = "name=a%00b";
  CHECK_EQ_INT(streams_form_get(nul, strlen(nul), "name", out, sizeof out), -1); /* no NUL inside */
  CHECK_EQ_INT(streams_form_get("name=abc", 6, "name", out, sizeof out), 0);     /* length-bounded */
  CHECK_EQ_STR(out, "a");
}

TEST(streams_keys_fresh_and_hashed) {
  char k1[STREAMS_KEY_LEN + 1], k2[STREAMS_KEY_LEN + 1], h1[STREAMS_KEY_HASH_HEX], h2[STREAMS_KEY_HASH_HEX], h[STREAMS_KEY_HASH_HEX];
  CHECK_EQ_INT(streams_key_new(k1, h1), 0);
  CHECK_EQ_INT(streams_key_new(k2, h2), 0);
  CHECK_EQ_INT((int)strlen(k1), STREAMS_KEY_LEN);
  CHECK(strncmp(k1, "live_", 5) == 0);
  CHECK(strcmp(k1, k2) != 0);
  CHECK(strspn(k1 + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == STREAMS_KEY_LEN - 5);
  streams_key_hash(k1, h);
  CHECK_EQ_STR(h, h1);
  CHECK_EQ_INT((int)strlen(h1), 64);
}
