/* sandbox_webhook: any delivery to POST /v1/payments/webhooks/sandbox through the
 * provider's verify-and-parse (payments/sandbox.c). Input: one byte of mode, the
 * Sandbox-Signature header up to the first newline, the body after it; mode 1 replaces
 * the header with a valid signature of the body, so the JSON parsing behind the HMAC is
 * reached too. The invariant: no crash, no leak, no read outside the body, and an event
 * is only returned with its strings terminated and in bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/payments/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  int mode = data[0] & 1;
  data++, size--;
  const uint8_t *nl = memchr(data, '\n', size);
  size_t hl = nl ? (size_t)(nl - data) : 0;
  char hdr[256];
  snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 255 ? hl : 255), (const char *)data);
  size_t bl = nl ? size - hl - 1 : size;
  char *b = malloc(bl ? bl : 1); /* exactly bl bytes: an overread is caught */
  memcpy(b, nl ? nl + 1 : data, bl);
  int64_t now = 1700000000000LL;
  if (mode) sandbox_sign_header(b, bl, now, hdr, sizeof hdr);
  vz_header h = { "Sandbox-Signature", hdr };
  pay_event ev;
  pay_err e = { 0 };
  if (pay_sandbox_provider.webhook(&h, 1, b, bl, now, &ev, &e) == PAY_OK) {
    if (strnlen(ev.event_id, sizeof ev.event_id) == sizeof ev.event_id) abort();
    if (strnlen(ev.provider_payment_id, sizeof ev.provider_payment_id) == sizeof ev.provider_payment_id) abort();
    if (strlen(ev.currency) != 3 || ev.amount < 0) abort();
  }
  free(b);
  return 0;
}
