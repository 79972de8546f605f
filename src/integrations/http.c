/* integrations/http: the client thread. One thread owns a libcurl multi handle and every
 * call in flight; other threads only append to the submission list under `cl.mu` and wake
 * it with curl_multi_wakeup. So the breakers, the retry timers and the easy handles need no
 * locks: the thread is their only writer (counters read by /metrics are relaxed atomics).
 *
 * A call moves between two thread-local lists: `waiting` (submitted, or backing off before
 * a retry, with a due time) and `active` (an attempt in the multi handle). Each pass takes
 * the new submissions, starts the due attempts (the breaker may fail them fast), lets curl
 * work, settles the finished attempts (retry or complete), then polls until the next due
 * time, a socket event or a wakeup.
 *
 * Completion runs the caller's callback once: posted to the caller's io loop, or on this
 * thread. An io loop drains before the server stops; a drain hook tells this thread to
 * cancel the calls of a draining loop shortly before that loop's deadline, so no post is
 * ever made to a loop that has gone away. */
#include "integrations/http.h"
#include "core/fault.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/version.h"
#include "lib/clock.h"

#define INTEG_MAX 32
#define MAX_DRAINS 256
#define HEADERS_MAX (64 * 1024)

enum { O_OK, O_CLIENT_ERROR, O_THROTTLED, O_SERVER_ERROR, O_TIMEOUT, O_CONNECT, O_NETWORK,
       O_TOO_BIG, O_ERROR, O_OPEN, O_CANCELLED, NOUT };
static const char *const out_names[NOUT] = {
    "ok", "client_error", "throttled", "server_error", "timeout", "connect_error",
    "network_error", "too_big", "error", "open", "cancelled"};
#define NLAT 11
static const double lat_bounds[NLAT] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

typedef struct integ {
  char name[32];
  integ_breaker br;
  atomic_ulong outcomes[NOUT], retries, opens;
  atomic_ulong lat[NLAT + 1], lat_count, lat_sum_us; /* per-bucket, cumulated when rendered */
} integ;

/* Append-only: an entry is complete before nreg counts it, so readers need no lock. */
static integ registry[INTEG_MAX];
static atomic_int nreg;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct call {
  struct call *next;
  integ *ig;
  char *url, *method, *protocols, *body;
  size_t body_len, max_response, body_cap, hdr_cap;
  struct curl_slist *hdrs;
  int timeout_ms, connect_timeout_ms, max_retries, idempotent, backoff_ms, max_retry_wait_ms;
  uint64_t start_ms, deadline_ms, due_ms; /* deadline 0: none */
  vz_loop *loop;
  integ_done_fn done;
  void *arg;
  CURL *easy;
  int probe, too_big;
  integ_response res;
  char errbuf[CURL_ERROR_SIZE];
} call;

typedef struct drain_mark { vz_loop *loop; uint64_t by_ms; } drain_mark;

static struct {
  pthread_mutex_t mu; /* guards all below */
  pthread_t thread;
  CURLM *multi;
  int running, stopping;
  uint64_t stop_at_ms;
  call *submitted, **sub_tail;
  drain_mark drains[MAX_DRAINS];
  int ndrains;
} cl = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Client-thread only. */
static call *active, *waiting;
static drain_mark t_drains[MAX_DRAINS];
static int t_ndrains;
static uint64_t rng;
static _Thread_local int on_client_thread;


const char *integ_strerror(int err) {
  switch (err) {
  case INTEG_OK: return "ok";
  case INTEG_EINVAL: return "invalid request";
  case INTEG_ESTOPPED: return "integrations not running";
  case INTEG_ENOMEM: return "out of memory";
  case INTEG_EOPEN: return "circuit breaker open";
  case INTEG_ETIMEDOUT: return "timed out";
  case INTEG_ECONNECT: return "could not connect";
  case INTEG_ENETWORK: return "connection failed";
  case INTEG_ETOOBIG: return "response too large";
  case INTEG_ECANCELED: return "canceled";
  default: return "transfer failed";
  }
}

/* ---- registry ------------------------------------------------------------------------ */

static integ *find(const char *name) {
  int n = atomic_load_explicit(&nreg, memory_order_acquire);
  for (int i = 0; name && i < n; i++)
    if (strcmp(registry[i].name, name) == 0) return &registry[i];
  return NULL;
}

