/* payments: payments of checkouts through a provider (provider.h), webhooks processed
 * exactly once, refunds, reconciliation with the provider, the double-entry ledger and
 * seller payouts. It owns payments, payment_events, refunds, ledger_entries, payouts,
 * payout_accounts and sandbox_payments. */
#ifndef VZ_PAYMENTS_H
#define VZ_PAYMENTS_H
#include <stdint.h>

typedef struct vz_db vz_db;

enum { PAYMENTS_ENOPAYMENT = -30 /* the order has no succeeded payment to refund from */ };

/* Starts a refund of `amount` (minor units) of a paid order, inside the caller's
 * transaction: a refunds row and a durable job that asks the provider (with the refund's
 * idempotency key) and then writes the ledger. 0, PAYMENTS_ENOPAYMENT, or <0 (db.h). */
int payments_refund_start(vz_db *db, int64_t order_id, int64_t amount, const char *reason);

extern const struct vz_service payments_service;
#endif
