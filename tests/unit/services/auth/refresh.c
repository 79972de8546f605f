/* Invariant: a refresh token is 43 base64url characters stored only as its SHA-256, and
 * the rotation decision treats any replaced token as reuse (family revocation), before
 * revocation or expiry. */
#include "../../test.h"
#include "services/auth/refresh.h"

TEST(refresh_mint_and_hash) {
  char a[REFRESH_TOKEN_LEN + 1], b[REFRESH_TOKEN_LEN + 1], ha[REFRESH_HASH_HEX],
      hb[REFRESH_HASH_HEX];
  CHECK_EQ_INT(refresh_new(a), 0);
  CHECK_EQ_INT(refresh_new(b), 0);
  CHECK_EQ_INT(strlen(a), 43);
  CHECK(strcmp(a, b) != 0);
  CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
  refresh_hash(a, ha);
  refresh_hash(b, hb);
  CHECK_EQ_INT(strlen(ha), 64);
  CHECK(strcmp(ha, hb) != 0);
  refresh_hash("abc", ha); /* FIPS 180-2 B.1 */
  CHECK_EQ_STR(ha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(refresh_decide_states) {
  refresh_row r = {.id = 1, .user_id = 2, .family_id = 3, .expires_at = 1000};
  CHECK_EQ_INT(refresh_decide(NULL, 0), REFRESH_UNKNOWN);
  CHECK_EQ_INT(refresh_decide(&r, 999), REFRESH_ROTATE);
  CHECK_EQ_INT(refresh_decide(&r, 1000), REFRESH_EXPIRED);
  r.revoked_at = 500;
  CHECK_EQ_INT(refresh_decide(&r, 999), REFRESH_REVOKED);
  r.replaced_by = 9;
  CHECK_EQ_INT(refresh_decide(&r, 999), REFRESH_REUSE);
  CHECK_EQ_INT(refresh_decide(&r, 5000), REFRESH_REUSE);
  r.revoked_at = 0;
  CHECK_EQ_INT(refresh_decide(&r, 999), REFRESH_REUSE);
}