int integ_register(const integ_conf *c) {
  size_t len = c && c->name ? strlen(c->name) : 0;
  if (len == 0 || len >= sizeof registry[0].name) return -1;
  for (size_t i = 0; i < len; i++)
    if (!((c->name[i] >= 'a' && c->name[i] <= 'z') || (c->name[i] >= '0' && c->name[i] <= '9') ||
          c->name[i] == '_'))
      return -1;
  pthread_mutex_lock(&reg_mu);
  int rc = 0, n = atomic_load(&nreg);
  if (!find(c->name)) {
    if (n == INTEG_MAX) {
      rc = -1;
    } else {
      integ *ig = &registry[n];
      memset(ig, 0, sizeof *ig);
      memcpy(ig->name, c->name, len + 1);
      integ_breaker_init(&ig->br, c->failures, c->window_ms, c->min_requests, c->failure_pct,
                         c->cooldown_ms);
      atomic_store_explicit(&nreg, n + 1, memory_order_release);
    }
  }
  pthread_mutex_unlock(&reg_mu);
  if (rc < 0) vz_log_error("integrations: registry full or bad name", "integration", c->name);
  return rc;
}

int integ_breaker_state(const char *name, int *retry_after_s) {
  integ *ig = find(name);
  if (!ig) return -1;
  if (retry_after_s) *retry_after_s = (int)((integ_breaker_wait_ms(&ig->br, vz_mono_ms()) + 999) / 1000);
  return atomic_load_explicit(&ig->br.state, memory_order_relaxed);
}

/* ---- responses ----------------------------------------------------------------------- */

int integ_base_url_ok(const char *b, size_t n) {
  if (n >= 8 && !strncmp(b, "https://", 8)) return 1;
  static const char *const local[] = { "http://127.0.0.1", "http://localhost", "http://[::1]", NULL };
  for (int i = 0; local[i]; i++) {
    size_t l = strlen(local[i]);
    if (n >= l && !strncmp(b, local[i], l) && (n == l || b[l] == ':' || b[l] == '/')) return 1;
  }
  return 0;
}

int integ_response_header(const integ_response *res, const char *name, char *out, size_t outlen) {
  size_t nlen = strlen(name);
  const char *p = res->headers, *end = p ? p + res->headers_len : NULL;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
      const char *v = p + nlen + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      if (outlen) snprintf(out, outlen, "%.*s", (int)(ve - v), v);
      return (int)(ve - v);
    }
    p = eol + 1;
  }
  return -1;
}

void integ_response_clear(integ_response *res) {
  free(res->body);
  free(res->headers);
  memset(res, 0, sizeof *res);
}

static int grow(char **p, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 1024;
  while (ncap < need) ncap *= 2;
  char *np = realloc(*p, ncap);
  if (!np) return -1;
  *p = np;
  *cap = ncap;
  return 0;
}

static size_t on_body(char *d, size_t sz, size_t nm, void *ud) {
  call *c = ud;
  size_t n = sz * nm;
  if (c->res.body_len + n > c->max_response) {
    c->too_big = 1;
    return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
  }
  if (grow(&c->res.body, &c->body_cap, c->res.body_len + n + 1) < 0) return 0;
  memcpy(c->res.body + c->res.body_len, d, n);
  c->res.body_len += n;
  c->res.body[c->res.body_len] = 0;
  return n;
}

/* Keeps the header block of the last response only (a 100 Continue comes first). */
static size_t on_header(char *d, size_t sz, size_t nm, void *ud) {
  call *c = ud;
  size_t n = sz * nm;
  if (n >= 5 && memcmp(d, "HTTP/", 5) == 0) c->res.headers_len = 0;
  if (c->res.headers_len + n > HEADERS_MAX) return n; /* ignore the excess, keep the body */
  if (grow(&c->res.headers, &c->hdr_cap, c->res.headers_len + n + 1) < 0) return 0;
  memcpy(c->res.headers + c->res.headers_len, d, n);
  c->res.headers_len += n;
  c->res.headers[c->res.headers_len] = 0;
  return n;
}

/* ---- calls --------------------------------------------------------------------------- */

static void call_free(call *c) {
  if (c->easy) curl_easy_cleanup(c->easy);
  curl_slist_free_all(c->hdrs);
  integ_response_clear(&c->res);
  free(c->url);
  free(c->method);
  free(c->protocols);
  free(c->body);
  free(c);
}

