/* Invariant: TOTP matches the RFC 6238 appendix B SHA-1 vectors, base32 round-trips per
 * RFC 4648, and a code is accepted within one step of drift and only once. */
#include <stdint.h>

#include "../../test.h"
#include "services/auth/totp.h"

static const unsigned char rfc_key[] = "12345678901234567890";

TEST(totp_rfc6238_vectors) {
  static const struct { int64_t t; uint32_t code; } v[] = {
      {59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
      {1234567890, 89005924}, {2000000000, 69279037}, {20000000000LL, 65353130}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    CHECK_EQ_INT(totp_at(rfc_key, 20, v[i].t, 8), v[i].code);
  CHECK_EQ_INT(totp_at(rfc_key, 20, 59, 6), 287082);
}

TEST(totp_base32) {
  char b[64];
  unsigned char raw[64];
  CHECK_EQ_INT(base32_encode(rfc_key, 20, b, sizeof b), 32);
  CHECK_EQ_STR(b, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  CHECK_EQ_INT(base32_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", raw, sizeof raw), 20);
  CHECK(memcmp(raw, rfc_key, 20) == 0);
  /* RFC 4648 10: BASE32("foobar") = "MZXW6YTBOI======" */
  CHECK_EQ_INT(base32_encode((const unsigned char *)"foobar", 6, b, sizeof b), 10);
  CHECK_EQ_STR(b, "MZXW6YTBOI");
  CHECK_EQ_INT(base32_decode("MZXW6YTBOI======", raw, sizeof raw), 6);
  CHECK(memcmp(raw, "foobar", 6) == 0);
  CHECK_EQ_INT(base32_decode("MZXW1", raw, sizeof raw), -1);
  CHECK_EQ_INT(base32_decode("MZ=XW", raw, sizeof raw), -1);
}

TEST(totp_verify_window_and_replay) {
  const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  int64_t last = 0;
  CHECK_EQ_INT(totp_verify(secret, "081804", 1111111109, &last), 0); /* same step */
  CHECK_EQ_INT(last, 1111111109 / 30);
  CHECK_EQ_INT(totp_verify(secret, "081804", 1111111109, &last), -1); /* used once */
  last = 0;
  CHECK_EQ_INT(totp_verify(secret, "081804", 1111111109 + 30, &last), 0); /* one step late */
  last = 0;
  CHECK_EQ_INT(totp_verify(secret, "081804", 1111111109 + 90, &last), -1); /* too late */
  CHECK_EQ_INT(totp_verify(secret, "81804", 1111111109, &last), -1);
  char s[TOTP_SECRET_B32], uri[512];
  CHECK_EQ_INT(totp_new_secret(s), 0);
  CHECK_EQ_INT(strlen(s), 32);
  CHECK_EQ_INT(totp_uri("VidZo", "ann@x.io", s, uri, sizeof uri), 0);
  CHECK(strncmp(uri, "otpauth://totp/VidZo:ann@x.io?secret=", 37) == 0);
}
