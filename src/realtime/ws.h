/* ws: RFC 6455 server-side framing and the shared outgoing-frame buffers.
 *
 * Why not wslay's contexts here: a wslay_event_context carries a 4 KB output buffer
 * and its frame context a 4 KB input buffer, per connection, for life. The idle
 * budget is 6 KB per connection (ARCHITECTURE.md, issue #3), so the hot path uses
 * this small incremental parser whose state is ~200 bytes and which allocates only
 * while a message spans several reads. wslay stays the oracle: the unit tests feed
 * this parser frames produced by wslay's client context.
 *
 * Pure code: no libuv, no sockets; the transport (eio) owns those. */
#ifndef VZ_WS_H
#define VZ_WS_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum {
  WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
  WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1). */
enum {
  WS_CLOSE_NORMAL = 1000, WS_CLOSE_GOING_AWAY = 1001, WS_CLOSE_PROTOCOL = 1002,
  WS_CLOSE_UNSUPPORTED = 1003, WS_CLOSE_BAD_DATA = 1007, WS_CLOSE_POLICY = 1008,
  WS_CLOSE_TOO_BIG = 1009, WS_CLOSE_INTERNAL = 1011,
};

/* Called once per complete message (TEXT/BINARY reassembled) and per control frame.
 * data is valid only during the call. Return 0 to go on, non-zero to stop parsing
 * (ws_parse then returns that value). */
typedef int (*ws_msg_cb)(void *ud, int opcode, const uint8_t *data, size_t len);

typedef struct ws_parser {
  uint64_t len, off;      /* current frame payload length, bytes consumed */
  size_t max_msg;         /* largest message accepted (maxPayload) */
  uint8_t *msg;           /* message being assembled; NULL unless it spans reads/frames */
  size_t msg_len, msg_cap;
  uint8_t hdr[14], hlen;  /* partial frame header */
  uint8_t state;          /* 0 header, 1 payload, 2 closed (nothing more accepted) */
  uint8_t opcode, fin, msg_op; /* msg_op: opcode of a fragmented message in progress */
  uint8_t mask[4], mpos;
  uint8_t ctrl_len;       /* control frame payload, assembled here if split */
  uint8_t ctrl[125];
} ws_parser;

void ws_parser_init(ws_parser *p, size_t max_msg);
void ws_parser_free(ws_parser *p);
/* Parses len bytes (unmasked in place: buf belongs to the caller's read buffer).
 * Returns 0, the non-zero value a callback returned, or -close_code on a protocol
 * violation (unmasked client frame, reserved bits, bad opcode, oversized message,
 * invalid UTF-8 in text, bad control frame, data after CLOSE). */
int ws_parse(ws_parser *p, uint8_t *buf, size_t len, ws_msg_cb cb, void *ud);
/* True if the parser holds no partial frame or message (it may then be discarded). */
int ws_parser_idle(const ws_parser *p);

/* Writes a server frame header (FIN set, unmasked) into out[10]; returns its size. */
size_t ws_frame_header(uint8_t out[10], int opcode, uint64_t len);
/* Sec-WebSocket-Accept for a client key: out gets 28 chars + NUL. */
int ws_accept_key(const char *key, size_t key_len, char out[29]);
/* Strict UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int ws_utf8_valid(const uint8_t *s, size_t n);

/* A shared, immutable outgoing buffer: one broadcast is encoded once and queued on
 * every recipient by reference. hdr[]/hdr_len hold the WebSocket frame header so the
 * WebSocket transport writes hdr+data and the polling transport writes data alone. */
typedef struct ws_buf {
  atomic_int refs;        /* shared across loops */
  uint8_t opcode;         /* WS_OP_TEXT or WS_OP_BINARY */
  uint8_t hdr_len;
  uint8_t hdr[10];
  uint32_t len;           /* payload length */
  uint8_t data[];         /* payload (Engine.IO packet for text) */
} ws_buf;

/* New buffer with room for len payload bytes; the header is filled in for len. */
ws_buf *ws_buf_new(int opcode, size_t len);
ws_buf *ws_buf_from(int opcode, const void *data, size_t len);
void ws_buf_ref(ws_buf *b);
void ws_buf_unref(ws_buf *b);
/* Shrinks len after filling (must be <= the allocated length); refreshes the header. */
void ws_buf_set_len(ws_buf *b, size_t len);

#endif
