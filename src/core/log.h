/* log: one JSON object per line on stdout. Fields come as key/value string pairs ending
 * with NULL; values are escaped. Secrets never go in: callers pass ids, not tokens. */
#ifndef VZ_LOG_H
#define VZ_LOG_H
enum { VZ_LOG_DEBUG, VZ_LOG_INFO, VZ_LOG_WARN, VZ_LOG_ERROR };
extern int vz_log_level;
int vz_log_parse_level(const char *s);          /* -1 when unknown */
void vz_log(int level, const char *msg, ...);   /* ..., "key", "value", ..., NULL */
/* 1 at most once per `ms` for one call site (*last, zero-initialised, keeps the time of the
 * last 1), from any thread: for lines an outage would otherwise repeat per request. */
int vz_log_allow(_Atomic long long *last, long long ms);
#define vz_log_info(...)  do { if (vz_log_level <= VZ_LOG_INFO)  vz_log(VZ_LOG_INFO, __VA_ARGS__, (char *)0); } while (0)
#define vz_log_warn(...)  do { if (vz_log_level <= VZ_LOG_WARN)  vz_log(VZ_LOG_WARN, __VA_ARGS__, (char *)0); } while (0)
#define vz_log_error(...) vz_log(VZ_LOG_ERROR, __VA_ARGS__, (char *)0)
#define vz_log_debug(...) do { if (vz_log_level <= VZ_LOG_DEBUG) vz_log(VZ_LOG_DEBUG, __VA_ARGS__, (char *)0); } while (0)
#endif