static void deliver_on_loop(void *arg) {
  call *c = arg;
  vz_loop_hold(c->loop, -1);
  c->done(&c->res, c->arg);
  call_free(c);
}

static void complete(call *c) {
  c->res.seconds = (double)(vz_mono_ms() - c->start_ms) / 1000.0;
  if (c->easy) {
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
  }
  if (c->loop) {
    if (vz_loop_post(c->loop, deliver_on_loop, c) == 0) return;
    /* Its loop has stopped: nothing there will run again; the callback may only free. */
    c->res.err = INTEG_ECANCELED;
  }
  c->done(&c->res, c->arg);
  call_free(c);
}

static void count(integ *ig, int out) {
  atomic_fetch_add_explicit(&ig->outcomes[out], 1, memory_order_relaxed);
}

static void list_remove(call **head, call *c) {
  for (call **pp = head; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      c->next = NULL;
      return;
    }
}

/* Waiting list in due order, so the head is the next thing to do. */
static void wait_until(call *c, uint64_t due) {
  call **pp = &waiting;
  c->due_ms = due;
  while (*pp && (*pp)->due_ms <= due) pp = &(*pp)->next;
  c->next = *pp;
  *pp = c;
}

static uint64_t drain_by(const vz_loop *l) {
  for (int i = 0; l && i < t_ndrains; i++)
    if (t_drains[i].loop == l) return t_drains[i].by_ms;
  return 0;
}

static void set_method(call *c) {
  CURL *e = c->easy;
  const char *m = c->method;
  if (!strcmp(m, "GET") && !c->body_len) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (!strcmp(m, "HEAD")) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    /* POSTFIELDS even when empty: PUT and POST then carry Content-Length: 0. */
    if (c->body_len || strcmp(m, "DELETE") != 0) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body ? c->body : "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
    }
    if (strcmp(m, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  }
}

/* Starts the next attempt of c, unless the breaker, the deadline or memory say no. */
static void attempt_start(call *c, uint64_t now) {
  long timeout = c->timeout_ms;
  if (c->deadline_ms) {
    if (now >= c->deadline_ms) {
      if (!c->res.attempts) c->res.err = INTEG_ETIMEDOUT, count(c->ig, O_TIMEOUT);
      complete(c);
      return;
    }
    if (c->deadline_ms - now < (uint64_t)timeout) timeout = (long)(c->deadline_ms - now);
  }
  if (!integ_breaker_allow(&c->ig->br, now, &c->probe)) {
    if (!c->res.attempts) { /* with a real answer from an earlier attempt, return that */
      uint64_t w = integ_breaker_wait_ms(&c->ig->br, now);
      c->res.err = INTEG_EOPEN;
      c->res.retry_after_s = w ? (int)((w + 999) / 1000) : 1;
      count(c->ig, O_OPEN);
    }
    complete(c);
    return;
  }
  if (!c->easy && !(c->easy = curl_easy_init())) goto nomem;
  c->res.err = 0;
  c->res.status = 0;
  c->res.body_len = c->res.headers_len = 0; /* the buffers are reused, kept NUL-terminated */
  if (c->res.body) c->res.body[0] = 0;
  if (c->res.headers) c->res.headers[0] = 0;
  c->res.retry_after_s = 0;
  c->too_big = 0;
  c->errbuf[0] = 0;
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_URL, c->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, c);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->protocols);
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, c->protocols);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(c->connect_timeout_ms < timeout ? c->connect_timeout_ms : timeout));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "vidzo/" VZ_VERSION);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
  set_method(c);
  if (curl_multi_add_handle(cl.multi, e) != CURLM_OK) goto nomem;
  c->res.attempts++;
  c->next = active;
  active = c;
  return;
nomem:
  integ_breaker_record(&c->ig->br, now, 0, c->probe);
  if (!c->res.attempts) c->res.err = INTEG_ENOMEM, count(c->ig, O_ERROR);
  complete(c);
}

