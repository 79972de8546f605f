/* Fuzz target: Engine.IO polling payloads and single packets. Invariant: no crash,
 * no out-of-bounds read, every decoded packet lies inside the input. */
#include <stdlib.h>
#include <string.h>

#include "realtime/eio_codec.h"

typedef struct { const uint8_t *lo, *hi; } span;
static int check(void *ud, const eio_packet *pk) {
  span *s = ud;
  if (pk->data < s->lo || pk->data + pk->len > s->hi) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *buf = malloc(size ? size : 1);
  memcpy(buf, data, size);
  span s = { buf, buf + size };
  eio_payload_decode(buf, size, check, &s);
  eio_packet pk;
  eio_packet_decode(data, size, &pk);
  free(buf);
  return 0;
}
