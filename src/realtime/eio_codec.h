/* eio_codec: Engine.IO v4 packets and long-polling payloads. Pure code, fuzzed by
 * tests/fuzz/eio_payload.c.
 *
 * Spec (Engine.IO v4, "Packet encoding"): a packet is one type digit followed by its
 * data: 0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. Over WebSocket
 * one frame is one packet and binary data is sent as a binary frame, without prefix.
 * Over HTTP long-polling, "packets are concatenated with the record separator \x1e"
 * and "binary payloads are sent as base64 encoded strings, prefixed with b". */
#ifndef VZ_EIO_CODEC_H
#define VZ_EIO_CODEC_H
#include <stddef.h>
#include <stdint.h>

enum { EIO_OPEN = 0, EIO_CLOSE, EIO_PING, EIO_PONG, EIO_MESSAGE, EIO_UPGRADE, EIO_NOOP };
#define EIO_SEPARATOR '\x1e'

typedef struct eio_packet {
  int type;            /* EIO_* */
  int binary;          /* 1: data is a binary message (EIO_MESSAGE only) */
  const uint8_t *data; /* after the type digit; for binary the decoded bytes */
  size_t len;
} eio_packet;

/* One text packet ("4hello"). Returns 0 or -1 on an empty or unknown type. */
int eio_packet_decode(const uint8_t *s, size_t n, eio_packet *out);

typedef int (*eio_packet_cb)(void *ud, const eio_packet *pk);
/* A polling POST body: splits on \x1e and calls cb per packet; "b<base64>" packets
 * are decoded in place (the body buffer is the caller's). Returns 0, the callback's
 * non-zero value, or -1 on a malformed packet (the session is then closed). */
int eio_payload_decode(uint8_t *s, size_t n, eio_packet_cb cb, void *ud);

/* Standard base64 with padding (what the JS clients send and expect). */
size_t eio_base64_len(size_t n);
size_t eio_base64_encode(char *out, const uint8_t *in, size_t n);
/* Decodes in place or into out (out may equal in); returns the length or -1. Padding
 * is optional; characters outside the alphabet are an error. */
long eio_base64_decode(uint8_t *out, const char *in, size_t n);

#endif