/* Seconds from Retry-After (RFC 9110 10.2.3: delay-seconds or an HTTP-date), or -1. */
static long retry_after_ms(const integ_response *res) {
  char v[64];
  if (integ_response_header(res, "retry-after", v, sizeof v) <= 0) return -1;
  char *end;
  long s = strtol(v, &end, 10);
  if (end != v && *end == 0) return s < 0 ? 0 : (s > 86400 ? 86400000 : s * 1000);
  time_t t = curl_getdate(v, NULL);
  if (t < 0) return -1;
  time_t now = time(NULL);
  return t <= now ? 0 : (t - now > 86400 ? 86400000 : (long)(t - now) * 1000);
}

static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Exponential backoff with jitter: the n-th retry waits between half and all of
 * backoff_ms * 2^(n-1), capped at 5 s, so callers that failed together spread out. */
static uint64_t backoff(const call *c) {
  uint64_t d = (uint64_t)c->backoff_ms;
  for (int i = 1; i < c->res.attempts && d < 5000; i++) d *= 2;
  if (d > 5000) d = 5000;
  return d / 2 + next_rand() % (d / 2 + 1);
}

/* Settles a finished attempt: counts it, feeds the breaker, then retries or completes. */
static void attempt_done(call *c, CURLcode rc, uint64_t now, int stopping) {
  integ *ig = c->ig;
  curl_multi_remove_handle(cl.multi, c->easy);
  list_remove(&active, c);
  long status = 0;
  curl_off_t pre = 0, total = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total);
  int sent = rc == CURLE_OK || pre > 0; /* did the request leave? if not, any retry is safe */
  if (sent) c->res.sent = 1;
  int out, verdict, retry = 0, err = 0;  /* verdict: breaker success 1, failure -1, neither 0 */
  switch (rc) {
  case CURLE_OK:
    c->res.status = status;
    if (status == 429) out = O_THROTTLED, verdict = -1, retry = c->idempotent;
    else if (status >= 500) out = O_SERVER_ERROR, verdict = -1, retry = c->idempotent && status != 501;
    else out = status >= 400 ? O_CLIENT_ERROR : O_OK, verdict = 1;
    break;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    err = INTEG_ECONNECT, out = O_CONNECT, verdict = -1, retry = 1;
    break;
  case CURLE_OPERATION_TIMEDOUT:
    err = INTEG_ETIMEDOUT, out = O_TIMEOUT, verdict = -1, retry = c->idempotent || !sent;
    break;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    err = INTEG_ENETWORK, out = O_NETWORK, verdict = -1, retry = c->idempotent || !sent;
    break;
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    err = INTEG_EINVAL, out = O_ERROR, verdict = 0; /* ours, not the remote's */
    break;
  case CURLE_WRITE_ERROR:
    if (c->too_big) {
      err = INTEG_ETOOBIG, out = O_TOO_BIG, verdict = 1; /* it answered */
      break;
    }
    /* fall through */
  default:
    err = INTEG_EPROTO, out = O_ERROR, verdict = -1;
    break;
  }
  c->res.err = err;
  if (err) c->res.status = 0;
  count(ig, out);
  double secs = (double)total / 1e6;
  int b = 0;
  while (b < NLAT && secs > lat_bounds[b]) b++;
  atomic_fetch_add_explicit(&ig->lat[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&ig->lat_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&ig->lat_sum_us, (unsigned long)total, memory_order_relaxed);
  if (integ_breaker_record(&ig->br, now, verdict, c->probe)) {
    char why[32];
    snprintf(why, sizeof why, "status %ld", status);
    atomic_fetch_add_explicit(&ig->opens, 1, memory_order_relaxed);
    vz_log_warn("integration breaker opened", "integration", ig->name, "error",
                err ? integ_strerror(err) : why);
  } else if (c->probe && verdict > 0) {
    vz_log_info("integration breaker closed", "integration", ig->name);
  }
  c->probe = 0;
  if (c->res.status == 429 || c->res.status == 503) {
    long ra = retry_after_ms(&c->res);
    if (ra >= 0) {
      c->res.retry_after_s = (int)((ra + 999) / 1000);
      if (ra > c->max_retry_wait_ms) retry = 0; /* longer than we will hold a caller */
    }
  }
  /* No retry into an open breaker (this attempt may just have opened it). */
  if (retry && c->res.attempts <= c->max_retries && !stopping && !drain_by(c->loop) &&
      atomic_load_explicit(&ig->br.state, memory_order_relaxed) != INTEG_OPEN) {
    uint64_t d = backoff(c);
    if (c->res.retry_after_s && (uint64_t)c->res.retry_after_s * 1000 > d)
      d = (uint64_t)c->res.retry_after_s * 1000;
    if (!c->deadline_ms || now + d < c->deadline_ms) {
      atomic_fetch_add_explicit(&ig->retries, 1, memory_order_relaxed);
      wait_until(c, now + d);
      return;
    }
  }
  complete(c);
}

