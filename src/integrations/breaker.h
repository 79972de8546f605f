/* breaker: the circuit breaker of one integration, as plain state and two calls, so the
 * rules can be tested with a made-up clock. The client thread (http.c) is its only writer;
 * `state` and `open_until_ms` are also read by /metrics and integ_breaker_state, hence the
 * atomics. Closed counts failed attempts; too many in a row, or too large a share of a
 * fixed window, opens it. Open fails calls fast until the cool-down ends; then one call
 * is let through as the probe (half-open): its success closes the breaker, its failure
 * opens it for another cool-down, and other calls fail fast while it is out. */
#ifndef VZ_INTEG_BREAKER_H
#define VZ_INTEG_BREAKER_H
#include <stdatomic.h>
#include <stdint.h>

enum { INTEG_CLOSED = 0, INTEG_OPEN = 1, INTEG_HALF_OPEN = 2 };

typedef struct integ_breaker {
  /* settings (integ_breaker_init fills defaults for zeros) */
  int failures;      /* consecutive failed attempts that open it */
  int window_ms;     /* fixed window for the failure share */
  int min_requests;  /* attempts in the window before the share counts */
  int failure_pct;   /* share of failed attempts (percent) that opens it; >100: never */
  int cooldown_ms;   /* open → half-open */
  /* state */
  _Atomic int state;
  _Atomic uint64_t open_until_ms;
  int consecutive, win_total, win_failed, probe_out;
  uint64_t win_start_ms;
} integ_breaker;

void integ_breaker_init(integ_breaker *b, int failures, int window_ms, int min_requests,
                        int failure_pct, int cooldown_ms);
/* May an attempt start now? 1 yes (*probe set when it is the half-open probe), 0: fail fast. */
int integ_breaker_allow(integ_breaker *b, uint64_t now_ms, int *probe);
/* What an allowed attempt came to: 1 success, -1 failure, 0 neither (it never reached the
 * remote: the probe is handed back). Returns 1 when this call opened the breaker. */
int integ_breaker_record(integ_breaker *b, uint64_t now_ms, int outcome, int probe);
/* Milliseconds until an open breaker lets a probe through (0 when not open). */
uint64_t integ_breaker_wait_ms(integ_breaker *b, uint64_t now_ms);
#endif
