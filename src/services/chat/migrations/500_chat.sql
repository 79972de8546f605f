-- Owner: chat (src/services/chat/). Live chat of streams (issue 19): messages (written
-- in batches by the group-commit writer), channel settings, moderators, bans and
-- timeouts, banned terms, pins, polls, reports and reaction totals. A channel is the
-- host's user id: moderators, bans and terms follow the host from stream to stream.
CREATE TABLE chat_messages (
  id         BIGINT PRIMARY KEY,
  stream_id  BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  body       TEXT NOT NULL,
  reply_to   BIGINT,
  meta       TEXT NOT NULL DEFAULT '{}',   -- author handle, display name, badges at send time
  server_ts  BIGINT NOT NULL,              -- unix ms when accepted
  offset_ms  BIGINT,                       -- ms since the stream's session start (replay)
  deleted_at BIGINT,
  deleted_by BIGINT
);
CREATE INDEX chat_messages_stream ON chat_messages(stream_id, id);
CREATE INDEX chat_messages_user ON chat_messages(user_id, id);

CREATE TABLE chat_settings (
  host_id           BIGINT PRIMARY KEY,
  slow_s            BIGINT NOT NULL DEFAULT 0,     -- 0: off
  followers_only_s  BIGINT NOT NULL DEFAULT -1,    -- -1: off; else minimum follow age
  links             INTEGER NOT NULL DEFAULT 1,    -- 0: messages with links refused
  emote_only        INTEGER NOT NULL DEFAULT 0,    -- 1: only emoji and :emote: codes
  rate_per_s        BIGINT NOT NULL DEFAULT 1,
  burst             BIGINT NOT NULL DEFAULT 3,
  updated_at        BIGINT NOT NULL
);

CREATE TABLE chat_moderators (
  host_id    BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (host_id, user_id)
);

CREATE TABLE chat_bans (
  host_id    BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  until_ms   BIGINT NOT NULL,               -- 0: banned; else timed out until then
  reason     TEXT NOT NULL DEFAULT '',
  by_id      BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (host_id, user_id)
);

CREATE TABLE chat_terms (
  id         BIGINT PRIMARY KEY,
  host_id    BIGINT NOT NULL,               -- 0: platform-wide
  term       TEXT NOT NULL,
  folded     TEXT NOT NULL,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_terms_host_folded ON chat_terms(host_id, folded);

CREATE TABLE chat_pins (
  stream_id  BIGINT PRIMARY KEY,
  message_id BIGINT NOT NULL,
  pinned_by  BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE chat_polls (
  id         BIGINT PRIMARY KEY,
  stream_id  BIGINT NOT NULL,
  question   TEXT NOT NULL,
  options    TEXT NOT NULL,                 -- JSON array of strings
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  closes_at  BIGINT NOT NULL,
  closed     INTEGER NOT NULL DEFAULT 0,
  results    TEXT                           -- JSON array of counts, once closed
);
CREATE INDEX chat_polls_stream ON chat_polls(stream_id, id);
CREATE INDEX chat_polls_open ON chat_polls(closed, closes_at);

CREATE TABLE chat_poll_votes (
  poll_id    BIGINT NOT NULL,
  user_id    BIGINT NOT NULL,
  choice     BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (poll_id, user_id)
);

CREATE TABLE chat_reports (
  id          BIGINT PRIMARY KEY,
  message_id  BIGINT NOT NULL,
  reporter_id BIGINT NOT NULL,
  reason      TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_reports_once ON chat_reports(message_id, reporter_id);

CREATE TABLE chat_reaction_totals (
  stream_id BIGINT NOT NULL,
  kind      TEXT NOT NULL,
  total     BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, kind)
);
