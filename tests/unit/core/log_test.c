/* Invariant: a log line is one JSON object; while a request context is set on a thread,
 * every line that thread writes carries "rid", "uid" and "route" once (a field the call
 * passes itself wins), lines of other threads never do, and after clearing none do. */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>

#include "core/log.h"
#include "../test.h"

static char line[4096];

/* Formats like vz_log and parses the line back; NULL when it is not one JSON object. */
static json_t *fmt(const char *msg, ...) {
  va_list ap;
  va_start(ap, msg);
  size_t n = vz_log_format(line, sizeof line - 1, VZ_LOG_WARN, msg, ap);
  va_end(ap);
  line[n] = 0;
  if (n < 2 || line[n - 1] != '\n') return NULL;
  return json_loadb(line, n, 0, NULL);
}

static int occurrences(const char *s, const char *needle) {
  int c = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) c++;
  return c;
}

TEST(log_line_without_context) {
  vz_log_context_clear();
  json_t *o = fmt("hello \"there\"", "k", "v\n", (char *)0);
  CHECK(o);
  CHECK_EQ_STR(json_string_value(json_object_get(o, "msg")), "hello \"there\"");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "level")), "warn");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "k")), "v\n");
  CHECK(!json_object_get(o, "rid") && !json_object_get(o, "uid") && !json_object_get(o, "route"));
  json_decref(o);
}

TEST(log_line_carries_request_context) {
  vz_log_context_set("req-42", 1234567890123LL, "/v1/things/:id");
  json_t *o = fmt("thing went sideways", "thing", "7", (char *)0);
  vz_log_context_clear();
  CHECK(o);
  CHECK_EQ_STR(json_string_value(json_object_get(o, "rid")), "req-42");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "uid")), "1234567890123");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "route")), "/v1/things/:id");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "thing")), "7");
  json_decref(o);

  vz_log_context_set("req-43", 0, "/v1/public");
  o = fmt("anonymous", (char *)0);
  vz_log_context_clear();
  CHECK(o);
  CHECK_EQ_STR(json_string_value(json_object_get(o, "uid")), "");
  json_decref(o);

  o = fmt("after the request", (char *)0); /* cleared: nothing stale */
  CHECK(o);
  CHECK(!json_object_get(o, "rid"));
  json_decref(o);
}

TEST(log_call_fields_win_over_context) {
  vz_log_context_set("ctx-rid", 5, "/ctx");
  json_t *o = fmt("request", "rid", "own-rid", "route", "/own", (char *)0);
  vz_log_context_clear();
  CHECK(o);
  CHECK_EQ_INT(occurrences(line, "\"rid\":"), 1);
  CHECK_EQ_INT(occurrences(line, "\"route\":"), 1);
  CHECK_EQ_INT(occurrences(line, "\"uid\":"), 1);
  CHECK_EQ_STR(json_string_value(json_object_get(o, "rid")), "own-rid");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "route")), "/own");
  CHECK_EQ_STR(json_string_value(json_object_get(o, "uid")), "5");
  json_decref(o);
}

static void *other_thread(void *arg) {
  json_t *o = fmt("from another thread", (char *)0);
  *(int *)arg = o && !json_object_get(o, "rid");
  json_decref(o);
  return NULL;
}

TEST(log_context_is_per_thread) {
  vz_log_context_set("main-rid", 9, "/main");
  int clean = -1;
  pthread_t t;
  CHECK_EQ_INT(pthread_create(&t, NULL, other_thread, &clean), 0);
  pthread_join(t, NULL);
  vz_log_context_clear();
  CHECK_EQ_INT(clean, 1);
}

TEST(log_long_line_stays_one_object) {
  static char big[6000];
  memset(big, 'x', sizeof big - 1);
  vz_log_context_set("r", 1, "/r");
  json_t *o = fmt("long", "big", big, "after", "y", (char *)0);
  vz_log_context_clear();
  CHECK(o); /* truncated, but still closed and parseable */
  json_decref(o);
}
