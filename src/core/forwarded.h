/* forwarded: the client address behind trusted proxies, from X-Forwarded-For. */
#ifndef VZ_FORWARDED_H
#define VZ_FORWARDED_H
#include <stddef.h>

/* Each proxy appends the address it received the request from, so with `hops` trusted
 * proxies in front the client is the hops-th entry from the right; anything left of it
 * was written by the client and proves nothing. Writes that address (an IPv4 or IPv6
 * literal) to out and returns 0; -1 when the header has no usable entry there (the
 * caller keeps the peer address). A header shorter than `hops` yields its leftmost. */
int vz_forwarded_client(const char *xff, int hops, char *out, size_t outlen);
#endif
