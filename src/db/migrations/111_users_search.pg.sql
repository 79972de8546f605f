-- Owner: users. Tables: users (the search column). Predates the per-service ranges.
-- Handle / display-name search on PostgreSQL: a generated tsvector with a GIN index
-- ('simple' configuration: handles and names are not natural-language words).
ALTER TABLE users ADD COLUMN search tsvector GENERATED ALWAYS AS
  (to_tsvector('simple', coalesce(handle, '') || ' ' || display_name)) STORED;
CREATE INDEX users_search ON users USING GIN (search);
