/* sio_codec: Socket.IO v5 packet codec. Pure code, fuzzed by tests/fuzz/sio_packet.c.
 *
 * Spec (Socket.IO v5, "Packet encoding"):
 *   <packet type>[<# of binary attachments>-][<namespace>,][<acknowledgment id>][JSON-stringified payload]
 * "The namespace is only included if it is different from the main namespace (/)."
 * Types: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT,
 * 6 BINARY_ACK. Binary attachments follow as separate Engine.IO messages and are
 * referenced from the payload by {"_placeholder":true,"num":N}. */
#ifndef VZ_SIO_CODEC_H
#define VZ_SIO_CODEC_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { SIO_CONNECT = 0, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_CONNECT_ERROR,
       SIO_BINARY_EVENT, SIO_BINARY_ACK };

#define SIO_MAX_ATTACHMENTS 16
#define SIO_MAX_NSP 128
#define SIO_ACK_MAX 9007199254740991LL /* 2^53-1: what a JS client can represent */

typedef struct sio_packet {
  int type;
  int attachments;    /* binary types only */
  int64_t ack_id;     /* -1: none */
  size_t nsp_len;     /* namespace, NUL-terminated; "/" when absent */
  char nsp[SIO_MAX_NSP + 1];
  json_t *data;       /* owned; NULL when absent */
} sio_packet;

/* Decodes one text packet; on success out->data holds a reference the caller drops
 * with sio_packet_clear. Returns 0 or a negative code (then nothing is owned):
 * bad type, attachments, namespace, ack id (not digits or > 2^53-1), JSON, or a
 * payload the type does not allow (CONNECT: object; DISCONNECT: none; EVENT: array
 * starting with an event name; ACK: array; CONNECT_ERROR: object or string). */
int sio_packet_decode(const char *s, size_t n, sio_packet *out);
void sio_packet_clear(sio_packet *p);

/* Encodes into buf (allocated with malloc, headroom bytes left free at its start so
 * that a caller can put the Engine.IO type byte there). Returns the encoded length
 * (excluding headroom) or -1. */
long sio_packet_encode(int type, const char *nsp, int64_t ack_id, int attachments,
                       const json_t *data, size_t headroom, char **buf);

/* Checks every {"_placeholder":true,"num":N} in data: N an integer in [0, attachments)
 * and each attachment referenced exactly once. Returns 0 or -1. */
int sio_placeholders_check(const json_t *data, int attachments);
/* Builds a placeholder object (for emitting binary from the server). */
json_t *sio_placeholder(int num);
/* If v is a placeholder, returns its num, else -1. */
int sio_placeholder_num(const json_t *v);

/* Reserved event names a client may not emit (Socket.IO v5 server). */
int sio_event_reserved(const char *name);

#endif
