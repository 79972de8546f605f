/* base64: the one base64 and base64url of the project (RFC 4648 sections 4 and 5), on
 * libsodium's constant-time codec. Standard alphabet with '=' padding (Engine.IO binary
 * over polling); URL-safe without padding (JWT, cursors, tokens). */
#ifndef VZ_LIB_BASE64_H
#define VZ_LIB_BASE64_H
#include <stddef.h>

enum { VZ_B64_STD = 0, VZ_B64_URL = 1 };

/* Characters vz_b64_encode writes for n bytes, without the NUL. */
size_t vz_b64_len(size_t n, int variant);
/* Writes the encoding and a NUL; returns its length, or -1 when cap is too small. */
long vz_b64_encode(const void *in, size_t n, char *out, size_t cap, int variant);
/* Decodes exactly n characters (no whitespace, no trailing junk; padding required for
 * STD, refused for URL). Returns the byte count, or -1. */
long vz_b64_decode(const char *in, size_t n, void *out, size_t cap, int variant);
#endif
