/* refresh.c: the pure half of refresh tokens: minting, hashing and the rotation decision.
 * session.c applies the decision to the database. SHA-256 without a key is enough here:
 * the token has 256 bits of entropy, so the hash cannot be reversed by guessing. */
#include "services/auth/refresh.h"

#include <sodium.h>
#include <string.h>

#include "services/auth/jwt.h"

int refresh_new(char tok[REFRESH_TOKEN_LEN + 1]) {
  unsigned char raw[32];
  if (sodium_init() < 0) return -1;
  randombytes_buf(raw, sizeof raw);
  int n = b64url_encode(raw, sizeof raw, tok, REFRESH_TOKEN_LEN + 1);
  sodium_memzero(raw, sizeof raw);
  return n == REFRESH_TOKEN_LEN ? 0 : -1;
}

void refresh_hash(const char *tok, char out[REFRESH_HASH_HEX]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)tok, strlen(tok));
  sodium_bin2hex(out, REFRESH_HASH_HEX, h, sizeof h);
}

int refresh_decide(const refresh_row *row, int64_t now_ms) {
  if (!row) return REFRESH_UNKNOWN;
  /* Order matters: a replaced token is reuse even if the family was revoked or the token
   * expired since, because the thief may still hold a live descendant. */
  if (row->replaced_by) return REFRESH_REUSE;
  if (row->revoked_at) return REFRESH_REVOKED;
  if (now_ms >= row->expires_at) return REFRESH_EXPIRED;
  return REFRESH_ROTATE;
}
