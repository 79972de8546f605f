-- Owner: streams. Tables: streams (the search column).
-- Title and tag search on PostgreSQL: a generated tsvector with a GIN index ('simple':
-- titles and tags are matched as words, not stemmed in one language).
ALTER TABLE streams ADD COLUMN search tsvector GENERATED ALWAYS AS
  (to_tsvector('simple', title || ' ' || tags_text)) STORED;
CREATE INDEX streams_search ON streams USING GIN (search);
