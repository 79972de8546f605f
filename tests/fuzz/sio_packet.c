/* Fuzz target: Socket.IO packet decoder, then re-encode what it accepted and decode
 * that again. Invariant: no crash or leak; an accepted packet round-trips to the same
 * type, namespace, ack id and attachment count. */
#include <stdlib.h>
#include <string.h>

#include "realtime/sio_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sio_packet p, q;
  if (sio_packet_decode((const char *)data, size, &p) < 0) return 0;
  char *buf;
  long n = sio_packet_encode(p.type, p.nsp, p.ack_id, p.attachments, p.data, 0, &buf);
  if (n < 0) abort();
  if (sio_packet_decode(buf, (size_t)n, &q) < 0) abort();
  if (q.type != p.type || q.ack_id != p.ack_id || q.attachments != p.attachments ||
      strcmp(q.nsp, p.nsp) != 0)
    abort();
  sio_packet_clear(&q);
  sio_packet_clear(&p);
  free(buf);
  return 0;
}
