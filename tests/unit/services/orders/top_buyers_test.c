/* Invariant: orders_top_buyer ranks a seller's buyers per currency by net paid spend
 * (total - refunded over paid, shipped, delivered, refund_requested, refunded orders),
 * ties to the lower id; unpaid and fully refunded spend never ranks; another seller's
 * buyers are not this seller's; the ranking is cached until orders_top_buyers_forget. */
#include <stdio.h>

#include "../../db/dbtest.h"
#include "cache/cache.h"
#include "services/orders/orders.h"

static void order(vz_db *db, int64_t id, int64_t buyer, int64_t seller, const char *status, const char *cur, int64_t total,
                  int64_t refunded) {
  db_run(db, NULL, "INSERT INTO orders (id, checkout_id, buyer_id, seller_id, status, currency, subtotal, shipping, total,"
         " refunded, address, hold_until, created_at, updated_at) VALUES ($1, $1, $2, $3, $4, $5, $6, 0, $6, $7, '{}', 0, 1, 1)",
         "iiissii", id, buyer, seller, status, cur, total, refunded);
}

static void top_body(vz_db *db, const char *url, int *vz_failed) {
  (void)url;
  char err[256];
  CHECK_EQ_INT(cache_init(NULL, err, sizeof err), 0);
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  for (int64_t u = 1; u <= 16; u++)
    CHECK(db_run(db, NULL, "INSERT INTO users (id, created_at, updated_at) VALUES ($1, 1, 1)", "i", u) >= 0);
  order(db, 1, 10, 1, "paid", "EUR", 5000, 0);
  order(db, 2, 11, 1, "shipped", "EUR", 3000, 0);
  order(db, 3, 12, 1, "delivered", "EUR", 1000, 0);
  order(db, 4, 12, 1, "refund_requested", "EUR", 2500, 500); /* 12: 3000 net, a tie with 11 */
  order(db, 5, 13, 1, "refunded", "EUR", 6000, 6000);        /* nothing kept */
  order(db, 6, 14, 1, "pending_payment", "EUR", 9000, 0);    /* not paid */
  order(db, 7, 16, 1, "cancelled", "EUR", 9000, 0);
  order(db, 8, 15, 1, "paid", "JPY", 100, 0);                /* first in its currency */
  order(db, 9, 16, 2, "paid", "EUR", 90000, 0);              /* another seller's */
  CHECK_EQ_INT(orders_top_buyer(db, 1, 10, 2), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 11, 2), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 12, 2), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 12, 3), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 13, 20), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 14, 20), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 16, 20), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 15, 1), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 10, 0), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 1, 20), 0);           /* the seller is no buyer of theirs */
  CHECK_EQ_INT(orders_top_buyer(db, 2, 16, 1), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 2, 10, 20), 0);
  CHECK_EQ_INT(orders_top_buyer(db, 3, 10, 20), 0);          /* no orders at all */
  /* cached: a new purchase shows once the entry is dropped (orders_mark_paid does it) */
  order(db, 10, 14, 1, "paid", "EUR", 20000, 0);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 14, 1), 0);
  orders_top_buyers_forget(1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 14, 1), 1);
  CHECK_EQ_INT(orders_top_buyer(db, 1, 11, 2), 0);           /* pushed down to third */
  cache_shutdown();
}

TEST(orders_top_buyer_ranking) { dbt_each(vz_failed, top_body); }
