/* integrations/http: every outbound HTTP call of the server (JWKS today; Agora, Stripe,
 * PayPal, S3, SMTP, FCM, APNs, Janus next) goes through one client thread running a libcurl
 * multi handle, so no database worker or io loop waits on a socket of its own, and each
 * remote gets timeouts, retries and a circuit breaker in one place.
 *
 * An integration registers its breaker once by name (integ_register); a call names it.
 * Calls are copied on submission, run on the client thread and complete exactly once
 * through a callback: on the caller's io loop (posted there), or on the client thread when
 * no loop is given. Worker threads and job workers use integ_call_sync, which waits.
 * docs/internals/integrations.md has the rules. */
#ifndef VZ_INTEG_HTTP_H
#define VZ_INTEG_HTTP_H
#include <stddef.h>

#include "integrations/breaker.h"

typedef struct vz_loop vz_loop;

/* Errors: 0 means an HTTP response arrived (look at status), otherwise one of these. */
enum {
  INTEG_OK = 0,
  INTEG_EINVAL = -1,     /* bad request, unknown integration, protocol not allowed */
  INTEG_ESTOPPED = -2,   /* the layer is not running (integ_start) or is stopping */
  INTEG_ENOMEM = -3,
  INTEG_EOPEN = -4,      /* breaker open: failed fast; retry_after_s says when to try */
  INTEG_ETIMEDOUT = -5,  /* an attempt took longer than timeout_ms */
  INTEG_ECONNECT = -6,   /* could not resolve or connect: nothing was sent */
  INTEG_ENETWORK = -7,   /* the connection failed during the exchange */
  INTEG_ETOOBIG = -8,    /* response body over max_response */
  INTEG_ECANCELED = -9,  /* the layer stopped (or the caller's loop drained) first */
  INTEG_EPROTO = -10,    /* TLS or other transfer failure */
};
const char *integ_strerror(int err);

/* A breaker's thresholds; zeros take the defaults in brackets. */
typedef struct integ_conf {
  const char *name;    /* "stripe", "jwks": metrics label, up to 31 chars of [a-z0-9_] */
  int failures;        /* consecutive failed attempts that open it [5] */
  int window_ms;       /* window for the failure share [30000] */
  int min_requests;    /* attempts in the window before the share counts [20] */
  int failure_pct;     /* failed share that opens it, percent [50]; over 100: never */
  int cooldown_ms;     /* open → half-open, one probe [30000] */
} integ_conf;
/* Registers (or, for a name already there, keeps the first registration). Any thread,
 * any time. 0, or -1 when the name is bad or the registry (32) is full. */
int integ_register(const integ_conf *conf);
/* INTEG_CLOSED/OPEN/HALF_OPEN, or -1 for an unknown name; *retry_after_s (may be NULL)
 * gets the seconds until an open breaker lets a probe through. */
int integ_breaker_state(const char *name, int *retry_after_s);

typedef struct integ_request {
  const char *integration;     /* a registered name */
  const char *method;          /* NULL: GET */
  const char *url;
  const char *const *headers;  /* "Name: value" strings, NULL-terminated; may be NULL */
  const void *body;
  size_t body_len;
  int timeout_ms;              /* per attempt, whole exchange [10000] */
  int connect_timeout_ms;      /* [min(timeout_ms, 3000)] */
  int deadline_ms;             /* all attempts and waits together; 0: no limit */
  int max_retries;             /* attempts after the first [0] */
  int idempotent;              /* may be repeated after it reached the remote */
  int backoff_ms;              /* first retry wait, doubled each time, jittered [100] */
  int max_retry_wait_ms;       /* longest Retry-After honoured; longer ends retrying [5000] */
  size_t max_response;         /* body cap in bytes [1 MB] */
  const char *protocols;       /* curl list, "https" to refuse the rest; NULL: "http,https" */
} integ_request;

typedef struct integ_response {
  int err;            /* INTEG_OK when status is set */
  long status;
  char *body;         /* NUL-terminated (body_len excludes it); take it by setting NULL */
  size_t body_len;
  char *headers;      /* the final response's header block, raw */
  size_t headers_len;
  int attempts;       /* attempts made (0 when failed fast) */
  int sent;           /* 1 when some attempt's request left (or was cut off in flight): a
                       * POST without an answer may then have taken effect at the remote;
                       * 0: nothing reached it (breaker open, connect refused) */
  int retry_after_s;  /* from Retry-After, or the breaker's cool-down when EOPEN */
  double seconds;     /* from submission to completion */
} integ_response;

/* 1 when an API base URL (b, n bytes) may carry a secret: https, or http on the loopback
 * (a local fake). An http URL to anywhere else would send the key in clear text. */
int integ_base_url_ok(const char *b, size_t n);

/* Copies header `name` (case-insensitive, first one) into out; its length, or -1. */
int integ_response_header(const integ_response *res, const char *name, char *out, size_t outlen);
void integ_response_clear(integ_response *res);

/* res is valid until the callback returns; the layer clears it afterwards. */
typedef void (*integ_done_fn)(integ_response *res, void *arg);

/* Starts and stops the client thread. Stop refuses new calls, lets those in flight finish
 * for up to grace_ms (no new retries), then cancels the rest (ECANCELED) and joins. */
int integ_start(void);
void integ_stop(int grace_ms);

/* Submits a call. loop: the io loop to complete on, which must be the caller's own
 * (vz_loop_current()); the loop is held until done. NULL: done runs on the client thread,
 * where it must be short and must not call integ_call_sync. Returns 0 (done will run once)
 * or <0 (it will not). */
int integ_call(const integ_request *req, vz_loop *loop, integ_done_fn done, void *arg);
/* Blocks until the call completes; never on an io loop (asserted). Returns res->err;
 * clear *res afterwards in every case. */
int integ_call_sync(const integ_request *req, integ_response *res);

/* /metrics lines of every integration (registered by integ_start; exported for tests). */
void integ_metrics_write(char **buf, size_t *len, size_t *cap);
#endif
