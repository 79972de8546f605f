/* analytics: what happened on a stream, for its host and admins (issue 18): current
 * viewers (sockets in the stream's room on every instance + HLS players heartbeating),
 * peak, unique viewers, total and average watch time, chat messages, reactions,
 * followers gained, and a per-minute series. Everything is rolled up as it happens
 * (docs/internals/analytics.md); GET /v1/streams/:id/analytics reads the rollups.
 *
 * What other services call (all inside their own transaction, so a rolled-back message
 * is never counted):
 *   analytics_count        chat: a message or reaction was posted to a stream
 *   analytics_viewer_seen  chat: a signed-in user joined the stream's room
 * The room is ANALYTICS_ROOM_FMT in the namespace --analytics-presence-nsp ("/"). */
#ifndef VZ_ANALYTICS_H
#define VZ_ANALYTICS_H
#include <stdint.h>

typedef struct vz_db vz_db;

#define ANALYTICS_ROOM_FMT "stream:%lld" /* the stream's Socket.IO room */

enum analytics_counter { ANALYTICS_CHAT_MESSAGE = 1, ANALYTICS_REACTION = 2 };

/* Adds n (1..1000000) to a counter of a live stream, in its total and in this minute's
 * row. 0 (also when the stream is not live or unknown: nothing counted), or <0 DB_*. */
int analytics_count(vz_db *db, int64_t stream_id, int counter, int64_t n);
/* A signed-in user is in the stream's room: counted once as a unique viewer (presence
 * counts them as current; their HLS heartbeats then add nothing twice). 0 or <0 DB_*. */
int analytics_viewer_seen(vz_db *db, int64_t stream_id, int64_t user_id);

extern const struct vz_service analytics_service;
#endif
