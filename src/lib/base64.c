/* base64: thin wrappers over libsodium (ARCHITECTURE.md: crypto-adjacent codecs are not
 * hand-rolled), with the strictness our callers need: a decode must consume its whole
 * input, so "abc" + junk is refused rather than half-read. */
#include "lib/base64.h"

#include <sodium.h>

static int sodium_variant(int variant) {
  return variant == VZ_B64_URL ? sodium_base64_VARIANT_URLSAFE_NO_PADDING : sodium_base64_VARIANT_ORIGINAL;
}

size_t vz_b64_len(size_t n, int variant) {
  return variant == VZ_B64_URL ? (n * 4 + 2) / 3 : (n + 2) / 3 * 4;
}

long vz_b64_encode(const void *in, size_t n, char *out, size_t cap, int variant) {
  size_t len = vz_b64_len(n, variant);
  if (cap < len + 1) return -1;
  if (n == 0) {
    out[0] = 0;
    return 0;
  }
  sodium_bin2base64(out, cap, in, n, sodium_variant(variant));
  return (long)len;
}

long vz_b64_decode(const char *in, size_t n, void *out, size_t cap, int variant) {
  if (n == 0) return 0;
  size_t bin_len = 0;
  const char *end = NULL;
  if (sodium_base642bin(out, cap, in, n, NULL, &bin_len, &end, sodium_variant(variant)) != 0) return -1;
  if (end != in + n) return -1;
  return (long)bin_len;
}
