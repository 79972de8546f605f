-- Owner: streams (src/services/streams/). Tables: streams, stream_sessions, stream_recordings.
-- A stream is one broadcast a host plans and goes live with (issue 18). Its status moves
-- scheduled -> live -> ended, or scheduled -> cancelled; nothing else (streams_transition_ok).
-- Times are unix ms, ids from db_id_new.
CREATE TABLE streams (
  id            BIGINT PRIMARY KEY,
  host_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  status        TEXT NOT NULL DEFAULT 'scheduled',   -- scheduled | live | ended | cancelled
  visibility    TEXT NOT NULL DEFAULT 'public',      -- public | followers
  title         TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  category_id   BIGINT REFERENCES categories(id) ON DELETE SET NULL,
  tags          TEXT NOT NULL DEFAULT '[]',          -- JSON array of strings
  tags_text     TEXT NOT NULL DEFAULT '',            -- the tags joined by spaces: what search indexes
  thumbnail_key TEXT,                                -- a media key the host chose (NULL: none)
  live_thumb_at BIGINT,                              -- last live thumbnail written (NULL: none yet)
  -- sha256 of the ingest key, hex: the key itself is shown once (create, rotate), never stored
  key_hash      TEXT NOT NULL UNIQUE,
  source        TEXT,                                -- how it went live: rtmp | agora (NULL: not yet)
  viewers       BIGINT NOT NULL DEFAULT 0,           -- current viewers (analytics writes it via streams.h)
  peak_viewers  BIGINT NOT NULL DEFAULT 0,
  -- The position of the stream in its status's feed, newest/most first: live = viewers,
  -- scheduled = -scheduled_at (soonest first), ended = ended_at, cancelled = updated_at.
  -- One column so each feed is one index range read in (feed_pos DESC, id DESC).
  feed_pos      BIGINT NOT NULL DEFAULT 0,
  scheduled_at  BIGINT NOT NULL,
  started_at    BIGINT,
  ended_at      BIGINT,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
-- Feeds: status alone, by category, by host (each with the feed order), and all statuses.
CREATE INDEX streams_feed ON streams(status, feed_pos, id);
CREATE INDEX streams_feed_category ON streams(category_id, status, feed_pos, id);
CREATE INDEX streams_feed_host ON streams(host_id, status, feed_pos, id);
CREATE INDEX streams_host ON streams(host_id, id);
CREATE INDEX streams_category ON streams(category_id, id);
-- One live stream per host at a time, kept by the database, not by a read-then-write.
CREATE UNIQUE INDEX streams_one_live ON streams(host_id) WHERE status = 'live';

-- Each go-live of a stream. An encoder that drops leaves disconnected_at set; one that
-- comes back within the grace period clears it and keeps the session; past it the stream
-- ends (a job on the durable queue checks) and ended_at is set.
CREATE TABLE stream_sessions (
  id              BIGINT PRIMARY KEY,
  stream_id       BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
  source          TEXT NOT NULL,                     -- rtmp | agora
  client_id       TEXT,                              -- the publisher now (nginx-rtmp clientid, Agora uid)
  started_at      BIGINT NOT NULL,
  disconnected_at BIGINT,
  reconnects      BIGINT NOT NULL DEFAULT 0,
  ended_at        BIGINT
);
CREATE INDEX stream_sessions_stream ON stream_sessions(stream_id, id);
-- At most one open session per stream.
CREATE UNIQUE INDEX stream_sessions_open ON stream_sessions(stream_id) WHERE ended_at IS NULL;

-- A session's recording: nginx-rtmp's FLV files, remuxed by a job to MP4 + HLS VOD.
CREATE TABLE stream_recordings (
  id          BIGINT PRIMARY KEY,
  stream_id   BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
  session_id  BIGINT NOT NULL UNIQUE REFERENCES stream_sessions(id) ON DELETE CASCADE,
  status      TEXT NOT NULL DEFAULT 'pending',      -- pending | ready | failed | empty
  duration_ms BIGINT NOT NULL DEFAULT 0,
  bytes       BIGINT NOT NULL DEFAULT 0,
  error       TEXT,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX stream_recordings_stream ON stream_recordings(stream_id, id);
