/* Invariant: an order changes status only along the transitions written in the issue
 * (issue 20, "Orders"), each for the actors named there. Every (from, to, actor) triple
 * of 7 states x 7 states x 4 actors is checked against this file's own copy of the table,
 * so an edge added to or dropped from state.c without a decision here fails. */
#include "services/orders/orders.h"
#include "../../test.h"

/* B buyer, S seller, A admin, Y system; "" none. Rows: from; columns: to, in enum order
 * (pending_payment, paid, shipped, delivered, cancelled, refund_requested, refunded). */
static const char *const want[ORD_NSTATES][ORD_NSTATES] = {
  /* pending_payment */ { "", "Y", "", "", "BSAY", "", "" },
  /* paid            */ { "", "", "SA", "", "SA", "B", "SA" },
  /* shipped         */ { "", "", "", "SAB", "", "B", "SA" },
  /* delivered       */ { "", "", "", "", "", "B", "SA" },
  /* cancelled       */ { "", "", "", "", "", "", "" },
  /* refund_requested*/ { "", "SA", "SA", "SA", "", "", "SA" },
  /* refunded        */ { "", "", "", "", "", "", "SA" },
};

TEST(orders_transitions_exhaustive) {
  static const struct { int actor; char c; } actors[] = {
    { ORD_BY_BUYER, 'B' }, { ORD_BY_SELLER, 'S' }, { ORD_BY_ADMIN, 'A' }, { ORD_BY_SYSTEM, 'Y' } };
  int checked = 0;
  for (int f = 0; f < ORD_NSTATES; f++)
    for (int t = 0; t < ORD_NSTATES; t++)
      for (int a = 0; a < 4; a++) {
        int expect = strchr(want[f][t], actors[a].c) != NULL;
        if (orders_transition_allowed(f, t, actors[a].actor) != expect)
          fprintf(stderr, "  %s -> %s by %c: got %d\n", orders_state_name(f), orders_state_name(t), actors[a].c, !expect);
        CHECK_EQ_INT(orders_transition_allowed(f, t, actors[a].actor), expect);
        checked++;
      }
  CHECK_EQ_INT(checked, 196);
  /* out of range is never allowed */
  CHECK_EQ_INT(orders_transition_allowed(-1, ORD_PAID, ORD_BY_SYSTEM), 0);
  CHECK_EQ_INT(orders_transition_allowed(ORD_PAID, ORD_NSTATES, ORD_BY_ADMIN), 0);
}

TEST(orders_state_names_round_trip) {
  for (int s = 0; s < ORD_NSTATES; s++) CHECK_EQ_INT(orders_state_of(orders_state_name(s)), s);
  CHECK_EQ_INT(orders_state_of("lost"), -1);
  CHECK_EQ_INT(orders_state_of(NULL), -1);
  CHECK(orders_state_name(ORD_NSTATES) == NULL);
}
