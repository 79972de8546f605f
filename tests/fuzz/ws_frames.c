/* Fuzz target: the WebSocket frame parser on arbitrary bytes, split at an
 * input-chosen point. Invariant: no crash, no leak, and once it reports a protocol
 * error it accepts nothing more. */
#include <stdlib.h>
#include <string.h>

#include "realtime/ws.h"

static int sink(void *ud, int op, const uint8_t *d, size_t len) {
  size_t *total = ud;
  *total += len + (size_t)op;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t split = data[0] % (size);
  uint8_t *buf = malloc(size);
  memcpy(buf, data + 1, size - 1);
  ws_parser p;
  size_t total = 0;
  ws_parser_init(&p, 4096);
  int rc = ws_parse(&p, buf, split, sink, &total);
  if (rc >= 0) rc = ws_parse(&p, buf + split, size - 1 - split, sink, &total);
  if (rc < 0 && ws_parse(&p, buf, size - 1, sink, &total) >= 0 && size > 1) abort();
  ws_parser_free(&p);
  free(buf);
  return 0;
}
