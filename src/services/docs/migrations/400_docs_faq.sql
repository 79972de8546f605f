-- Owner: docs (src/services/docs/). Tables: faq_entries. The help centre's questions and
-- answers, in the order an admin sets (position, then id).
CREATE TABLE faq_entries (
  id BIGINT PRIMARY KEY,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  position BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX faq_entries_order ON faq_entries (position, id);
