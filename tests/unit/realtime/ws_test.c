/* Invariant: the server-side frame parser delivers exactly the messages a real client
 * library (wslay, client mode: masked frames) sent, however the bytes are split across
 * reads, and refuses every frame RFC 6455 says a server must refuse. */
#include <stdlib.h>
#include <wslay/wslay.h>

#include "realtime/ws.h"
#include "../test.h"

typedef struct { uint8_t out[1 << 16]; size_t n; } sink;
static ssize_t sink_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t len, int flags, void *ud) {
  sink *s = ud;
  memcpy(s->out + s->n, d, len);
  s->n += len;
  return (ssize_t)len;
}
static int genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(0x5A + i * 37);
  return 0;
}

/* Client frames produced by wslay for a list of messages. */
static size_t wslay_frames(sink *s, const struct wslay_event_msg *msgs, int n) {
  struct wslay_event_callbacks cb = { NULL, sink_send, genmask, NULL, NULL, NULL, NULL };
  wslay_event_context_ptr ctx;
  s->n = 0;
  wslay_event_context_client_init(&ctx, &cb, s);
  for (int i = 0; i < n; i++) wslay_event_queue_msg(ctx, &msgs[i]);
  wslay_event_send(ctx);
  wslay_event_context_free(ctx);
  return s->n;
}

typedef struct { int n; int ops[16]; size_t lens[16]; char text[16][256]; } got;
static int collect(void *ud, int op, const uint8_t *d, size_t len) {
  got *g = ud;
  g->ops[g->n] = op;
  g->lens[g->n] = len;
  memcpy(g->text[g->n], d, len < 255 ? len : 255);
  g->text[g->n][len < 255 ? len : 255] = 0;
  g->n++;
  return 0;
}

TEST(ws_parses_wslay_client_frames_any_split) {
  static sink s;
  struct wslay_event_msg msgs[] = {
    { WSLAY_TEXT_FRAME, (const uint8_t *)"42[\"chat\",{}]", 13 },
    { WSLAY_PING, (const uint8_t *)"pi", 2 },
    { WSLAY_BINARY_FRAME, (const uint8_t *)"\x00\x01\x02", 3 },
  };
  size_t n = wslay_frames(&s, msgs, 3);
  for (size_t split = 1; split < n; split++) {
    uint8_t copy[256];
    memcpy(copy, s.out, n);
    ws_parser p;
    got g = { 0 };
    ws_parser_init(&p, 1000);
    CHECK_EQ_INT(ws_parse(&p, copy, split, collect, &g), 0);
    CHECK_EQ_INT(ws_parse(&p, copy + split, n - split, collect, &g), 0);
    CHECK_EQ_INT(g.n, 3);
    /* wslay sends queued control frames first */
    CHECK_EQ_INT(g.ops[0], WS_OP_PING);
    CHECK_EQ_STR(g.text[0], "pi");
    CHECK_EQ_STR(g.text[1], "42[\"chat\",{}]");
    CHECK_EQ_INT(g.ops[2], WS_OP_BINARY);
    CHECK_EQ_INT(g.lens[2], 3);
    CHECK(ws_parser_idle(&p));
    ws_parser_free(&p);
  }
}

TEST(ws_large_message_16_and_64_bit_lengths) {
  static sink s;
  static uint8_t big[70000];
  memset(big, 'a', sizeof big);
  struct wslay_event_msg m1 = { WSLAY_TEXT_FRAME, big, 300 };
  size_t n = wslay_frames(&s, &m1, 1);
  ws_parser p;
  got g = { 0 };
  ws_parser_init(&p, 100000);
  CHECK_EQ_INT(ws_parse(&p, s.out, n, collect, &g), 0);
  CHECK_EQ_INT(g.lens[0], 300);
  ws_parser_free(&p);
  /* over the limit: 1009 */
  ws_parser_init(&p, 299);
  memset(&g, 0, sizeof g);
  n = wslay_frames(&s, &m1, 1);
  CHECK_EQ_INT(ws_parse(&p, s.out, n, collect, &g), -WS_CLOSE_TOO_BIG);
  CHECK_EQ_INT(g.n, 0);
  ws_parser_free(&p);
}

