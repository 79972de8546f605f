/* Fuzz target: what media reads from outside. The first byte picks the parser, the rest
 * is its input: a Range header (media_parse_range), an S3 XML reply (s3_xml_value for
 * the tags we read), magic-byte sniffing and key checks, and the WebP chunk filter.
 * Invariant: no crash, no leak, and every answer is in bounds (a range inside the
 * representation, a value that fits, a WebP no longer than it was). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations/s3.h"
#include "services/media/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t n = size - 1;
  char *s = malloc(n + 1);
  memcpy(s, data + 1, n);
  s[n] = 0;
  switch (data[0] % 4) {
  case 0: {
    int64_t a = -1, b = -1, len = (int64_t)(data[0] >> 2) * 37;
    int r = media_parse_range(s, len, &a, &b);
    if (r == 1 && (a < 0 || b < a || b >= len)) abort();
    break;
  }
  case 1: {
    static const char *tags[] = { "UploadId", "Code", "ETag", "Message" };
    char out[64];
    for (int i = 0; i < 4; i++) {
      int r = s3_xml_value(s, n, tags[i], out, sizeof out);
      if (r >= (int)sizeof out || (r >= 0 && strlen(out) > (size_t)r)) abort();
    }
    break;
  }
  case 2:
    (void)media_sniff_image(s, n);
    (void)media_key_ok(s);
    (void)media_type_of(s);
    break;
  default: {
    size_t m = media_webp_strip((unsigned char *)s, n);
    if (m > n) abort();
    break;
  }
  }
  free(s);
  return 0;
}
