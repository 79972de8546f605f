/* log: builds the line in a stack buffer and writes it with one write(2), so lines
 * from different threads never interleave. */
#include "core/log.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int vz_log_level = VZ_LOG_INFO;
static const char *names[] = { "debug", "info", "warn", "error" };

int vz_log_allow(_Atomic long long *last, long long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1; /* never 0 */
  long long prev = atomic_load(last);
  if (prev && now - prev < ms) return 0;
  return atomic_compare_exchange_strong(last, &prev, now);
}

int vz_log_parse_level(const char *s) {
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Appends s as a JSON string body (without quotes) into buf at *n, bounded by cap. */
static void put_escaped(char *buf, size_t cap, size_t *n, const char *s) {
  for (; *s && *n + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { buf[(*n)++] = '\\'; buf[(*n)++] = (char)c; }
    else if (c < 0x20) *n += (size_t)snprintf(buf + *n, cap - *n, "\\u%04x", c);
    else buf[(*n)++] = (char)c;
  }
}

void vz_log(int level, const char *msg, ...) {
  if (level < vz_log_level) return;
  char buf[4096];
  size_t n = 0, cap = sizeof buf - 2;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  n += strftime(buf, cap, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf(buf + n, cap - n, ".%03ldZ\",\"level\":\"%s\",\"msg\":\"", ts.tv_nsec / 1000000,
                        names[level & 3]);
  put_escaped(buf, cap, &n, msg);
  buf[n++] = '"';
  va_list ap;
  va_start(ap, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    if (n + 8 >= cap) break;
    buf[n++] = ',';
    buf[n++] = '"';
    put_escaped(buf, cap, &n, k);
    buf[n++] = '"';
    buf[n++] = ':';
    buf[n++] = '"';
    put_escaped(buf, cap, &n, v ? v : "");
    buf[n++] = '"';
  }
  va_end(ap);
  if (n > cap) n = cap;
  buf[n++] = '}';
  buf[n++] = '\n';
  ssize_t w = write(STDOUT_FILENO, buf, n);
  (void)w;
}
