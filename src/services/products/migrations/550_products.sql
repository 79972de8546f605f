-- Owner: products (src/services/products/). Tables: products, product_variants,
-- product_images, product_trusted_sellers.
-- A product is a seller's listing; what is bought is a variant (its own SKU, price and
-- stock). products.price is the lowest variant price and products.in_stock whether any
-- variant has stock: both kept by the service in the same transaction as the variant
-- change, so search filters and sorts on one indexed row instead of joining variants.
CREATE TABLE products (
  id               BIGINT PRIMARY KEY,
  seller_id        BIGINT NOT NULL REFERENCES users(id),
  title            TEXT NOT NULL,
  description      TEXT NOT NULL DEFAULT '',
  category_id      BIGINT REFERENCES categories(id),
  tags             TEXT NOT NULL DEFAULT '[]',       -- JSON array of strings
  currency         TEXT NOT NULL,                    -- ISO 4217, every variant's currency
  price            BIGINT NOT NULL CHECK (price >= 0),
  compare_at_price BIGINT CHECK (compare_at_price IS NULL OR compare_at_price >= 0),
  ship_flat        BIGINT NOT NULL DEFAULT 0 CHECK (ship_flat >= 0),     -- per order
  ship_extra       BIGINT NOT NULL DEFAULT 0 CHECK (ship_extra >= 0),    -- per extra item
  status           TEXT NOT NULL DEFAULT 'draft',    -- draft | pending | active | rejected | archived
  review_note      TEXT,
  in_stock         INTEGER NOT NULL DEFAULT 0,
  sold_count       BIGINT NOT NULL DEFAULT 0,        -- popularity: units paid for
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
-- One index per public filter and sort (status is always 'active' in public search).
CREATE INDEX products_newest ON products(status, created_at, id);
CREATE INDEX products_price ON products(status, price, id);
CREATE INDEX products_popular ON products(status, sold_count, id);
CREATE INDEX products_category ON products(category_id, status, created_at, id);
CREATE INDEX products_seller ON products(seller_id, status, created_at, id);
CREATE INDEX products_stock ON products(status, in_stock, created_at, id);

CREATE TABLE product_variants (
  id         BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  sku        TEXT NOT NULL,
  title      TEXT NOT NULL DEFAULT '',               -- "M / red"
  options    TEXT NOT NULL DEFAULT '{}',             -- JSON object {"size":"M","colour":"red"}
  price      BIGINT NOT NULL CHECK (price >= 0),
  stock      BIGINT NOT NULL CHECK (stock >= 0),     -- the database refuses a negative stock too
  position   INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  UNIQUE (product_id, sku)
);
CREATE INDEX product_variants_product ON product_variants(product_id, position, id);

CREATE TABLE product_images (
  product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  media_id   TEXT NOT NULL,                          -- a media service id (validated there)
  PRIMARY KEY (product_id, position)
);

-- Sellers whose new products skip review when --products-auto-approve is "trusted".
CREATE TABLE product_trusted_sellers (
  seller_id  BIGINT PRIMARY KEY REFERENCES users(id),
  granted_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
