-- Owner: audit (src/services/audit/). Tables: audit_log, written through audit_record()
-- only. In auth's range because it predates the per-service ranges.
-- Audit trail for every privileged action platform-wide (audit_record() in services/audit).
CREATE TABLE audit_log (
  id          BIGINT PRIMARY KEY,
  actor_id    BIGINT,                          -- NULL: the system or the CLI
  action      TEXT NOT NULL,                   -- e.g. seller.approve, user.delete
  target_type TEXT,
  target_id   BIGINT,
  detail      TEXT NOT NULL DEFAULT '{}',      -- JSON object
  ip          TEXT,
  created_at  BIGINT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id, id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