/* Ends an attempt in flight without an answer (stop, or its loop is draining). */
static void cancel_active(call *c, uint64_t now) {
  curl_multi_remove_handle(cl.multi, c->easy);
  list_remove(&active, c);
  integ_breaker_record(&c->ig->br, now, 0, c->probe);
  count(c->ig, O_CANCELLED);
  c->res.sent = 1; /* cut off in flight: it may have left */
  c->res.err = INTEG_ECANCELED;
  c->res.status = 0;
  complete(c);
}

static void harvest(uint64_t now, int stopping) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(cl.multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL *e = m->easy_handle;
    CURLcode rc = m->data.result;
    char *c = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &c);
    attempt_done((call *)c, rc, now, stopping);
  }
}

static void *client_main(void *unused) {
  (void)unused;
  on_client_thread = 1;
  rng = vz_mono_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
  for (;;) {
    pthread_mutex_lock(&cl.mu);
    call *fresh = cl.submitted;
    cl.submitted = NULL;
    cl.sub_tail = &cl.submitted;
    int stopping = cl.stopping;
    uint64_t stop_at = cl.stop_at_ms;
    t_ndrains = cl.ndrains;
    memcpy(t_drains, cl.drains, sizeof t_drains[0] * (size_t)t_ndrains);
    pthread_mutex_unlock(&cl.mu);

    uint64_t now = vz_mono_ms();
    while (fresh) {
      call *c = fresh;
      fresh = c->next;
      wait_until(c, now);
    }
    /* Due attempts start. While stopping nothing new starts: a call waiting to retry
     * returns its last answer, one never started is canceled. A draining loop's calls make
     * no more retries either. */
    for (call **pp = &waiting; *pp;) {
      call *c = *pp;
      int drained = drain_by(c->loop) != 0;
      if (!stopping && !drained && c->due_ms > now) {
        pp = &c->next;
        continue;
      }
      *pp = c->next;
      c->next = NULL;
      if (stopping || (drained && c->res.attempts)) {
        if (!c->res.attempts) c->res.err = INTEG_ECANCELED, count(c->ig, O_CANCELLED);
        complete(c);
      } else {
        attempt_start(c, now);
      }
    }
    int still = 0;
    curl_multi_perform(cl.multi, &still);
    now = vz_mono_ms();
    harvest(now, stopping);
    /* Past the grace (stop) or a draining loop's cut-off, what is in flight is canceled. */
    for (call *c = active, *next; c; c = next) {
      next = c->next;
      uint64_t by = drain_by(c->loop);
      if ((stopping && now >= stop_at) || (by && now >= by)) cancel_active(c, now);
    }
    if (stopping && !active && !waiting) break;
    uint64_t wait = 1000;
    if (waiting) wait = waiting->due_ms > now ? waiting->due_ms - now : 0;
    if (stopping && stop_at > now && stop_at - now < wait) wait = stop_at - now;
    for (call *c = active; c; c = c->next) {
      uint64_t by = drain_by(c->loop);
      if (by) wait = by > now ? (by - now < wait ? by - now : wait) : 0;
    }
    if (wait > 1000) wait = 1000;
    curl_multi_poll(cl.multi, NULL, 0, (int)wait, NULL);
  }
  return NULL;
}

/* Drain hook, on loop l's thread: its calls must be done before its own shutdown deadline
 * closes it, so they are canceled a little before that deadline. */
static void on_loop_drain(vz_loop *l) {
  uint64_t grace = (uint64_t)vz_cfg.shutdown_timeout * 1000;
  uint64_t margin = grace / 2 < 250 ? grace / 2 : 250;
  pthread_mutex_lock(&cl.mu);
  if (cl.running && cl.ndrains < MAX_DRAINS) {
    cl.drains[cl.ndrains++] = (drain_mark){l, vz_mono_ms() + grace - margin};
    curl_multi_wakeup(cl.multi);
  }
  pthread_mutex_unlock(&cl.mu);
}

