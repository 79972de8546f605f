/* lib: base64 round-trips both alphabets and refuses junk, padding where it does not
 * belong, and short buffers; UTF-8 refuses overlongs, surrogates and truncation; the
 * monotonic clock never goes back. */
#include <string.h>
#include "lib/base64.h"
#include "lib/clock.h"
#include "lib/utf8.h"
#include "../test.h"

TEST(lib_base64_round_trips_and_vectors) {
  char out[64];
  unsigned char bin[64];
  /* RFC 4648 section 10 test vectors */
  CHECK_EQ_INT(vz_b64_encode("foobar", 6, out, sizeof out, VZ_B64_STD), 8);
  CHECK_EQ_STR(out, "Zm9vYmFy");
  CHECK_EQ_INT(vz_b64_encode("fooba", 5, out, sizeof out, VZ_B64_STD), 8);
  CHECK_EQ_STR(out, "Zm9vYmE=");
  CHECK_EQ_INT(vz_b64_encode("fo", 2, out, sizeof out, VZ_B64_URL), 3);
  CHECK_EQ_STR(out, "Zm8");
  CHECK_EQ_INT(vz_b64_encode("", 0, out, sizeof out, VZ_B64_URL), 0);
  const unsigned char hi[3] = { 0xfb, 0xff, 0xfe };
  vz_b64_encode(hi, 3, out, sizeof out, VZ_B64_URL);
  CHECK_EQ_STR(out, "-__-");
  CHECK_EQ_INT(vz_b64_decode("-__-", 4, bin, sizeof bin, VZ_B64_URL), 3);
  CHECK(memcmp(bin, hi, 3) == 0);
  CHECK_EQ_INT(vz_b64_decode("Zm9vYmE=", 8, bin, sizeof bin, VZ_B64_STD), 5);
  CHECK(memcmp(bin, "fooba", 5) == 0);
  CHECK_EQ_INT((int)vz_b64_len(5, VZ_B64_STD), 8);
  CHECK_EQ_INT((int)vz_b64_len(5, VZ_B64_URL), 7);
}

TEST(lib_base64_refuses_what_it_did_not_make) {
  unsigned char bin[8];
  char small[4];
  CHECK_EQ_INT(vz_b64_decode("Zm9v!", 5, bin, sizeof bin, VZ_B64_URL), -1);   /* junk */
  CHECK_EQ_INT(vz_b64_decode("Zm8=", 4, bin, sizeof bin, VZ_B64_URL), -1);    /* padding in url */
  CHECK_EQ_INT(vz_b64_decode("-__-", 4, bin, sizeof bin, VZ_B64_STD), -1);    /* wrong alphabet */
  CHECK_EQ_INT(vz_b64_decode("Zm9vYmFyZm9vYmFy", 16, bin, 4, VZ_B64_STD), -1); /* too long for out */
  CHECK_EQ_INT(vz_b64_encode("foobar", 6, small, sizeof small, VZ_B64_STD), -1);
}

TEST(lib_utf8_strict) {
  CHECK(vz_utf8_valid("h\xc3\xa9llo \xf0\x9f\x8e\xa5", 11));
  CHECK(!vz_utf8_valid("\xc0\xaf", 2));            /* overlong '/' */
  CHECK(!vz_utf8_valid("\xed\xa0\x80", 3));        /* surrogate */
  CHECK(!vz_utf8_valid("\xf4\x90\x80\x80", 4));    /* past U+10FFFF */
  CHECK(!vz_utf8_valid("\xe2\x82", 2));            /* truncated */
  CHECK_EQ_INT((int)vz_utf8_chars("h\xc3\xa9\xf0\x9f\x8e\xa5"), 3);
}

TEST(lib_clock_monotonic) {
  uint64_t a = vz_mono_ns(), b = vz_mono_ns();
  CHECK(b >= a);
  CHECK(vz_wall_ms() > 1700000000000LL);
  CHECK(vz_mono_ms() == vz_mono_ns() / 1000000ull || vz_mono_ms() + 1 >= vz_mono_ns() / 1000000ull);
}
