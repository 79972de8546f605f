/* forwarded: picks the client address out of X-Forwarded-For, counting from the right.
 * Taking the first entry (as we once did) trusts whatever the client sent: behind our own
 * nginx config ($proxy_add_x_forwarded_for) "X-Forwarded-For: 6.6.6.6" from the client
 * arrives as "6.6.6.6, <real client>", and per-IP limits and logs would believe 6.6.6.6. */
#include "core/forwarded.h"

#include <arpa/inet.h>
#include <string.h>

#define MAX_ENTRIES 32

int vz_forwarded_client(const char *xff, int hops, char *out, size_t outlen) {
  if (!xff || hops < 1) return -1;
  const char *start[MAX_ENTRIES];
  size_t len[MAX_ENTRIES];
  int n = 0;
  for (const char *s = xff; *s;) {
    const char *comma = strchr(s, ',');
    const char *end = comma ? comma : s + strlen(s);
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    const char *e = end;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (n == MAX_ENTRIES) { /* keep the rightmost ones: those are the trusted */
      memmove(start, start + 1, (MAX_ENTRIES - 1) * sizeof *start);
      memmove(len, len + 1, (MAX_ENTRIES - 1) * sizeof *len);
      n--;
    }
    start[n] = s;
    len[n] = (size_t)(e - s);
    n++;
    if (!comma) break;
    s = comma + 1;
  }
  if (n == 0) return -1;
  int i = n - hops < 0 ? 0 : n - hops;
  char buf[64];
  if (len[i] == 0 || len[i] >= sizeof buf || len[i] >= outlen) return -1;
  memcpy(buf, start[i], len[i]);
  buf[len[i]] = 0;
  unsigned char bin[16];
  if (inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1) return -1;
  memcpy(out, buf, len[i] + 1);
  return 0;
}
