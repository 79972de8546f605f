/* Fuzz target: what reaches the streams service from outside as text: nginx-rtmp's
 * form bodies (streams_form_get) and clients' RFC 3339 times (streams_parse_time).
 * Invariant: no crash, no read past the input, outputs always NUL-terminated. */
#include <stdlib.h>
#include <string.h>

#include "services/streams/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = 0;
  char out[64];
  static const char *const names[] = { "name", "clientid", "app", "call", "" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (streams_form_get(buf, size, names[i], out, sizeof out) == 0 && strlen(out) >= sizeof out) abort();
  int64_t ms;
  streams_parse_time(buf, &ms);
  free(buf);
  return 0;
}
