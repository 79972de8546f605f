#!/usr/bin/env bash
# Prints EXPLAIN output for each feed query of GET /v1/streams (the SQL routes.c h_list
# builds, with literals for its parameters) on a database seeded by streams-seed.py.
#   bench/streams-explain.sh sqlite PATH      bench/streams-explain.sh pg URL
set -euo pipefail
kind=$1 target=$2
COLS="s.id, s.host_id, u.handle, u.display_name, u.avatar_key, s.status, s.visibility, s.title, s.description, s.category_id, s.tags, s.thumbnail_key, s.live_thumb_at, s.viewers, s.peak_viewers, s.scheduled_at, s.started_at, s.ended_at, s.created_at, s.updated_at, s.feed_pos, r.status, r.duration_ms, r.session_id"
FROM="FROM streams s JOIN users u ON u.id = s.host_id LEFT JOIN stream_recordings r ON r.stream_id = s.id"
run() { if [ "$kind" = sqlite ]; then sqlite3 "$target" "$1"; else psql -XtA "$target" -c "$1"; fi; }
U=$(run "SELECT follower_id FROM follows ORDER BY 1 LIMIT 1")
C=$(run "SELECT id FROM categories WHERE slug = 'bench-cat-7'")
H=$(run "SELECT host_id FROM streams WHERE status = 'ended' ORDER BY id LIMIT 1")
P=$(run "SELECT feed_pos FROM streams WHERE status = 'live' ORDER BY feed_pos DESC, id DESC LIMIT 1 OFFSET 100")
KS="(s.feed_pos, s.id) < ($P, 9000000000000000000)"   # page 6 of the live feed: a real cursor
ANON="AND s.visibility = 'public'"
USER="AND (s.visibility = 'public' OR s.host_id = $U OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $U AND f.followee_id = s.host_id)) AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = s.host_id AND b.blocked_id = $U) OR (b.blocker_id = $U AND b.blocked_id = s.host_id))"
ORD="ORDER BY s.feed_pos DESC, s.id DESC LIMIT 21"
MATCH=$([ "$kind" = sqlite ] && echo "s.id IN (SELECT rowid FROM streams_fts WHERE streams_fts MATCH '\"guitar\"*')" || echo "s.search @@ to_tsquery('simple', 'guitar:*')")
q() {
  echo "#### $1"; echo '```'
  if [ "$kind" = sqlite ]; then sqlite3 "$target" "EXPLAIN QUERY PLAN $2"
  else psql -XtA "$target" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $2"; fi
  echo '```'
}
q "status=live, anonymous, after a cursor" "SELECT $COLS $FROM WHERE $KS AND s.status = 'live' $ANON $ORD"
q "status=scheduled&category=C, signed in" "SELECT $COLS $FROM WHERE (s.feed_pos, s.id) < (9000000000000000000, 9000000000000000000) AND s.status = 'scheduled' AND s.category_id = $C $USER $ORD"
q "status=ended&host=H" "SELECT $COLS $FROM WHERE (s.feed_pos, s.id) < (9000000000000000000, 9000000000000000000) AND s.status = 'ended' AND s.host_id = $H $ANON $ORD"
q "host=H, no status (newest first)" "SELECT $COLS $FROM WHERE s.id < 9000000000000000000 AND CAST(1 AS BIGINT) IS NOT NULL AND s.status <> 'cancelled' AND s.host_id = $H $ANON ORDER BY s.id DESC LIMIT 21"
q "category=C, no status" "SELECT $COLS $FROM WHERE s.id < 9000000000000000000 AND CAST(1 AS BIGINT) IS NOT NULL AND s.status <> 'cancelled' AND s.category_id = $C $ANON ORDER BY s.id DESC LIMIT 21"
q "status=live&following=true" "SELECT $COLS $FROM WHERE (s.feed_pos, s.id) < (9000000000000000000, 9000000000000000000) AND s.status = 'live' AND s.host_id IN (SELECT followee_id FROM follows WHERE follower_id = $U) $USER $ORD"
q "status=ended&q=guitar" "SELECT $COLS $FROM WHERE (s.feed_pos, s.id) < (9000000000000000000, 9000000000000000000) AND s.status = 'ended' AND $MATCH $ANON ORDER BY s.feed_pos + 0 DESC, s.id DESC LIMIT 21"
q "status=live&q=guitar" "SELECT $COLS $FROM WHERE (s.feed_pos, s.id) < (9000000000000000000, 9000000000000000000) AND s.status = 'live' AND $MATCH $ANON $ORD"
