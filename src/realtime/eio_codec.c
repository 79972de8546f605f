/* eio_codec: Engine.IO v4 packet and payload codec (see eio_codec.h for the spec
 * clauses). Decoding never allocates: payload packets point into the request body,
 * and base64 binary packets are decoded in place over their own text. */
#include "realtime/eio_codec.h"

#include <string.h>

int eio_packet_decode(const uint8_t *s, size_t n, eio_packet *out) {
  if (n == 0 || s[0] < '0' || s[0] > '6') return -1;
  out->type = s[0] - '0';
  out->binary = 0;
  out->data = s + 1;
  out->len = n - 1;
  return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eio_base64_len(size_t n) { return (n + 2) / 3 * 4; }

size_t eio_base64_encode(char *out, const uint8_t *in, size_t n) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = b64[(v >> 6) & 63];
    out[o++] = b64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = b64[(v >> 6) & 63];
    out[o++] = '=';
  }
  return o;
}

static int b64_val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

long eio_base64_decode(uint8_t *out, const char *in, size_t n) {
  while (n && in[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  /* Writing never overtakes reading: 4 chars in give at most 3 bytes out. */
  for (size_t i = 0; i < n; i++) {
    int v = b64_val((unsigned char)in[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  return (long)o;
}

int eio_payload_decode(uint8_t *s, size_t n, eio_packet_cb cb, void *ud) {
  size_t i = 0;
  if (n == 0) return -1;
  while (i <= n) {
    uint8_t *start = s + i;
    uint8_t *sep = memchr(start, EIO_SEPARATOR, n - i);
    size_t len = sep ? (size_t)(sep - start) : n - i;
    eio_packet pk;
    if (len > 0 && start[0] == 'b') {
      long dl = eio_base64_decode(start + 1, (const char *)start + 1, len - 1);
      if (dl < 0) return -1;
      pk.type = EIO_MESSAGE;
      pk.binary = 1;
      pk.data = start + 1;
      pk.len = (size_t)dl;
    } else if (eio_packet_decode(start, len, &pk) < 0) {
      return -1;
    }
    int rc = cb(ud, &pk);
    if (rc) return rc;
    if (!sep) break;
    i += len + 1;
  }
  return 0;
}
