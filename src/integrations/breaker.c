/* breaker: see breaker.h. Only the client thread calls allow and record; the window is a
 * fixed one (reset when it ends) rather than sliding, which is cheap and close enough for
 * deciding "this remote is failing". */
#include "integrations/breaker.h"

void integ_breaker_init(integ_breaker *b, int failures, int window_ms, int min_requests,
                        int failure_pct, int cooldown_ms) {
  b->failures = failures > 0 ? failures : 5;
  b->window_ms = window_ms > 0 ? window_ms : 30000;
  b->min_requests = min_requests > 0 ? min_requests : 20;
  b->failure_pct = failure_pct > 0 ? failure_pct : 50;
  b->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 30000;
  atomic_store(&b->state, INTEG_CLOSED);
  atomic_store(&b->open_until_ms, 0);
  b->consecutive = b->win_total = b->win_failed = b->probe_out = 0;
  b->win_start_ms = 0;
}

static void trip(integ_breaker *b, uint64_t now_ms) {
  atomic_store_explicit(&b->open_until_ms, now_ms + (uint64_t)b->cooldown_ms, memory_order_relaxed);
  atomic_store_explicit(&b->state, INTEG_OPEN, memory_order_relaxed);
  b->probe_out = 0;
}

static void reset_counts(integ_breaker *b, uint64_t now_ms) {
  b->consecutive = b->win_total = b->win_failed = 0;
  b->win_start_ms = now_ms;
}

int integ_breaker_allow(integ_breaker *b, uint64_t now_ms, int *probe) {
  *probe = 0;
  switch (atomic_load_explicit(&b->state, memory_order_relaxed)) {
  case INTEG_CLOSED:
    return 1;
  case INTEG_OPEN:
    if (now_ms < atomic_load_explicit(&b->open_until_ms, memory_order_relaxed)) return 0;
    atomic_store_explicit(&b->state, INTEG_HALF_OPEN, memory_order_relaxed);
    /* fall through: the first call after the cool-down is the probe */
  default:
    if (b->probe_out) return 0;
    b->probe_out = 1;
    *probe = 1;
    return 1;
  }
}

int integ_breaker_record(integ_breaker *b, uint64_t now_ms, int outcome, int probe) {
  int st = atomic_load_explicit(&b->state, memory_order_relaxed);
  if (probe) {
    b->probe_out = 0;
    if (st != INTEG_HALF_OPEN || outcome == 0) return 0;
    if (outcome > 0) {
      reset_counts(b, now_ms);
      atomic_store_explicit(&b->state, INTEG_CLOSED, memory_order_relaxed);
      return 0;
    }
    trip(b, now_ms);
    return 1;
  }
  /* Attempts allowed before the breaker opened may still come back: they count only
   * while closed (an old success must not close an open breaker). */
  if (st != INTEG_CLOSED || outcome == 0) return 0;
  if (now_ms - b->win_start_ms >= (uint64_t)b->window_ms) {
    b->win_total = b->win_failed = 0;
    b->win_start_ms = now_ms;
  }
  b->win_total++;
  if (outcome > 0) {
    b->consecutive = 0;
    return 0;
  }
  b->win_failed++;
  b->consecutive++;
  if (b->consecutive >= b->failures ||
      (b->win_total >= b->min_requests && b->win_failed * 100 >= b->failure_pct * b->win_total)) {
    trip(b, now_ms);
    reset_counts(b, now_ms);
    return 1;
  }
  return 0;
}

uint64_t integ_breaker_wait_ms(integ_breaker *b, uint64_t now_ms) {
  if (atomic_load_explicit(&b->state, memory_order_relaxed) != INTEG_OPEN) return 0;
  uint64_t until = atomic_load_explicit(&b->open_until_ms, memory_order_relaxed);
  return until > now_ms ? until - now_ms : 0;
}
