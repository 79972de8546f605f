-- Owner: categories (src/services/categories/). Tables: categories. In the core's range
-- because it predates the per-service ranges (docs/internals/db.md); never renumbered.
-- (The file was meant for core tables; only categories was ever created in it.)
CREATE TABLE categories (
  id          BIGINT PRIMARY KEY,
  parent_id   BIGINT REFERENCES categories(id) ON DELETE RESTRICT,
  slug        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL,            -- 'stream' | 'product' | 'both'
  description TEXT NOT NULL DEFAULT '',
  position    INTEGER NOT NULL DEFAULT 0,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX categories_parent ON categories(parent_id, id);
