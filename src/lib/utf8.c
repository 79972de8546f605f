/* utf8: strict validation as RFC 3629 section 3 defines it; HTTP paths and query values,
 * WebSocket text frames (RFC 6455 8.1) and declared string lengths all use these. */
#include "lib/utf8.h"

int vz_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    unsigned c = *p;
    if (c < 0x80) { p++; continue; }
    int len;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { len = 2; c &= 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; c &= 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; c &= 0x07; min = 0x10000; }
    else return 0;
    if (e - p < len) return 0;
    for (int i = 1; i < len; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    p += len;
  }
  return 1;
}

size_t vz_utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}
