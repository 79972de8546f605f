/* Fuzz target: the Stripe and PayPal webhook event parsers (the body of a webhook whose
 * signature verified is still input from outside). Invariant: no crash or leak; a parsed
 * event has an id and a type, NUL-terminated fields, and no negative amount. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations/paypal.h"
#include "integrations/stripe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stripe_event se;
  if (stripe_event_parse((const char *)data, size, &se) == 0 &&
      (!se.id[0] || !se.type[0] || se.amount < 0 || strlen(se.payment_ref) >= sizeof se.payment_ref))
    abort();
  paypal_event pe;
  if (paypal_event_parse((const char *)data, size, &pe) == 0 &&
      (!pe.id[0] || !pe.event_type[0] || pe.amount < 0 || strlen(pe.capture_id) >= sizeof pe.capture_id))
    abort();
  return 0;
}
