-- Owner: orders (src/services/orders/). Tables: orders, order_items, order_history.
-- One checkout makes one order per seller (checkout_id groups them; one payment pays the
-- group). Money is integer minor units in the order's one currency; the address is a
-- copy taken at checkout (a later edit of the address book does not move a parcel).
-- stock_held is 1 while the items' stock is taken from the variants: releasing it (expiry,
-- cancel) clears it in the same conditional UPDATE, so stock is given back exactly once.
CREATE TABLE orders (
  id              BIGINT PRIMARY KEY,
  checkout_id     BIGINT NOT NULL,
  buyer_id        BIGINT NOT NULL REFERENCES users(id),
  seller_id       BIGINT NOT NULL REFERENCES users(id),
  status          TEXT NOT NULL,  -- pending_payment | paid | shipped | delivered | cancelled | refund_requested | refunded
  currency        TEXT NOT NULL,
  subtotal        BIGINT NOT NULL CHECK (subtotal > 0),
  shipping        BIGINT NOT NULL CHECK (shipping >= 0),
  total           BIGINT NOT NULL CHECK (total = subtotal + shipping),
  refunded        BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
  address         TEXT NOT NULL,
  carrier         TEXT,
  tracking_number TEXT,
  refund_reason   TEXT,
  refund_from     TEXT,           -- the status a refund request came from (a decline returns there)
  stock_held      INTEGER NOT NULL DEFAULT 1,
  hold_until      BIGINT NOT NULL,
  paid_at         BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX orders_checkout ON orders(checkout_id, id);
CREATE INDEX orders_buyer ON orders(buyer_id, id);
CREATE INDEX orders_seller ON orders(seller_id, id);
CREATE INDEX orders_status ON orders(status, id);

CREATE TABLE order_items (
  order_id   BIGINT NOT NULL REFERENCES orders(id),
  variant_id BIGINT NOT NULL,
  product_id BIGINT NOT NULL,
  title      TEXT NOT NULL,
  sku        TEXT NOT NULL,
  unit_price BIGINT NOT NULL CHECK (unit_price > 0),
  quantity   INTEGER NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, variant_id)
);

CREATE TABLE order_history (
  id          BIGINT PRIMARY KEY,
  order_id    BIGINT NOT NULL REFERENCES orders(id),
  from_status TEXT NOT NULL,
  to_status   TEXT NOT NULL,
  actor_id    BIGINT NOT NULL,  -- 0: the system (payment, expiry)
  note        TEXT,
  created_at  BIGINT NOT NULL
);
CREATE INDEX order_history_order ON order_history(order_id, id);
