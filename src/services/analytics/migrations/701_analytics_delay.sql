-- Owner: analytics (src/services/analytics/). The player's distance behind live (hls.js
-- latency), as the viewer's latest heartbeat reported it: NULL until a player sends one.
-- Live auctions will read the current viewers' spread (GET /v1/streams/:id/analytics
-- "delay") to give slower players fair time to bid.
ALTER TABLE analytics_viewers ADD COLUMN delay_ms BIGINT;
-- The summary's reads: the current viewers that reported, in delay order.
CREATE INDEX analytics_viewers_delay ON analytics_viewers(stream_id, delay_ms);
