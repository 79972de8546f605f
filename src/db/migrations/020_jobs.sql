-- Owner: core (src/jobs/). Tables: jobs. Services enqueue through jobs/jobs.h only.
-- Durable job queue (src/jobs/). A job is 'ready' until a worker completes it ('done') or
-- it fails max_attempts times ('dead'). A claim is a lease: locked_by/locked_until; a
-- worker that dies loses the lease when locked_until passes and the job is claimed again.
CREATE TABLE jobs (
  id              BIGINT PRIMARY KEY,
  queue           TEXT NOT NULL,
  payload         TEXT NOT NULL,            -- JSON
  idempotency_key TEXT,                     -- unique per queue when set
  status          TEXT NOT NULL DEFAULT 'ready', -- 'ready' | 'done' | 'dead'
  run_at          BIGINT NOT NULL,          -- not before (unix ms)
  attempts        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL DEFAULT 5,
  locked_by       TEXT,
  locked_until    BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  done_at         BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs(queue, idempotency_key);
-- Claims scan only what can run: ready jobs of one queue by due time.
CREATE INDEX jobs_due ON jobs(queue, run_at, id) WHERE status = 'ready';
