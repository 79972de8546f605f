/* log: builds the line in a stack buffer and writes it with one write(2), so lines
 * from different threads never interleave. The request context is thread-local: a worker
 * runs one handler at a time and a loop runs its on-loop handlers one after another, so
 * "the request this thread is serving" is well defined, costs no lock, and needs no
 * request pointer threaded through every helper that might log. */
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

typedef struct log_ctx { const char *rid, *route; int64_t uid; } log_ctx;
static _Thread_local log_ctx tl_ctx;

void vz_log_context_set(const char *rid, int64_t uid, const char *route) {
  tl_ctx.rid = rid;
  tl_ctx.uid = uid;
  tl_ctx.route = route;
}

void vz_log_context_clear(void) { memset(&tl_ctx, 0, sizeof tl_ctx); }

static void put_field(char *buf, size_t cap, size_t *n, const char *k, const char *v) {
  if (*n + 8 >= cap) return;
  buf[(*n)++] = ',';
  buf[(*n)++] = '"';
  put_escaped(buf, cap, n, k);
  buf[(*n)++] = '"';
  buf[(*n)++] = ':';
  buf[(*n)++] = '"';
  put_escaped(buf, cap, n, v ? v : "");
  buf[(*n)++] = '"';
}

/* 1 when the call's own pairs name key (the access log line passes rid/uid/route itself;
 * JSON with a key twice is read differently by different parsers). */
static int call_has(va_list ap, const char *key) {
  va_list c;
  va_copy(c, ap);
  int found = 0;
  for (const char *k; !found && (k = va_arg(c, const char *));) {
    found = strcmp(k, key) == 0;
    (void)va_arg(c, const char *);
  }
  va_end(c);
  return found;
}

size_t vz_log_format(char *buf, size_t bufsize, int level, const char *msg, va_list ap) {
  size_t n = 0, cap = bufsize - 2;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  n += strftime(buf, cap, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf(buf + n, cap - n, ".%03ldZ\",\"level\":\"%s\",\"msg\":\"", ts.tv_nsec / 1000000,
                        names[level & 3]);
  put_escaped(buf, cap, &n, msg);
  buf[n++] = '"';
  if (tl_ctx.rid) {
    char uid[24] = "";
    if (tl_ctx.uid) snprintf(uid, sizeof uid, "%lld", (long long)tl_ctx.uid);
    if (!call_has(ap, "rid")) put_field(buf, cap, &n, "rid", tl_ctx.rid);
    if (!call_has(ap, "uid")) put_field(buf, cap, &n, "uid", uid);
    if (!call_has(ap, "route")) put_field(buf, cap, &n, "route", tl_ctx.route);
  }
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    if (n + 8 >= cap) break;
    put_field(buf, cap, &n, k, v);
  }
  if (n > cap) n = cap;
  buf[n++] = '}';
  buf[n++] = '\n';
  return n;
}

void vz_log(int level, const char *msg, ...) {
  if (level < vz_log_level) return;
  char buf[4096];
  va_list ap;
  va_start(ap, msg);
  size_t n = vz_log_format(buf, sizeof buf, level, msg, ap);
  va_end(ap);
  ssize_t w = write(STDOUT_FILENO, buf, n);
  (void)w;
}
