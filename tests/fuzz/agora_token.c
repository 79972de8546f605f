/* Fuzz target: the AccessToken2 decoder (agora_token_parse) on untrusted text, then the
 * signature check on what it accepted. And the builder on inputs taken from the same
 * bytes: any token it writes decodes back to the same channel, uid and expiries.
 * Invariant: no crash, no read past the input or the inflate buffer, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations/agora.h"

#define APP_ID "970CA35de60c44645bbae8a215061b33"
#define CERT "5CFd2fd1755d40ecb72977518be15d3b"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  agora_token t;
  if (agora_token_parse((const char *)data, size, &t) == 0) {
    (void)agora_token_verify(&t, CERT);
    if (!memchr(t.app_id, 0, sizeof t.app_id)) abort();
  }
  /* builder round trip: first byte role/form, then channel NUL account */
  if (size < 8) return 0;
  char buf[AGORA_ACCOUNT_MAX + AGORA_CHANNEL_MAX + 4];
  size_t n = size - 5 < sizeof buf - 1 ? size - 5 : sizeof buf - 1;
  memcpy(buf, data + 5, n);
  buf[n] = 0;
  const char *channel = buf, *account = NULL;
  char *nul = memchr(buf, '|', n);
  if (nul && (data[0] & 1)) { *nul = 0; account = nul + 1; }
  uint32_t x;
  memcpy(&x, data + 1, 4);
  char tok[AGORA_TOKEN_MAX];
  int len = agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = channel,
                                              .account = account, .uid = x, .role = 1 + ((data[0] >> 1) & 1),
                                              .expire = x | 1, .privilege_expire = x >> 3, .issued_at = x | 2,
                                              .salt = 1 + x % AGORA_SALT_MAX },
                            tok, sizeof tok);
  if (len < 0) return 0;
  if (agora_token_parse(tok, (size_t)len, &t) != 0 || agora_token_verify(&t, CERT) != 0) abort();
  if (strcmp(t.channel, channel) != 0 || t.expire != (x | 1) || t.salt != 1 + x % AGORA_SALT_MAX) abort();
  if (account && strcmp(t.uid, account) != 0) abort();
  return 0;
}
