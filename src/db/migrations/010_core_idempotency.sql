-- Owner: core (src/core/idempotency.c). Tables: idempotency_keys. The stored answer of
-- a VZ_IDEMPOTENT request, written in the transaction of the change it answers; expired
-- after 24 hours, and forgotten with a deleted account (core/events.c, vz_core_on).
-- body is BYTEA: PostgreSQL's binary type; SQLite stores a bound blob unchanged in a
-- column of any declared type, so the one word serves both.
CREATE TABLE idempotency_keys (
  user_id      BIGINT NOT NULL,
  route        TEXT NOT NULL,                 -- "POST /v1/sellers/applications"
  idem_key     TEXT NOT NULL,                 -- the Idempotency-Key header
  request_hash TEXT NOT NULL,                 -- hex SHA-256: method, path, query, canonical body
  status       INTEGER NOT NULL DEFAULT 0,    -- 0 until the answer is stored (same transaction)
  content_type TEXT,
  headers      TEXT NOT NULL DEFAULT '',      -- "Name: value\n" lines the handler set
  body         BYTEA,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (user_id, route, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
