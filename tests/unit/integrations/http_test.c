/* integrations/http: against a real HTTP server on 127.0.0.1 (a thread in this file that
 * answers from a script), a call completes exactly once with what the remote said; an
 * attempt that takes too long ends in ETIMEDOUT; idempotent calls are retried on 503 (and
 * wait out a short Retry-After, but not a long one), a non-idempotent POST is not retried
 * after it was sent, a 4xx never is, a refused connection always may be; the breaker opens
 * after its failures and then fails fast without touching the remote, lets one probe
 * through after the cool-down and closes on its success; stop cancels what is in flight
 * (every callback runs, nothing leaks) or lets it finish within the grace; a call made on
 * an io loop completes on that loop, holds its drain, and is canceled just before the
 * loop's shutdown deadline; /metrics gets the series. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/loop.h"
#include "core/fault.h"
#include "integrations/http.h"
#include "../test.h"

/* ---- a scripted HTTP/1.1 server, one connection at a time ------------------------------ */

typedef struct canned {
  int status;
  const char *headers; /* extra header lines, each ending in \r\n */
  const char *body;
  int delay_ms;        /* before answering (interrupted by tsrv_stop) */
} canned;

typedef struct tsrv {
  int fd, port, wake[2];
  pthread_t th;
  pthread_mutex_t mu;
  canned script[8];
  int nscript;
  atomic_int hits;
  char method[16], body[64];
} tsrv;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be readable; 0 when the server is being stopped or time ran out. */
static int wait_readable(tsrv *s, int fd, int ms) {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
  int n = poll(p, 2, ms);
  return n > 0 && !(p[1].revents & POLLIN) && (p[0].revents & (POLLIN | POLLHUP));
}

static void serve_one(tsrv *s, int c) {
  char req[8192];
  size_t n = 0;
  char *end = NULL;
  while (!end && n < sizeof req - 1) {
    if (!wait_readable(s, c, 3000)) return;
    ssize_t r = read(c, req + n, sizeof req - 1 - n);
    if (r <= 0) return;
    n += (size_t)r;
    req[n] = 0;
    end = strstr(req, "\r\n\r\n");
  }
  if (!end) return;
  char *cl = strcasestr(req, "\r\ncontent-length:");
  size_t want = (size_t)(end + 4 - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
  while (n < want && n < sizeof req - 1) {
    if (!wait_readable(s, c, 3000)) return;
    ssize_t r = read(c, req + n, sizeof req - 1 - n);
    if (r <= 0) return;
    n += (size_t)r;
  }
  req[n] = 0;
  pthread_mutex_lock(&s->mu);
  int k = atomic_fetch_add(&s->hits, 1);
  canned a = s->script[k < s->nscript ? k : s->nscript - 1];
  sscanf(req, "%15s", s->method);
  snprintf(s->body, sizeof s->body, "%s", end + 4);
  pthread_mutex_unlock(&s->mu);
  if (a.delay_ms) { /* cut short when stopping or when the client gives up (EOF) */
    struct pollfd p[2] = {{s->wake[0], POLLIN, 0}, {c, POLLIN, 0}};
    if (poll(p, 2, a.delay_ms) != 0) return;
  }
  char out[4096];
  const char *body = a.body ? a.body : "";
  int len = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     a.status, strlen(body), a.headers ? a.headers : "", body);
  if (send(c, out, (size_t)len, MSG_NOSIGNAL) < 0) return;
}

static void *tsrv_main(void *arg) {
  tsrv *s = arg;
  for (;;) {
    if (!wait_readable(s, s->fd, -1)) return NULL;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) continue;
    serve_one(s, c);
    close(c);
  }
}

static int listen_any(int *port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static int tsrv_start(tsrv *s, const canned *script, int n) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  memcpy(s->script, script, sizeof *script * (size_t)n);
  s->nscript = n;
  if ((s->fd = listen_any(&s->port)) < 0 || pipe(s->wake) < 0) return -1;
  return pthread_create(&s->th, NULL, tsrv_main, s) == 0 ? 0 : -1;
}

static void tsrv_script(tsrv *s, const canned *script, int n) {
  pthread_mutex_lock(&s->mu);
  memcpy(s->script, script, sizeof *script * (size_t)n);
  s->nscript = n;
  atomic_store(&s->hits, 0);
  pthread_mutex_unlock(&s->mu);
}

