/* state.c: the order state machine as data. Every change of orders.status goes through
 * orders_transition_allowed (routes, the expiry job, payments), and the unit test walks
 * every (from, to, actor) triple against its own copy of this table, so a transition
 * nobody wrote down cannot happen.
 *
 *   pending_payment -> paid (system: payment succeeded)
 *   pending_payment -> cancelled (buyer, seller, admin; system: the hold expired)
 *   paid -> shipped (seller, admin; carrier + tracking number)
 *   paid -> cancelled (seller, admin: the whole order is refunded)
 *   shipped -> delivered (seller, admin, buyer confirming receipt)
 *   paid | shipped | delivered -> refund_requested (buyer)
 *   paid | shipped | delivered | refund_requested -> refunded (seller, admin; full or partial)
 *   refunded -> refunded (seller, admin: another partial refund while money is left)
 *   refund_requested -> paid | shipped | delivered (seller, admin: declined; back to where
 *     the request came from, which the route checks)
 * cancelled is terminal; refunded is terminal once everything is refunded (the route
 * checks the amount). */
#include <string.h>

#include "services/orders/orders.h"

static const char *const names[ORD_NSTATES] = {
  "pending_payment", "paid", "shipped", "delivered", "cancelled", "refund_requested", "refunded",
};

#define STAFF (ORD_BY_SELLER | ORD_BY_ADMIN)
static const struct { unsigned char from, to, who; } edges[] = {
  { ORD_PENDING_PAYMENT, ORD_PAID, ORD_BY_SYSTEM },
  { ORD_PENDING_PAYMENT, ORD_CANCELLED, ORD_BY_BUYER | STAFF | ORD_BY_SYSTEM },
  { ORD_PAID, ORD_SHIPPED, STAFF },
  { ORD_PAID, ORD_CANCELLED, STAFF },
  { ORD_SHIPPED, ORD_DELIVERED, STAFF | ORD_BY_BUYER },
  { ORD_PAID, ORD_REFUND_REQUESTED, ORD_BY_BUYER },
  { ORD_SHIPPED, ORD_REFUND_REQUESTED, ORD_BY_BUYER },
  { ORD_DELIVERED, ORD_REFUND_REQUESTED, ORD_BY_BUYER },
  { ORD_PAID, ORD_REFUNDED, STAFF },
  { ORD_SHIPPED, ORD_REFUNDED, STAFF },
  { ORD_DELIVERED, ORD_REFUNDED, STAFF },
  { ORD_REFUND_REQUESTED, ORD_REFUNDED, STAFF },
  { ORD_REFUNDED, ORD_REFUNDED, STAFF },
  { ORD_REFUND_REQUESTED, ORD_PAID, STAFF },
  { ORD_REFUND_REQUESTED, ORD_SHIPPED, STAFF },
  { ORD_REFUND_REQUESTED, ORD_DELIVERED, STAFF },
};

const char *orders_state_name(int s) { return s >= 0 && s < ORD_NSTATES ? names[s] : NULL; }

int orders_state_of(const char *name) {
  for (int i = 0; name && i < ORD_NSTATES; i++)
    if (!strcmp(names[i], name)) return i;
  return -1;
}

int orders_transition_allowed(int from, int to, int actor) {
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    if (edges[i].from == from && edges[i].to == to) return (edges[i].who & actor) != 0;
  return 0;
}
