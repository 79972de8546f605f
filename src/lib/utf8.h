/* utf8: the one UTF-8 checker and counter. */
#ifndef VZ_LIB_UTF8_H
#define VZ_LIB_UTF8_H
#include <stddef.h>

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF), else 0. */
int vz_utf8_valid(const char *s, size_t n);
/* Code points in a NUL-terminated string (counts lead bytes; for valid UTF-8). */
size_t vz_utf8_chars(const char *s);
#endif
