/* Fuzz target: an Agora Notifications body, through the signature check (with a
 * signature made for it, and with the body's own first bytes as a bogus header) and the
 * event parser. Invariant: no crash or leak; a forged header is never accepted; the
 * parsed strings are NUL-terminated inside their fields. */
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "integrations/agora.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) { vz_json_init(); init = 1; }
  unsigned char mac[32];
  unsigned int ml = 0;
  HMAC(EVP_sha256(), "s", 1, data, size, mac, &ml);
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  if (agora_webhook_verify("s", data, size, NULL, hex) != 0) abort();
  char forged[65] = { 0 };
  memcpy(forged, data, size < 64 ? size : 64);
  if (strcmp(forged, hex) != 0 && agora_webhook_verify("s", data, size, NULL, forged) == 0) abort();
  agora_event ev;
  if (agora_webhook_parse((const char *)data, size, &ev) == 0) {
    if (!memchr(ev.notice_id, 0, sizeof ev.notice_id) || !memchr(ev.channel, 0, sizeof ev.channel) ||
        !memchr(ev.account, 0, sizeof ev.account))
      abort();
  }
  return 0;
}
