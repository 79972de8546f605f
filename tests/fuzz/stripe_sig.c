/* Fuzz target: the Stripe-Signature header parser and verifier. Invariant: no crash,
 * no leak, no read past the input; an accepted header has a t and 1..8 v1 entries, and
 * random input never verifies against a fixed secret. */
#include <stdint.h>
#include <stdlib.h>

#include "integrations/stripe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stripe_sig s;
  if (stripe_sig_parse((const char *)data, size, &s) == 0 && (s.t < 0 || s.nv1 < 1 || s.nv1 > STRIPE_SIG_MAX_V1))
    abort();
  if (stripe_sig_verify((const char *)data, size, "{}", 2, "whsec_fuzz", s.t, 300) == STRIPE_SIG_OK) abort();
  return 0;
}
