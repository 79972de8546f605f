-- Owner: analytics (src/services/analytics/). Tables: analytics_streams, analytics_viewers,
-- analytics_minutes, analytics_ticks.
-- Stream analytics (issue 18). Every figure the API shows is kept as it happens: totals in
-- analytics_streams, the per-minute series in analytics_minutes (one row per stream and
-- minute, added to by heartbeats, counters and the sampler), so a request reads one row
-- and one index range and never aggregates raw rows. Times are unix ms.
CREATE TABLE analytics_streams (
  stream_id        BIGINT PRIMARY KEY REFERENCES streams(id) ON DELETE CASCADE,
  host_id          BIGINT NOT NULL,
  started_at       BIGINT NOT NULL,                 -- go-live (streams' started_at)
  ended_at         BIGINT,                          -- NULL while the sampler follows it
  current_viewers  BIGINT NOT NULL DEFAULT 0,       -- last sample: room + hls
  room_viewers     BIGINT NOT NULL DEFAULT 0,       -- sockets in room stream:<id>, all instances
  hls_viewers      BIGINT NOT NULL DEFAULT 0,       -- players heartbeating, not in the room
  peak_viewers     BIGINT NOT NULL DEFAULT 0,
  unique_viewers   BIGINT NOT NULL DEFAULT 0,       -- rows of analytics_viewers
  watch_ms         BIGINT NOT NULL DEFAULT 0,       -- heartbeat credit + room presence x time
  chat_messages    BIGINT NOT NULL DEFAULT 0,
  reactions        BIGINT NOT NULL DEFAULT 0,
  followers_gained BIGINT NOT NULL DEFAULT 0,       -- follows of the host since started_at
  sampled_at       BIGINT NOT NULL DEFAULT 0,
  updated_at       BIGINT NOT NULL
);
-- The sampler's list: streams it still follows.
CREATE INDEX analytics_streams_open ON analytics_streams(ended_at, stream_id);

-- One row per viewer of a stream: "u:<user id>" or "a:<client id>" (anonymous players).
-- in_room = 1: the viewer is (also) in the stream's socket room, so presence counts them
-- and their heartbeats add no watch time and no HLS viewer (never counted twice).
CREATE TABLE analytics_viewers (
  stream_id  BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
  viewer     TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,                       -- 0 after a "leaving" heartbeat
  watch_ms   BIGINT NOT NULL DEFAULT 0,
  in_room    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, viewer)
);
-- Current HLS viewers: one range read (stream, not in room, seen within the window).
CREATE INDEX analytics_viewers_seen ON analytics_viewers(stream_id, in_room, last_seen);
-- A deleted account's rows ("u:<id>") go with it (VZ_EV_USER_DELETED); totals stay.
CREATE INDEX analytics_viewers_viewer ON analytics_viewers(viewer);

CREATE TABLE analytics_minutes (
  stream_id     BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
  minute        BIGINT NOT NULL,                    -- unix ms of the minute's start
  viewers_peak  BIGINT NOT NULL DEFAULT 0,          -- highest sample in the minute
  viewers_sum   BIGINT NOT NULL DEFAULT 0,          -- samples summed: average = sum / samples
  samples       BIGINT NOT NULL DEFAULT 0,
  new_viewers   BIGINT NOT NULL DEFAULT 0,
  watch_ms      BIGINT NOT NULL DEFAULT 0,
  chat_messages BIGINT NOT NULL DEFAULT 0,
  reactions     BIGINT NOT NULL DEFAULT 0,
  followers     BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, minute)
);

-- One sampler tick is taken by one instance: the first to insert its number samples, the
-- others skip it (presence is summed across instances, so any instance sees the same).
CREATE TABLE analytics_ticks (
  tick     BIGINT PRIMARY KEY,
  taken_at BIGINT NOT NULL
);
