/* Invariant: an Engine.IO polling payload splits into exactly the packets that were
 * joined with \x1e, "b"+base64 packets come back as the original bytes, and malformed
 * payloads are refused rather than half-delivered. */
#include "realtime/eio_codec.h"
#include "../test.h"

typedef struct { int n; int types[8]; int bin[8]; char data[8][64]; size_t lens[8]; } got;
static int collect(void *ud, const eio_packet *pk) {
  got *g = ud;
  g->types[g->n] = pk->type;
  g->bin[g->n] = pk->binary;
  g->lens[g->n] = pk->len;
  memcpy(g->data[g->n], pk->data, pk->len < 63 ? pk->len : 63);
  g->data[g->n][pk->len < 63 ? pk->len : 63] = 0;
  g->n++;
  return 0;
}

TEST(eio_payload_splits_on_record_separator) {
  char body[] = "4hello\x1e" "2\x1e" "bAQID\x1e" "4";
  got g = { 0 };
  CHECK_EQ_INT(eio_payload_decode((uint8_t *)body, strlen(body), collect, &g), 0);
  CHECK_EQ_INT(g.n, 4);
  CHECK_EQ_INT(g.types[0], EIO_MESSAGE);
  CHECK_EQ_STR(g.data[0], "hello");
  CHECK_EQ_INT(g.types[1], EIO_PING);
  CHECK_EQ_INT(g.bin[2], 1);
  CHECK_EQ_INT(g.lens[2], 3);
  CHECK(memcmp(g.data[2], "\x01\x02\x03", 3) == 0);
  CHECK_EQ_INT(g.lens[3], 0);
}

TEST(eio_payload_refuses_malformed) {
  const char *bad[] = { "", "9x", "4a\x1e\x1e", "b!!!!", "4a\x1e\x37", "bA" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char buf[32];
    size_t n = strlen(bad[i]);
    memcpy(buf, bad[i], n);
    got g = { 0 };
    CHECK(eio_payload_decode((uint8_t *)buf, n, collect, &g) < 0);
  }
}

TEST(eio_base64_round_trip) {
  uint8_t in[256], out[256];
  char enc[400];
  for (int i = 0; i < 256; i++) in[i] = (uint8_t)(i * 7);
  for (size_t n = 0; n < 20; n++) {
    size_t el = eio_base64_encode(enc, in, n);
    CHECK_EQ_INT(el, eio_base64_len(n));
    CHECK_EQ_INT(eio_base64_decode(out, enc, el), (long)n);
    CHECK(memcmp(in, out, n) == 0);
  }
  CHECK_EQ_INT(eio_base64_encode(enc, (const uint8_t *)"\x01\x02\x03\x04", 4), 8);
  enc[8] = 0;
  CHECK_EQ_STR(enc, "AQIDBA==");
}