int integ_call(const integ_request *req, vz_loop *loop, integ_done_fn done, void *arg) {
  if (!req || !req->url || !done) return INTEG_EINVAL;
  integ *ig = find(req->integration);
  if (!ig) return INTEG_EINVAL;
  assert(!loop || loop == vz_loop_current()); /* the loop is held, and only its thread may */
  call *c = calloc(1, sizeof *c);
  if (!c) return INTEG_ENOMEM;
  c->ig = ig;
  c->url = strdup(req->url);
  c->method = strdup(req->method ? req->method : "GET");
  c->protocols = strdup(req->protocols ? req->protocols : "http,https");
  c->body_len = req->body ? req->body_len : 0;
  if (c->body_len && (c->body = malloc(c->body_len))) memcpy(c->body, req->body, c->body_len);
  int ok = c->url && c->method && c->protocols && (!c->body_len || c->body);
  for (const char *const *h = req->headers; ok && h && *h; h++) {
    struct curl_slist *n = curl_slist_append(c->hdrs, *h);
    if (!n) ok = 0;
    else c->hdrs = n;
  }
  /* No "Expect: 100-continue": a remote that ignores it costs every upload a second. */
  struct curl_slist *n = ok ? curl_slist_append(c->hdrs, "Expect:") : NULL;
  if (!n) {
    call_free(c);
    return INTEG_ENOMEM;
  }
  c->hdrs = n;
  c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 10000;
  c->connect_timeout_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                          : (c->timeout_ms < 3000 ? c->timeout_ms : 3000);
  c->max_retries = req->max_retries > 0 ? req->max_retries : 0;
  c->idempotent = req->idempotent;
  c->backoff_ms = req->backoff_ms > 0 ? req->backoff_ms : 100;
  c->max_retry_wait_ms = req->max_retry_wait_ms > 0 ? req->max_retry_wait_ms : 5000;
  c->max_response = req->max_response ? req->max_response : 1024 * 1024;
  c->start_ms = vz_mono_ms();
  c->deadline_ms = req->deadline_ms > 0 ? c->start_ms + (uint64_t)req->deadline_ms : 0;
  c->loop = loop;
  c->done = done;
  c->arg = arg;
  pthread_mutex_lock(&cl.mu);
  if (!cl.running || cl.stopping) {
    pthread_mutex_unlock(&cl.mu);
    call_free(c);
    return INTEG_ESTOPPED;
  }
  if (loop) vz_loop_hold(loop, 1);
  *cl.sub_tail = c;
  cl.sub_tail = &c->next;
  curl_multi_wakeup(cl.multi); /* under the lock: stop cannot free the handle meanwhile */
  pthread_mutex_unlock(&cl.mu);
  return 0;
}

/* ---- blocking calls ------------------------------------------------------------------ */

typedef struct sync_wait {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  integ_response *out;
} sync_wait;

/* On the client thread. The waiter's frame may vanish once mu is released: touch nothing
 * of it after the unlock. */
