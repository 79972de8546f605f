/* log: one JSON object per line on stdout. Fields come as key/value string pairs ending
 * with NULL; values are escaped. Secrets never go in: callers pass ids, not tokens.
 * While a handler runs, the dispatcher sets this thread's request context, so every line
 * written meanwhile (on the worker or the loop) carries "rid", "uid" and "route" without
 * the call naming them (STYLE.md: the call adds only the event). */
#ifndef VZ_LOG_H
#define VZ_LOG_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
enum { VZ_LOG_DEBUG, VZ_LOG_INFO, VZ_LOG_WARN, VZ_LOG_ERROR };
extern int vz_log_level;
int vz_log_parse_level(const char *s);          /* -1 when unknown */
void vz_log(int level, const char *msg, ...);   /* ..., "key", "value", ..., NULL */
/* The line vz_log writes, without the write: at most cap bytes, ending "}\n" (tests). */
size_t vz_log_format(char *buf, size_t cap, int level, const char *msg, va_list ap);
/* This thread's request context. rid and route are borrowed (the request's id buffer,
 * the route table's path): set them only around a handler and clear right after, so no
 * line of the next request or of background work on this thread inherits them. uid 0:
 * anonymous ("uid":""). A field the call passes itself wins over the context's. */
void vz_log_context_set(const char *rid, int64_t uid, const char *route);
void vz_log_context_clear(void);
/* 1 at most once per `ms` for one call site (*last, zero-initialised, keeps the time of the
 * last 1), from any thread: for lines an outage would otherwise repeat per request. */
int vz_log_allow(_Atomic long long *last, long long ms);
#define vz_log_info(...)  do { if (vz_log_level <= VZ_LOG_INFO)  vz_log(VZ_LOG_INFO, __VA_ARGS__, (char *)0); } while (0)
#define vz_log_warn(...)  do { if (vz_log_level <= VZ_LOG_WARN)  vz_log(VZ_LOG_WARN, __VA_ARGS__, (char *)0); } while (0)
#define vz_log_error(...) vz_log(VZ_LOG_ERROR, __VA_ARGS__, (char *)0)
#define vz_log_debug(...) do { if (vz_log_level <= VZ_LOG_DEBUG) vz_log(VZ_LOG_DEBUG, __VA_ARGS__, (char *)0); } while (0)
#endif
