/* ws: RFC 6455 server-side frame parser, frame headers, the handshake key and the
 * refcounted outgoing buffers. See ws.h for why this does not keep a wslay context
 * per connection. The parser unmasks in place in the caller's (shared, per-loop)
 * read buffer and hands out a pointer into it when a whole message sits in one read,
 * which is the common case; only messages split across reads or fragmented into
 * several frames are copied, into a buffer that is freed as soon as it is delivered. */
#include "realtime/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

void ws_parser_init(ws_parser *p, size_t max_msg) {
  memset(p, 0, sizeof *p);
  p->max_msg = max_msg;
}

void ws_parser_free(ws_parser *p) {
  free(p->msg);
  p->msg = NULL;
  p->msg_len = p->msg_cap = 0;
}

int ws_parser_idle(const ws_parser *p) {
  return p->state == 0 && p->hlen == 0 && p->msg_op == 0 && p->msg == NULL;
}

int ws_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t need;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n - i - 1 < need) return 0;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += need + 1;
  }
  return 1;
}

/* Appends a chunk of a data message to the assembly buffer (bounded by max_msg,
 * which the header check has already enforced for the whole message). */
static int msg_append(ws_parser *p, const uint8_t *d, size_t n) {
  if (p->msg_len + n > p->msg_cap) {
    size_t cap = p->msg_cap ? p->msg_cap : 256;
    while (cap < p->msg_len + n) cap *= 2;
    if (cap > p->max_msg && p->max_msg >= p->msg_len + n) cap = p->max_msg;
    uint8_t *m = realloc(p->msg, cap ? cap : 1);
    if (!m) return -WS_CLOSE_INTERNAL;
    p->msg = m;
    p->msg_cap = cap;
  }
  if (n) memcpy(p->msg + p->msg_len, d, n);
  p->msg_len += n;
  return 0;
}

/* RFC 6455 §5.5.1: a close body is empty or a 2-byte code plus UTF-8 reason; codes
 * 1005, 1006, 1015 and those outside 1000-4999 never appear on the wire. */
static int close_payload_ok(const uint8_t *d, size_t n) {
  if (n == 0) return 1;
  if (n == 1) return 0;
  unsigned code = (unsigned)d[0] << 8 | d[1];
  if (code < 1000 || code >= 5000) return 0;
  if (code == 1004 || code == 1005 || code == 1006 || code == 1015) return 0;
  if (code > 1011 && code < 3000) return 0;
  return ws_utf8_valid(d + 2, n - 2);
}

/* Parses the accumulated header; returns bytes still needed (>0), 0 when complete,
 * or -close_code. */
static int header_check(ws_parser *p) {
  if (p->hlen < 2) return 2 - p->hlen;
  uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
  /* §5.2: RSV1-3 MUST be 0 unless an extension is negotiated (none is). */
  if (b0 & 0x70) return -WS_CLOSE_PROTOCOL;
  /* §5.1: "The server MUST close the connection upon receiving a frame that is not masked." */
  if (!(b1 & 0x80)) return -WS_CLOSE_PROTOCOL;
  unsigned l7 = b1 & 0x7F;
  size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
  if (p->hlen < need) return (int)(need - p->hlen);
  uint64_t len = l7;
  const uint8_t *h = p->hdr + 2;
  if (l7 == 126) { len = (uint64_t)h[0] << 8 | h[1]; h += 2; }
  else if (l7 == 127) {
    len = 0;
    for (int k = 0; k < 8; k++) len = len << 8 | h[k];
    if (len >> 63) return -WS_CLOSE_PROTOCOL; /* §5.2: MSB MUST be 0 */
    h += 8;
  }
  memcpy(p->mask, h, 4);
  int op = b0 & 0x0F, fin = b0 >> 7;
  if (op & 0x08) {
    /* §5.5: control frames MUST NOT be fragmented and carry at most 125 bytes. */
    if (op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG) return -WS_CLOSE_PROTOCOL;
    if (!fin || len > 125) return -WS_CLOSE_PROTOCOL;
  } else {
    if (op > WS_OP_BINARY) return -WS_CLOSE_PROTOCOL;
    /* §5.4: a continuation needs a message in progress, a new message needs none. */
    if (op == WS_OP_CONT && !p->msg_op) return -WS_CLOSE_PROTOCOL;
    if (op != WS_OP_CONT && p->msg_op) return -WS_CLOSE_PROTOCOL;
    uint64_t sofar = op == WS_OP_CONT ? p->msg_len : 0;
    if (len > p->max_msg || sofar + len > p->max_msg) return -WS_CLOSE_TOO_BIG;
  }
  p->opcode = (uint8_t)op;
  p->fin = (uint8_t)fin;
  p->len = len;
  p->off = 0;
  p->mpos = 0;
  p->ctrl_len = 0;
  return 0;
}

static int deliver(ws_parser *p, int op, const uint8_t *d, size_t n, ws_msg_cb cb, void *ud) {
  if (op == WS_OP_TEXT && !ws_utf8_valid(d, n)) return -WS_CLOSE_BAD_DATA;
  if (op == WS_OP_CLOSE) {
    p->state = 2;
    if (!close_payload_ok(d, n)) return -WS_CLOSE_PROTOCOL;
  }
  return cb(ud, op, d, n);
}

