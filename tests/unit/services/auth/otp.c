/* Invariant: codes are six uniformly drawn digits; a stored code accepts only the right
 * code for the same purpose and destination, before expiry, and never after 5 attempts. */
#include <stdlib.h>
#include <unistd.h>

#include "../../test.h"
#include "services/auth/otp.h"

static const unsigned char key[32] = "otp-test-key-otp-test-key-otp-te";

TEST(otp_code_shape) {
  char c[OTP_DIGITS + 1];
  int seen_leading_zero = 0;
  for (int i = 0; i < 2000; i++) {
    otp_new_code(c);
    CHECK_EQ_INT(strlen(c), 6);
    for (int k = 0; k < 6; k++) CHECK(c[k] >= '0' && c[k] <= '9');
    if (c[0] == '0') seen_leading_zero = 1;
  }
  CHECK(seen_leading_zero); /* ~1 - 0.9^2000: zero-padding works */
}

TEST(otp_check_rules) {
  otp_set_key(key);
  otp_row row = {.id = 1, .expires_at = 1000 + OTP_TTL_MS};
  otp_hash("reset", "a@b.c", "123456", row.hash);
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "123456", 1000), OTP_OK);
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "123457", 1000), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_check(&row, "signin", "a@b.c", "123456", 1000), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_check(&row, "reset", "x@b.c", "123456", 1000), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "12345", 1000), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "12345a", 1000), OTP_EMISMATCH);
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "123456", 1000 + OTP_TTL_MS), OTP_EEXPIRED);
  row.attempts = OTP_MAX_ATTEMPTS;
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "123456", 1000), OTP_ELOCKED);
  row.attempts = 0;
  row.consumed_at = 1500;
  CHECK_EQ_INT(otp_check(&row, "reset", "a@b.c", "123456", 1000), OTP_ENONE);
  CHECK_EQ_INT(otp_check(NULL, "reset", "a@b.c", "123456", 1000), OTP_ENONE);
  /* a different server key gives a different hash */
  char h2[OTP_HASH_HEX];
  unsigned char k2[32] = {1};
  otp_set_key(k2);
  otp_hash("reset", "a@b.c", "123456", h2);
  CHECK(strcmp(h2, row.hash) != 0);
  otp_set_key(key);
}

TEST(otp_log_sender_writes_line) {
  char path[] = "/tmp/vz-otp-test-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ_INT(otp_log_sender_init(path), 0);
  CHECK_EQ_INT(otp_send("email", "a@b.c", "verify_email", "012345"), 0);
  FILE *f = fopen(path, "r");
  char line[512] = {0};
  CHECK(f && fgets(line, sizeof line, f));
  fclose(f);
  unlink(path);
  CHECK(strstr(line, "\"code\":\"012345\""));
  CHECK(strstr(line, "\"to\":\"a@b.c\""));
  otp_set_sender(&(otp_sender){0});
}
