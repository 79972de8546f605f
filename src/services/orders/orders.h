/* orders: checkouts and the orders they make (one per seller), their states and the
 * legal transitions between them, and the buyer, seller and admin views. It owns orders,
 * order_items and order_history. Payments moves an order to paid, and learns what it
 * must charge or refund, only through the functions below. */
#ifndef VZ_ORDERS_H
#define VZ_ORDERS_H
#include <stdint.h>

typedef struct vz_db vz_db;

/* Order states and who may move an order from one to another (state.c has the table). */
enum orders_state {
  ORD_PENDING_PAYMENT, ORD_PAID, ORD_SHIPPED, ORD_DELIVERED, ORD_CANCELLED, ORD_REFUND_REQUESTED, ORD_REFUNDED,
  ORD_NSTATES
};
enum orders_actor { ORD_BY_BUYER = 1, ORD_BY_SELLER = 2, ORD_BY_ADMIN = 4, ORD_BY_SYSTEM = 8 };
const char *orders_state_name(int s);          /* "pending_payment"; NULL out of range */
int orders_state_of(const char *name);         /* -1 when unknown */
/* 1 when `actor` (one ORD_BY_*) may move an order from `from` to `to`, else 0. */
int orders_transition_allowed(int from, int to, int actor);

typedef struct orders_summary {
  int64_t id, checkout_id, buyer_id, seller_id, total, refunded;
  char status[20];
  char currency[4];
} orders_summary;

/* The orders of a checkout (at most max, in id order) when buyer_id bought them (0: any
 * buyer). *n = count; 0 or <0 (db.h). */
int orders_of_checkout(vz_db *db, int64_t checkout_id, int64_t buyer_id, orders_summary *out, int max, int *n);
int orders_get(vz_db *db, int64_t order_id, orders_summary *out); /* DB_ROW, DB_DONE or <0 */
/* The system moves a pending order to paid (payment succeeded), in the caller's
 * transaction: 1 moved, 0 it was no longer pending (cancelled meanwhile: its money must
 * be refunded), <0 db.h. */
int orders_mark_paid(vz_db *db, int64_t order_id);

/* Chat's top_buyer badge: 1 when user_id is among the first n (at most ORDERS_TOP_MAX)
 * buyers of seller_id by net paid spend (total - refunded; ranked per currency, the best
 * rank counts), 0 not, <0 db.h. Cheap on every call: the seller's ranking is cached for
 * a minute, and a miss is one indexed GROUP BY (top_buyers.c says what may lag). */
#define ORDERS_TOP_MAX 20
int orders_top_buyer(vz_db *db, int64_t seller_id, int64_t user_id, int n);
/* Drops seller_id's cached ranking (orders_mark_paid calls it). */
void orders_top_buyers_forget(int64_t seller_id);

extern const struct vz_service orders_service;
#endif
