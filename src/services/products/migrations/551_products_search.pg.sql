-- Owner: products. Tables: products (the search column).
-- Title / description / tags search on PostgreSQL: a generated tsvector with a GIN index
-- ('simple': listings mix languages; no stemming surprises).
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS
  (to_tsvector('simple', title || ' ' || description || ' ' || tags)) STORED;
CREATE INDEX products_search ON products USING GIN (search);
