-- Owner: payments (src/services/payments/). Tables: payments, payment_events, refunds,
-- ledger_txns, ledger_entries, payouts, payout_accounts, sandbox_payments, sandbox_ops.
-- A payment pays one checkout (its orders) through one provider. At most one live payment
-- per checkout (the partial unique index), so two tabs paying at once make one charge.
-- 'creating' is the row written before the provider is called: if we crash after the
-- provider's answer and before ours is stored, reconciliation finds it by this row.
CREATE TABLE payments (
  id                  BIGINT PRIMARY KEY,
  checkout_id         BIGINT NOT NULL,
  buyer_id            BIGINT NOT NULL REFERENCES users(id),
  provider            TEXT NOT NULL,
  provider_payment_id TEXT,
  provider_charge_id  TEXT,
  status              TEXT NOT NULL,  -- creating | pending | requires_action | approved | succeeded | failed | canceled
  amount              BIGINT NOT NULL CHECK (amount > 0),
  currency            TEXT NOT NULL,
  refunded            BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
  client_secret       TEXT,
  approval_url        TEXT,
  failure             TEXT,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  settled_at          BIGINT
);
CREATE UNIQUE INDEX payments_provider_id ON payments(provider, provider_payment_id);
CREATE UNIQUE INDEX payments_one_live ON payments(checkout_id)
  WHERE status IN ('creating', 'pending', 'requires_action', 'approved', 'succeeded');
CREATE INDEX payments_open ON payments(status, updated_at);

-- Each provider event id is applied once: the insert of its row is the claim.
CREATE TABLE payment_events (
  provider    TEXT NOT NULL,
  event_id    TEXT NOT NULL,
  type        TEXT NOT NULL,
  payment_id  BIGINT,
  outcome     TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (provider, event_id)
);

-- unmatched = 1: money that arrived for an order already cancelled (given back whole).
CREATE TABLE refunds (
  id                 BIGINT PRIMARY KEY,
  payment_id         BIGINT NOT NULL REFERENCES payments(id),
  order_id           BIGINT NOT NULL REFERENCES orders(id),
  seller_id          BIGINT NOT NULL,
  amount             BIGINT NOT NULL CHECK (amount > 0),
  currency           TEXT NOT NULL,
  status             TEXT NOT NULL,  -- pending | succeeded | failed
  unmatched          INTEGER NOT NULL DEFAULT 0,
  provider_refund_id TEXT,
  reason             TEXT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id, id);
CREATE INDEX refunds_seller ON refunds(seller_id, status);
CREATE INDEX refunds_status ON refunds(status, id);

-- The ledger: a transaction is a set of entries summing to zero; key names the money
-- movement ("charge:<order>", "refund:<refund>", "payout:<payout>") and is unique, so a
-- movement is booked once even when its job or webhook runs twice. Rows are never
-- changed or deleted (triggers in 651); a correction is a new transaction.
CREATE TABLE ledger_txns (
  id         BIGINT PRIMARY KEY,
  key        TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL,  -- charge | unmatched | processor_fee | refund | payout | payout_reversal
  currency   TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE ledger_entries (
  id         BIGINT PRIMARY KEY,
  txn_id     BIGINT NOT NULL REFERENCES ledger_txns(id),
  account    TEXT NOT NULL,  -- cash | seller_payable | platform_fees | processor_fees | buyer_refunds_due
  seller_id  BIGINT,         -- seller_payable rows
  order_id   BIGINT,
  amount     BIGINT NOT NULL, -- signed minor units: debits positive, credits negative
  currency   TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_txn ON ledger_entries(txn_id);
CREATE INDEX ledger_entries_seller ON ledger_entries(seller_id, account, created_at);
CREATE INDEX ledger_entries_order ON ledger_entries(order_id, account);

CREATE TABLE payout_accounts (
  seller_id   BIGINT NOT NULL REFERENCES users(id),
  provider    TEXT NOT NULL,
  destination TEXT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (seller_id)
);
CREATE TABLE payouts (
  id                 BIGINT PRIMARY KEY,
  seller_id          BIGINT NOT NULL REFERENCES users(id),
  amount             BIGINT NOT NULL CHECK (amount > 0),
  currency           TEXT NOT NULL,
  status             TEXT NOT NULL,  -- pending | paid | failed
  provider           TEXT NOT NULL,
  destination        TEXT NOT NULL,
  provider_payout_id TEXT,
  failure            TEXT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX payouts_one_open ON payouts(seller_id, currency) WHERE status = 'pending';
CREATE INDEX payouts_seller ON payouts(seller_id, id);

-- The sandbox processor's own books (what a real processor keeps on its side), so its
-- lookups survive a restart of ours (the crash drill) and its calls are idempotent.
CREATE TABLE sandbox_payments (
  provider_payment_id TEXT PRIMARY KEY,
  payment_ref         TEXT NOT NULL,
  amount              BIGINT NOT NULL,
  currency            TEXT NOT NULL,
  status              TEXT NOT NULL,
  refunded            BIGINT NOT NULL DEFAULT 0,
  created_at          BIGINT NOT NULL
);
CREATE TABLE sandbox_ops (
  idem_key    TEXT PRIMARY KEY,
  result_id   TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