int ws_parse(ws_parser *p, uint8_t *buf, size_t len, ws_msg_cb cb, void *ud) {
  size_t i = 0;
  int rc;
  /* §5.5.1: after a CLOSE the peer sends nothing more; anything is a violation. */
  if (p->state == 2) return len ? -WS_CLOSE_PROTOCOL : 0;
  while (i < len || (p->state == 1 && p->off == p->len)) {
    if (p->state == 0) {
      int need;
      while ((need = header_check(p)) > 0 && i < len) {
        size_t take = (size_t)need < len - i ? (size_t)need : len - i;
        memcpy(p->hdr + p->hlen, buf + i, take);
        p->hlen = (uint8_t)(p->hlen + take);
        i += take;
      }
      if (need < 0) { p->state = 2; return need; }
      if (need > 0) return 0; /* header continues in the next read */
      p->state = 1;
    }
    uint64_t left = p->len - p->off;
    size_t avail = left < (uint64_t)(len - i) ? (size_t)left : len - i;
    if (avail == 0 && p->len != 0) break; /* payload starts in the next read */
    uint8_t *d = buf + i;
    for (size_t k = 0; k < avail; k++) d[k] ^= p->mask[(p->mpos + k) & 3];
    p->mpos = (uint8_t)((p->mpos + avail) & 3);
    int whole = p->off == 0 && avail == p->len; /* the entire frame is in this read */
    p->off += avail;
    i += avail;
    int done = p->off == p->len;
    if (p->opcode & 0x08) {
      if (!whole) {
        memcpy(p->ctrl + p->ctrl_len, d, avail);
        p->ctrl_len = (uint8_t)(p->ctrl_len + avail);
      }
      if (done) {
        p->state = 0;
        p->hlen = 0;
        rc = deliver(p, p->opcode, whole ? d : p->ctrl, whole ? avail : p->ctrl_len, cb, ud);
        if (rc) { if (rc < 0) p->state = 2; return rc; }
        if (p->state == 2) return 0; /* CLOSE: the rest of the read is ignored */
      }
      continue;
    }
    if (whole && p->fin && p->opcode != WS_OP_CONT) {
      /* Fast path: a complete unfragmented message inside this read, no copy. */
      p->state = 0;
      p->hlen = 0;
      rc = deliver(p, p->opcode, d, avail, cb, ud);
      if (rc) { if (rc < 0) p->state = 2; return rc; }
      continue;
    }
    if (p->opcode != WS_OP_CONT && p->off == avail) p->msg_op = p->opcode;
    if ((rc = msg_append(p, d, avail))) { p->state = 2; return rc; }
    if (!done) continue;
    p->state = 0;
    p->hlen = 0;
    if (!p->fin) continue;
    int op = p->msg_op;
    uint8_t *m = p->msg;
    size_t mlen = p->msg_len;
    p->msg = NULL;
    p->msg_len = p->msg_cap = 0;
    p->msg_op = 0;
    rc = deliver(p, op, m ? m : (const uint8_t *)"", mlen, cb, ud);
    free(m);
    if (rc) { if (rc < 0) p->state = 2; return rc; }
  }
  return 0;
}

size_t ws_frame_header(uint8_t out[10], int opcode, uint64_t len) {
  out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
  if (len < 126) { out[1] = (uint8_t)len; return 2; }
  if (len <= 0xFFFF) {
    out[1] = 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
  }
  out[1] = 127;
  for (int k = 0; k < 8; k++) out[2 + k] = (uint8_t)(len >> (56 - 8 * k));
  return 10;
}

int ws_accept_key(const char *key, size_t key_len, char out[29]) {
  /* §4.2.2: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). */
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char tmp[128];
  unsigned char dig[SHA_DIGEST_LENGTH];
  if (key_len == 0 || key_len > sizeof tmp - (sizeof guid - 1)) return -1;
  memcpy(tmp, key, key_len);
  memcpy(tmp + key_len, guid, sizeof guid - 1);
  SHA1((const unsigned char *)tmp, key_len + sizeof guid - 1, dig);
  if (EVP_EncodeBlock((unsigned char *)out, dig, SHA_DIGEST_LENGTH) != 28) return -1;
  out[28] = 0;
  return 0;
}

ws_buf *ws_buf_new(int opcode, size_t len) {
  if (len > UINT32_MAX) return NULL;
  ws_buf *b = malloc(sizeof *b + (len ? len : 1));
  if (!b) return NULL;
  atomic_init(&b->refs, 1);
  b->opcode = (uint8_t)opcode;
  b->len = (uint32_t)len;
  b->hdr_len = (uint8_t)ws_frame_header(b->hdr, opcode, len);
  return b;
}

ws_buf *ws_buf_from(int opcode, const void *data, size_t len) {
  ws_buf *b = ws_buf_new(opcode, len);
  if (b && len) memcpy(b->data, data, len);
  return b;
}

void ws_buf_set_len(ws_buf *b, size_t len) {
  b->len = (uint32_t)len;
  b->hdr_len = (uint8_t)ws_frame_header(b->hdr, b->opcode, len);
}

void ws_buf_ref(ws_buf *b) {
  atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void ws_buf_unref(ws_buf *b) {
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
    free(b);
}