static void tsrv_stop(tsrv *s) {
  if (write(s->wake[1], "x", 1) < 0) return;
  pthread_join(s->th, NULL);
  close(s->fd);
  close(s->wake[0]);
  close(s->wake[1]);
  pthread_mutex_destroy(&s->mu);
}

/* ---- helpers -------------------------------------------------------------------------- */

static char url_buf[128];
static const char *url(const tsrv *s, const char *path) {
  snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d%s", s->port, path);
  return url_buf;
}

static char *metrics_text(void) {
  char *b = NULL;
  size_t len = 0, cap = 0;
  integ_metrics_write(&b, &len, &cap);
  return b;
}

static int has_line(const char *text, const char *line) {
  char want[256];
  snprintf(want, sizeof want, "%s\n", line);
  return text && strstr(text, want) != NULL;
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST(integ_call_returns_the_answer) {
  tsrv s;
  static const canned ok[] = {{200, "X-Test: yes\r\nCache-Control: max-age=60\r\n", "hello", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_ok"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, ok, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_response r;
  const char *hdrs[] = {"X-Caller: unit", NULL};
  int rc = integ_call_sync(&(integ_request){.integration = "t_ok", .url = url(&s, "/a"), .headers = hdrs}, &r);
  char v[64] = "";
  int vlen = integ_response_header(&r, "x-test", v, sizeof v);
  int cc = integ_response_header(&r, "Cache-Control", v + 8, sizeof v - 8);
  integ_response q;
  /* A POST carries its body. */
  int rc2 = integ_call_sync(&(integ_request){.integration = "t_ok", .url = url(&s, "/b"), .method = "POST",
                                             .body = "abc=1", .body_len = 5}, &q);
  integ_stop(1000);
  tsrv_stop(&s);
  CHECK_EQ_INT(rc, INTEG_OK);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "hello");
  CHECK_EQ_INT(r.body_len, 5);
  CHECK_EQ_INT(r.attempts, 1);
  CHECK_EQ_INT(vlen, 3);
  CHECK_EQ_STR(v, "yes");
  CHECK_EQ_INT(cc, 10);
  CHECK_EQ_STR(v + 8, "max-age=60");
  CHECK_EQ_INT(integ_response_header(&r, "x-missing", v, sizeof v), -1);
  CHECK_EQ_INT(rc2, INTEG_OK);
  CHECK_EQ_STR(s.method, "POST");
  CHECK_EQ_STR(s.body, "abc=1");
  integ_response_clear(&r);
  integ_response_clear(&q);
}

#ifdef VZ_DEBUG
/* Fault injection's "call" kind fails the Nth outbound call as unreachable, before
 * anything is sent; the next one goes out as usual. */
TEST(integ_call_fault_fails_before_sending) {
  tsrv s;
  static const canned ok[] = {{200, "", "fine", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_fault"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, ok, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  vz_fault_arm(&(vz_fault_spec){.kind = VZ_FAULT_CALL, .scope = VZ_FAULT_THREAD, .nth = 1});
  integ_response r, q;
  int rc = integ_call_sync(&(integ_request){.integration = "t_fault", .url = url(&s, "/a")}, &r);
  int hits_after_fault = atomic_load(&s.hits);
  int rc2 = integ_call_sync(&(integ_request){.integration = "t_fault", .url = url(&s, "/a")}, &q);
  vz_fault_disarm();
  integ_stop(1000);
  tsrv_stop(&s);
  CHECK_EQ_INT(rc, INTEG_ECONNECT);
  CHECK_EQ_INT(r.sent, 0); /* nothing left: a caller may say "nothing happened" */
  CHECK_EQ_INT(hits_after_fault, 0);
  CHECK_EQ_INT(rc2, INTEG_OK);
  CHECK_EQ_STR(q.body, "fine");
  integ_response_clear(&r);
  integ_response_clear(&q);
}
#endif

TEST(integ_call_times_out) {
  tsrv s;
  static const canned slow[] = {{200, NULL, "late", 3000}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_slow"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, slow, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_response r;
  int64_t t0 = mono_ms();
  int rc = integ_call_sync(&(integ_request){.integration = "t_slow", .url = url(&s, "/"), .timeout_ms = 200}, &r);
  int64_t took = mono_ms() - t0;
  integ_stop(0);
  tsrv_stop(&s);
  CHECK_EQ_INT(rc, INTEG_ETIMEDOUT);
  CHECK_EQ_INT(r.err, INTEG_ETIMEDOUT);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_INT(r.attempts, 1); /* not idempotent: a sent request is not repeated */
  CHECK_EQ_INT(r.sent, 1);     /* it left: its effect is unknown */
  CHECK(took >= 150 && took < 1500);
  integ_response_clear(&r);
}

TEST(integ_retries_idempotent_on_503) {
  tsrv s;
  static const canned flaky[] = {{503, NULL, "busy", 0}, {503, NULL, "busy", 0}, {200, NULL, "fine", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_retry"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, flaky, 3), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_response r;
  int rc = integ_call_sync(&(integ_request){.integration = "t_retry", .url = url(&s, "/"), .idempotent = 1,
                                            .max_retries = 3, .backoff_ms = 10}, &r);
  int hits = atomic_load(&s.hits);
  /* Retry-After: 1 is waited out; Retry-After: 120 is longer than we hold a caller. */
  static const canned after[] = {{503, "Retry-After: 1\r\n", "", 0}, {200, NULL, "ok", 0}};
  tsrv_script(&s, after, 2);
  integ_response r2;
  int64_t t0 = mono_ms();
  int rc2 = integ_call_sync(&(integ_request){.integration = "t_retry", .url = url(&s, "/"), .idempotent = 1,
                                             .max_retries = 1, .backoff_ms = 10}, &r2);
  int64_t took = mono_ms() - t0;
  static const canned far[] = {{429, "Retry-After: 120\r\n", "", 0}, {200, NULL, "ok", 0}};
  tsrv_script(&s, far, 2);
  integ_response r3;
  int rc3 = integ_call_sync(&(integ_request){.integration = "t_retry", .url = url(&s, "/"), .idempotent = 1,
                                             .max_retries = 3, .max_retry_wait_ms = 2000}, &r3);
  char *m = metrics_text();
  integ_stop(0);
  tsrv_stop(&s);
  CHECK_EQ_INT(rc, INTEG_OK);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "fine");
  CHECK_EQ_INT(r.attempts, 3);
  CHECK_EQ_INT(hits, 3);
  CHECK_EQ_INT(rc2, INTEG_OK);
  CHECK_EQ_INT(r2.status, 200);
  CHECK_EQ_INT(r2.attempts, 2);
  CHECK(took >= 900);
  CHECK_EQ_INT(rc3, INTEG_OK);
  CHECK_EQ_INT(r3.status, 429);
  CHECK_EQ_INT(r3.attempts, 1);
  CHECK_EQ_INT(r3.retry_after_s, 120);
  CHECK(has_line(m, "vidzo_integration_retries_total{integration=\"t_retry\"} 3"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_retry\",outcome=\"server_error\"} 3"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_retry\",outcome=\"throttled\"} 1"));
  free(m);
  integ_response_clear(&r);
  integ_response_clear(&r2);
  integ_response_clear(&r3);
}

TEST(integ_no_retry_for_sent_post_or_4xx) {
  tsrv s;
  static const canned fail[] = {{500, NULL, "boom", 0}, {200, NULL, "ok", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_post"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, fail, 2), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_response r, r2, r3;
  int rc = integ_call_sync(&(integ_request){.integration = "t_post", .url = url(&s, "/charge"), .method = "POST",
                                            .body = "{}", .body_len = 2, .max_retries = 3, .backoff_ms = 10}, &r);
  int hits = atomic_load(&s.hits);
  static const canned missing[] = {{404, NULL, "no", 0}, {200, NULL, "ok", 0}};
  tsrv_script(&s, missing, 2);
  int rc2 = integ_call_sync(&(integ_request){.integration = "t_post", .url = url(&s, "/x"), .idempotent = 1,
                                             .max_retries = 3, .backoff_ms = 10}, &r2);
  int hits2 = atomic_load(&s.hits);
  /* Refused: nothing was sent, so even a POST may be tried again. */
  int dead_port, fd = listen_any(&dead_port);
  close(fd);
  char dead[64];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d/", dead_port);
  int rc3 = integ_call_sync(&(integ_request){.integration = "t_post", .url = dead, .method = "POST",
                                             .max_retries = 2, .backoff_ms = 10}, &r3);
  integ_stop(0);
  tsrv_stop(&s);
  CHECK_EQ_INT(rc, INTEG_OK);
  CHECK_EQ_INT(r.status, 500);
  CHECK_EQ_STR(r.body, "boom");
  CHECK_EQ_INT(r.attempts, 1);
  CHECK_EQ_INT(hits, 1);
  CHECK_EQ_INT(rc2, INTEG_OK);
  CHECK_EQ_INT(r2.status, 404);
  CHECK_EQ_INT(r2.attempts, 1);
  CHECK_EQ_INT(hits2, 1);
  CHECK_EQ_INT(rc3, INTEG_ECONNECT);
  CHECK_EQ_INT(r3.attempts, 3);
  integ_response_clear(&r);
  integ_response_clear(&r2);
  integ_response_clear(&r3);
}

typedef struct probe_wait {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, err;
  long status;
} probe_wait;

static void probe_done(integ_response *res, void *arg) {
  probe_wait *w = arg;
  pthread_mutex_lock(&w->mu);
  w->err = res->err;
  w->status = res->status;
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

TEST(integ_breaker_fails_fast_and_recovers) {
  tsrv s;
  static const canned down[] = {{500, NULL, "down", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_brk", .failures = 3, .cooldown_ms = 300}), 0);
  CHECK_EQ_INT(tsrv_start(&s, down, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_request rq = {.integration = "t_brk", .url = url(&s, "/"), .idempotent = 1};
  integ_response r;
  int statuses = 0;
  for (int i = 0; i < 3; i++) {
    if (integ_call_sync(&rq, &r) == INTEG_OK && r.status == 500) statuses++;
    integ_response_clear(&r);
  }
  int ra = 0, st_open = integ_breaker_state("t_brk", &ra);
  int64_t t0 = mono_ms();
  int rc_fast = integ_call_sync(&rq, &r);
  int64_t fast_ms = mono_ms() - t0;
  int fast_attempts = r.attempts, fast_ra = r.retry_after_s;
  integ_response_clear(&r);
  int hits_open = atomic_load(&s.hits);
  /* After the cool-down one probe goes out (the server is slow to answer it); a call made
   * meanwhile still fails fast; the probe's success closes the breaker. */
  static const canned up[] = {{200, NULL, "up", 300}, {200, NULL, "up", 0}};
  tsrv_script(&s, up, 2);
  usleep(350 * 1000);
  probe_wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  int rc_probe = integ_call(&rq, NULL, probe_done, &w);
  usleep(50 * 1000);
  int st_half = integ_breaker_state("t_brk", NULL);
  int rc_during = integ_call_sync(&rq, &r);
  integ_response_clear(&r);
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  int st_closed = integ_breaker_state("t_brk", NULL);
  int rc_after = integ_call_sync(&rq, &r);
  long st_after = r.status;
  integ_response_clear(&r);
  char *m = metrics_text();
  integ_stop(0);
  tsrv_stop(&s);
  CHECK_EQ_INT(statuses, 3);
  CHECK_EQ_INT(st_open, INTEG_OPEN);
  CHECK(ra >= 1);
  CHECK_EQ_INT(rc_fast, INTEG_EOPEN);
  CHECK(fast_ms < 250);
  CHECK_EQ_INT(fast_attempts, 0);
  CHECK_EQ_INT(fast_ra, 1);
  CHECK_EQ_INT(hits_open, 3); /* failing fast never reached the remote */
  CHECK_EQ_INT(rc_probe, 0);
  CHECK_EQ_INT(st_half, INTEG_HALF_OPEN);
  CHECK_EQ_INT(rc_during, INTEG_EOPEN);
  CHECK_EQ_INT(w.err, INTEG_OK);
  CHECK_EQ_INT(w.status, 200);
  CHECK_EQ_INT(st_closed, INTEG_CLOSED);
  CHECK_EQ_INT(rc_after, INTEG_OK);
  CHECK_EQ_INT(st_after, 200);
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_brk\",outcome=\"open\"} 2"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_brk\",outcome=\"server_error\"} 3"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_brk\",outcome=\"ok\"} 2"));
  CHECK(has_line(m, "vidzo_integration_breaker_opens_total{integration=\"t_brk\"} 1"));
  CHECK(has_line(m, "vidzo_integration_breaker_state{integration=\"t_brk\"} 0"));
  free(m);
}

static atomic_int cancelled, finished;

static void count_done(integ_response *res, void *arg) {
  if (res->err == INTEG_ECANCELED) atomic_fetch_add(&cancelled, 1);
  else if (res->err == INTEG_OK && res->status == 200) atomic_fetch_add(&finished, 1);
  free(arg); /* the caller's state: a callback that never ran would leak it (ASan) */
}

static void *sync_caller(void *arg) {
  integ_response r;
  long rc = integ_call_sync(arg, &r);
  integ_response_clear(&r);
  return (void *)rc;
}

TEST(integ_stop_cancels_or_drains_in_flight) {
  tsrv s;
  static const canned stuck[] = {{200, NULL, "never", 10000}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_stop"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, stuck, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  atomic_store(&cancelled, 0);
  atomic_store(&finished, 0);
  integ_request rq = {.integration = "t_stop", .url = url(&s, "/"), .idempotent = 1, .max_retries = 2};
  int submitted = 0;
  for (int i = 0; i < 5; i++) submitted += integ_call(&rq, NULL, count_done, malloc(32)) == 0;
  pthread_t th;
  pthread_create(&th, NULL, sync_caller, &rq);
  usleep(200 * 1000);
  int64_t t0 = mono_ms();
  integ_stop(100);
  int64_t took = mono_ms() - t0;
  void *sync_rc;
  pthread_join(th, &sync_rc);
  int after = integ_call(&rq, NULL, count_done, NULL);
  integ_response r;
  int after_sync = integ_call_sync(&rq, &r);
  integ_response_clear(&r);
  /* With a grace longer than the answer takes, the call finishes instead. */
  static const canned quick[] = {{200, NULL, "ok", 200}};
  tsrv_script(&s, quick, 1);
  CHECK_EQ_INT(integ_start(), 0);
  int drained = integ_call(&rq, NULL, count_done, malloc(32));
  usleep(50 * 1000);
  integ_stop(3000);
  tsrv_stop(&s);
  CHECK_EQ_INT(submitted, 5);
  CHECK_EQ_INT(atomic_load(&cancelled), 5);
  CHECK_EQ_INT((long)sync_rc, INTEG_ECANCELED);
  CHECK(took >= 90 && took < 2000);
  CHECK_EQ_INT(after, INTEG_ESTOPPED);
  CHECK_EQ_INT(after_sync, INTEG_ESTOPPED);
  CHECK_EQ_INT(drained, 0);
  CHECK_EQ_INT(atomic_load(&finished), 1);
}

TEST(integ_refuses_bad_calls) {
  tsrv s;
  static const canned big[] = {{200, NULL, "0123456789abcdef", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_lim"}), 0);
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_lim", .failures = 1}), 0); /* kept */
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "Bad-Name"}), -1);
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = ""}), -1);
  CHECK_EQ_INT(integ_breaker_state("t_nope", NULL), -1);
  CHECK_EQ_INT(tsrv_start(&s, big, 1), 0);
  integ_response r;
  integ_request rq = {.integration = "t_lim", .url = url(&s, "/")};
  CHECK_EQ_INT(integ_call_sync(&rq, &r), INTEG_ESTOPPED); /* not started */
  CHECK_EQ_INT(integ_start(), 0);
  int too_big = integ_call_sync(&(integ_request){.integration = "t_lim", .url = url(&s, "/"), .max_response = 10}, &r);
  integ_response_clear(&r);
  int https_only = integ_call_sync(&(integ_request){.integration = "t_lim", .url = url(&s, "/"), .protocols = "https"}, &r);
  integ_response_clear(&r);
  int unknown = integ_call_sync(&(integ_request){.integration = "t_nope", .url = url(&s, "/")}, &r);
  integ_response_clear(&r);
  int no_url = integ_call_sync(&(integ_request){.integration = "t_lim"}, &r);
  int hits = atomic_load(&s.hits);
  int st = integ_breaker_state("t_lim", NULL);
  integ_stop(0);
  tsrv_stop(&s);
  CHECK_EQ_INT(too_big, INTEG_ETOOBIG);
  CHECK_EQ_INT(https_only, INTEG_EINVAL);
  CHECK_EQ_INT(unknown, INTEG_EINVAL);
  CHECK_EQ_INT(no_url, INTEG_EINVAL);
  CHECK_EQ_INT(hits, 1);
  CHECK_EQ_INT(st, INTEG_CLOSED); /* none of these is the remote failing */
}

TEST(integ_metrics_series) {
  tsrv s;
  static const canned ok[] = {{200, NULL, "ok", 0}};
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_met"}), 0);
  CHECK_EQ_INT(tsrv_start(&s, ok, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  integ_response r;
  int rc = integ_call_sync(&(integ_request){.integration = "t_met", .url = url(&s, "/")}, &r);
  integ_response_clear(&r);
  integ_stop(0);
  tsrv_stop(&s);
  char *m = metrics_text();
  CHECK_EQ_INT(rc, INTEG_OK);
  CHECK(m && strstr(m, "# TYPE vidzo_integration_requests_total counter\n"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_met\",outcome=\"ok\"} 1"));
  CHECK(has_line(m, "vidzo_integration_requests_total{integration=\"t_met\",outcome=\"timeout\"} 0"));
  CHECK(has_line(m, "vidzo_integration_breaker_state{integration=\"t_met\"} 0"));
  CHECK(has_line(m, "vidzo_integration_request_seconds_bucket{integration=\"t_met\",le=\"+Inf\"} 1"));
  CHECK(has_line(m, "vidzo_integration_request_seconds_count{integration=\"t_met\"} 1"));
  CHECK(strstr(m, "# TYPE vidzo_integration_request_seconds histogram\n"));
  free(m);
}

/* ---- calls made from an io loop --------------------------------------------------------- */

static tsrv loop_quick, loop_stuck;
static int loop_test_on;
static atomic_int quick_on_loop, quick_status, stuck_on_loop, stuck_err;
static int64_t stop_ms;

static void quick_done(integ_response *res, void *arg) {
  atomic_store(&quick_on_loop, vz_loop_current() == arg);
  atomic_store(&quick_status, (int)res->status);
  stop_ms = mono_ms();
  vz_server_stop(); /* the stuck call still holds the loop: the drain must end it */
}

static void stuck_done(integ_response *res, void *arg) {
  atomic_store(&stuck_on_loop, vz_loop_current() == arg);
  atomic_store(&stuck_err, res->err);
}

static void loop_started(vz_loop *l) {
  if (!loop_test_on) return;
  integ_request q = {.integration = "t_loop", .url = url(&loop_quick, "/")};
  integ_call(&q, l, quick_done, l);
  integ_request s = {.integration = "t_loop", .url = url(&loop_stuck, "/"), .timeout_ms = 30000};
  integ_call(&s, l, stuck_done, l);
}

TEST(integ_loop_calls_complete_on_the_loop_and_end_with_its_drain) {
  static const canned quick[] = {{200, NULL, "ok", 50}}, stuck[] = {{200, NULL, "late", 20000}};
  vz_config saved = vz_cfg;
  int port, fd = listen_any(&port);
  close(fd);
  vz_config_defaults(&vz_cfg);
  vz_cfg.port = port;
  snprintf(vz_cfg.bind, sizeof vz_cfg.bind, "127.0.0.1");
  vz_cfg.threads = 1;
  vz_cfg.shutdown_timeout = 1;
  CHECK_EQ_INT(integ_register(&(integ_conf){.name = "t_loop"}), 0);
  CHECK_EQ_INT(tsrv_start(&loop_quick, quick, 1), 0);
  CHECK_EQ_INT(tsrv_start(&loop_stuck, stuck, 1), 0);
  CHECK_EQ_INT(integ_start(), 0);
  vz_on_loop_start(loop_started);
  loop_test_on = 1;
  int rc = vz_server_run();
  int64_t drain_ms = mono_ms() - stop_ms;
  loop_test_on = 0;
  integ_stop(0);
  tsrv_stop(&loop_quick);
  tsrv_stop(&loop_stuck);
  vz_cfg = saved;
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(atomic_load(&quick_on_loop), 1);
  CHECK_EQ_INT(atomic_load(&quick_status), 200);
  CHECK_EQ_INT(atomic_load(&stuck_on_loop), 1);
  CHECK_EQ_INT(atomic_load(&stuck_err), INTEG_ECANCELED);
  /* Canceled 250 ms before the 1 s shutdown deadline, so the loop never had to force it. */
  CHECK(drain_ms >= 600 && drain_ms < 1000);
}
