-- Owner: streams (src/services/streams/). Tables: stream_agora_notices, stream_agora_seq.
-- Agora's channel-event webhooks arrive at least once and in any order: each notice is
-- applied once (its noticeId), and per stream and broadcaster only a clientSeq above the
-- last applied one moves the stream.
CREATE TABLE stream_agora_notices (
  notice_id  TEXT PRIMARY KEY,
  stream_id  BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX stream_agora_notices_created ON stream_agora_notices(created_at);
CREATE TABLE stream_agora_seq (
  stream_id  BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
  client     TEXT NOT NULL,
  client_seq BIGINT NOT NULL,
  PRIMARY KEY (stream_id, client)
);
