-- Owner: products (cart and addresses live with the catalogue they point into).
-- Tables: cart_items, addresses.
-- The cart is per account, not per session: it survives sign-out.
CREATE TABLE cart_items (
  user_id    BIGINT NOT NULL REFERENCES users(id),
  variant_id BIGINT NOT NULL REFERENCES product_variants(id) ON DELETE CASCADE,
  quantity   INTEGER NOT NULL CHECK (quantity > 0),
  added_at   BIGINT NOT NULL,
  PRIMARY KEY (user_id, variant_id)
);
CREATE TABLE addresses (
  id          BIGINT PRIMARY KEY,
  user_id     BIGINT NOT NULL REFERENCES users(id),
  name        TEXT NOT NULL,
  line1       TEXT NOT NULL,
  line2       TEXT NOT NULL DEFAULT '',
  city        TEXT NOT NULL,
  region      TEXT NOT NULL DEFAULT '',
  postal_code TEXT NOT NULL,
  country     TEXT NOT NULL,                          -- ISO 3166-1 alpha-2
  phone       TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL
);
CREATE INDEX addresses_user ON addresses(user_id, id);