static size_t frame(uint8_t *out, int b0, const char *payload, size_t len, int masked) {
  size_t h = 0;
  out[h++] = (uint8_t)b0;
  out[h++] = (uint8_t)((masked ? 0x80 : 0) | len);
  uint8_t mask[4] = { 1, 2, 3, 4 };
  if (masked) { memcpy(out + h, mask, 4); h += 4; }
  for (size_t i = 0; i < len; i++) out[h + i] = (uint8_t)(payload[i] ^ (masked ? mask[i & 3] : 0));
  return h + len;
}

TEST(ws_fragmented_message_with_ping_between) {
  uint8_t buf[128];
  size_t n = frame(buf, 0x01, "4he", 3, 1);
  n += frame(buf + n, 0x89, "x", 1, 1);
  n += frame(buf + n, 0x80, "llo", 3, 1);
  for (size_t split = 1; split < n; split++) {
    uint8_t copy[128];
    memcpy(copy, buf, n);
    ws_parser p;
    got g = { 0 };
    ws_parser_init(&p, 100);
    CHECK_EQ_INT(ws_parse(&p, copy, split, collect, &g), 0);
    CHECK_EQ_INT(ws_parse(&p, copy + split, n - split, collect, &g), 0);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.ops[0], WS_OP_PING);
    CHECK_EQ_STR(g.text[1], "4hello");
    CHECK(ws_parser_idle(&p));
    ws_parser_free(&p);
  }
}

TEST(ws_refuses_bad_frames) {
  uint8_t buf[300];
  ws_parser p;
  got g = { 0 };
  struct { int b0; const char *pl; size_t len; int masked; int want; } cases[] = {
    { 0x81, "4x", 2, 0, -WS_CLOSE_PROTOCOL },      /* unmasked client frame */
    { 0xC1, "4x", 2, 1, -WS_CLOSE_PROTOCOL },      /* RSV1 without extension */
    { 0x83, "4x", 2, 1, -WS_CLOSE_PROTOCOL },      /* reserved opcode */
    { 0x80, "4x", 2, 1, -WS_CLOSE_PROTOCOL },      /* continuation with nothing to continue */
    { 0x09, "4x", 2, 1, -WS_CLOSE_PROTOCOL },      /* fragmented ping */
    { 0x81, "\xc3\x28", 2, 1, -WS_CLOSE_BAD_DATA }, /* invalid UTF-8 */
    { 0x81, "\xed\xa0\x80", 3, 1, -WS_CLOSE_BAD_DATA }, /* surrogate */
    { 0x88, "\x03", 1, 1, -WS_CLOSE_PROTOCOL },    /* 1-byte close body */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t n = frame(buf, cases[i].b0, cases[i].pl, cases[i].len, cases[i].masked);
    ws_parser_init(&p, 100);
    CHECK_EQ_INT(ws_parse(&p, buf, n, collect, &g), cases[i].want);
    /* and nothing more is accepted afterwards */
    CHECK(ws_parse(&p, buf, n, collect, &g) < 0);
    ws_parser_free(&p);
  }
}

TEST(ws_frames_after_close_are_refused) {
  uint8_t buf[64];
  size_t n = frame(buf, 0x88, "\x03\xe8", 2, 1);
  n += frame(buf + n, 0x81, "4a", 2, 1);
  ws_parser p;
  got g = { 0 };
  ws_parser_init(&p, 100);
  CHECK_EQ_INT(ws_parse(&p, buf, n, collect, &g), 0);
  CHECK_EQ_INT(g.n, 1);
  CHECK_EQ_INT(g.ops[0], WS_OP_CLOSE);
  uint8_t more[8];
  size_t m = frame(more, 0x81, "4", 1, 1);
  CHECK(ws_parse(&p, more, m, collect, &g) < 0);
  ws_parser_free(&p);
}

TEST(ws_accept_key_matches_rfc_example) {
  char out[29];
  const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
  CHECK_EQ_INT(ws_accept_key(key, strlen(key), out), 0);
  CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 §1.3 */
}

TEST(ws_buf_header_sizes) {
  ws_buf *b = ws_buf_new(WS_OP_TEXT, 125);
  CHECK_EQ_INT(b->hdr_len, 2);
  ws_buf_set_len(b, 126);
  CHECK_EQ_INT(b->hdr_len, 4);
  ws_buf_ref(b);
  ws_buf_unref(b);
  ws_buf_unref(b);
  b = ws_buf_new(WS_OP_BINARY, 70000);
  CHECK_EQ_INT(b->hdr_len, 10);
  CHECK_EQ_INT(b->hdr[0], 0x82);
  ws_buf_unref(b);
}