static void sync_done(integ_response *res, void *arg) {
  sync_wait *w = arg;
  pthread_mutex_lock(&w->mu);
  *w->out = *res;
  res->body = res->headers = NULL; /* moved to the waiter */
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int integ_call_sync(const integ_request *req, integ_response *res) {
  assert(vz_loop_current() == NULL); /* an io loop must never wait on the network */
  assert(!on_client_thread);         /* a callback waiting on its own thread: deadlock */
  memset(res, 0, sizeof *res);
  /* debug builds: an armed "call" fault fails this call as if nothing could be reached,
   * counted on the caller's thread (the handler's window), never on the client thread */
  if (vz_fault_hit(VZ_FAULT_CALL)) return res->err = INTEG_ECONNECT;
  sync_wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .out = res};
  int rc = integ_call(req, NULL, sync_done, &w);
  if (rc < 0) {
    res->err = rc;
    return rc;
  }
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  return res->err;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

int integ_start(void) {
  static int hooked;
  pthread_mutex_lock(&cl.mu);
  if (cl.running) {
    pthread_mutex_unlock(&cl.mu);
    return 0;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(cl.multi = curl_multi_init())) {
    pthread_mutex_unlock(&cl.mu);
    return -1;
  }
  cl.submitted = NULL;
  cl.sub_tail = &cl.submitted;
  cl.stopping = cl.ndrains = 0;
  if (pthread_create(&cl.thread, NULL, client_main, NULL) != 0) {
    curl_multi_cleanup(cl.multi);
    cl.multi = NULL;
    curl_global_cleanup();
    pthread_mutex_unlock(&cl.mu);
    return -1;
  }
  cl.running = 1;
  if (!hooked) { /* both registries are append-only, once per process */
    hooked = 1;
    vz_metrics_register(integ_metrics_write);
    vz_on_drain(on_loop_drain);
  }
  pthread_mutex_unlock(&cl.mu);
  return 0;
}

void integ_stop(int grace_ms) {
  pthread_mutex_lock(&cl.mu);
  if (!cl.running || cl.stopping) {
    pthread_mutex_unlock(&cl.mu);
    return;
  }
  cl.stopping = 1;
  cl.stop_at_ms = vz_mono_ms() + (uint64_t)(grace_ms > 0 ? grace_ms : 0);
  curl_multi_wakeup(cl.multi);
  pthread_mutex_unlock(&cl.mu);
  pthread_join(cl.thread, NULL);
  pthread_mutex_lock(&cl.mu);
  curl_multi_cleanup(cl.multi);
  cl.multi = NULL;
  cl.running = cl.stopping = cl.ndrains = 0;
  pthread_mutex_unlock(&cl.mu);
  curl_global_cleanup();
}

/* ---- metrics ------------------------------------------------------------------------- */

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void integ_metrics_write(char **b, size_t *l, size_t *cap) {
  int n = atomic_load_explicit(&nreg, memory_order_acquire);
  if (!n) return;
  vz_metrics_printf(b, l, cap, "# TYPE vidzo_integration_requests_total counter\n");
  for (int i = 0; i < n; i++)
    for (int o = 0; o < NOUT; o++)
      vz_metrics_printf(b, l, cap, "vidzo_integration_requests_total{integration=\"%s\",outcome=\"%s\"} %lu\n",
                        registry[i].name, out_names[o], LOAD(registry[i].outcomes[o]));
  vz_metrics_printf(b, l, cap, "# TYPE vidzo_integration_retries_total counter\n");
  for (int i = 0; i < n; i++)
    vz_metrics_printf(b, l, cap, "vidzo_integration_retries_total{integration=\"%s\"} %lu\n",
                      registry[i].name, LOAD(registry[i].retries));
  vz_metrics_printf(b, l, cap, "# TYPE vidzo_integration_breaker_state gauge\n");
  for (int i = 0; i < n; i++)
    vz_metrics_printf(b, l, cap, "vidzo_integration_breaker_state{integration=\"%s\"} %d\n",
                      registry[i].name, LOAD(registry[i].br.state));
  vz_metrics_printf(b, l, cap, "# TYPE vidzo_integration_breaker_opens_total counter\n");
  for (int i = 0; i < n; i++)
    vz_metrics_printf(b, l, cap, "vidzo_integration_breaker_opens_total{integration=\"%s\"} %lu\n",
                      registry[i].name, LOAD(registry[i].opens));
  vz_metrics_printf(b, l, cap, "# TYPE vidzo_integration_request_seconds histogram\n");
  for (int i = 0; i < n; i++) {
    integ *ig = &registry[i];
    unsigned long cum = 0;
    for (int k = 0; k <= NLAT; k++) {
      cum += LOAD(ig->lat[k]);
      if (k < NLAT)
        vz_metrics_printf(b, l, cap, "vidzo_integration_request_seconds_bucket{integration=\"%s\",le=\"%g\"} %lu\n",
                          ig->name, lat_bounds[k], cum);
      else
        vz_metrics_printf(b, l, cap, "vidzo_integration_request_seconds_bucket{integration=\"%s\",le=\"+Inf\"} %lu\n",
                          ig->name, cum);
    }
    vz_metrics_printf(b, l, cap, "vidzo_integration_request_seconds_sum{integration=\"%s\"} %.6f\n"
                      "vidzo_integration_request_seconds_count{integration=\"%s\"} %lu\n",
                      ig->name, (double)LOAD(ig->lat_sum_us) / 1e6, ig->name, LOAD(ig->lat_count));
  }
}
