/* Invariant: only passwords of 10..128 characters mixing two classes pass the rules, each
 * refusal carries a message; hashes are argon2id, verify only the right password, and
 * report needing a rehash when the configured cost changes. */
#include "../../test.h"
#include "services/auth/password.h"

TEST(password_rules) {
  const char *msg = NULL;
  CHECK_EQ_INT(password_check_rules("short1A", &msg), -1);
  CHECK(strstr(msg, "at least 10"));
  CHECK_EQ_INT(password_check_rules("aaaaaaaaaaaa", &msg), -1);
  CHECK(strstr(msg, "mix"));
  CHECK_EQ_INT(password_check_rules("123456789012", &msg), -1);
  CHECK_EQ_INT(password_check_rules("correct horse battery", &msg), 0); /* space counts */
  CHECK_EQ_INT(password_check_rules("VidZo-admin-2026", &msg), 0);
  char longpw[200];
  memset(longpw, 'a', sizeof longpw - 2);
  longpw[sizeof longpw - 2] = '1';
  longpw[sizeof longpw - 1] = 0;
  CHECK_EQ_INT(password_check_rules(longpw, &msg), -1);
  CHECK(strstr(msg, "at most 128"));
  /* 10 code points of 2-byte UTF-8 plus a digit: 11 characters, fine */
  CHECK_EQ_INT(password_check_rules("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "1", &msg), 0);
  /* 5 characters in 10 bytes: too short */
  CHECK_EQ_INT(password_check_rules("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", &msg), -1);
  CHECK_EQ_INT(password_check_rules("\xff\xfe" "abcdefgh12", &msg), -1);
  CHECK(strstr(msg, "UTF-8"));
}

TEST(password_hash_verify) {
  char h[PASSWORD_HASH_MAX];
  password_set_cost(1, 8192);
  CHECK_EQ_INT(password_hash("Tr0ub4dor&3xyz", h), 0);
  CHECK(strncmp(h, "$argon2id$", 10) == 0);
  CHECK_EQ_INT(password_verify(h, "Tr0ub4dor&3xyz"), 0);
  CHECK_EQ_INT(password_verify(h, "Tr0ub4dor&3xyZ"), -1);
  CHECK_EQ_INT(password_verify(NULL, "x"), -1);
  CHECK_EQ_INT(password_verify("plaintext", "plaintext"), -1);
  CHECK_EQ_INT(password_needs_rehash(h), 0);
  password_set_cost(2, 16384);
  CHECK_EQ_INT(password_needs_rehash(h), 1);
  CHECK_EQ_INT(password_verify(h, "Tr0ub4dor&3xyz"), 0); /* old hashes still verify */
  password_set_cost(1, 8192);
  password_verify_dummy("whatever");
}
