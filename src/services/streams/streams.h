/* streams: live broadcasts (issue 18). A stream is planned by its host (scheduled), goes
 * live when an encoder publishes with its ingest key (nginx-rtmp's on_publish hook) or
 * the host joins the Agora channel, and ends when the host ends it or the encoder stays
 * away longer than the reconnect grace; a scheduled stream may be cancelled instead.
 *
 * What other services use (chat, analytics, notifications, the Agora routes):
 *   streams_get          one stream's host, status, visibility, times (no HTTP)
 *   streams_can_view     the visibility rule: may this user see / join this stream?
 *   streams_set_viewers  analytics reports the current viewer count (feeds order by it)
 *   streams_go_live / streams_end   the state machine's two moves that other ingest
 *                        paths (Agora webhooks) make exactly as the RTMP hooks do
 *   VZ_EV_STREAM_LIVE / VZ_EV_STREAM_ENDED (core/events.h): subscribe with VZ_EV_ASYNC in
 *                        the service's .on table; they are emitted in the transaction
 *                        of the change and reach subscribers through the job queue.
 * Functions take a vz_db and return 0, STREAMS_ENOTFOUND / STREAMS_ECONFLICT, or a
 * negative db.h code. Writes must run inside a transaction (db_tx) when they emit. */
#ifndef VZ_STREAMS_H
#define VZ_STREAMS_H
#include <stddef.h>
#include <stdint.h>

typedef struct vz_db vz_db;

enum streams_status { STREAMS_SCHEDULED = 1, STREAMS_LIVE, STREAMS_ENDED, STREAMS_CANCELLED };
enum streams_visibility { STREAMS_PUBLIC = 1, STREAMS_FOLLOWERS };
/* Below the db.h codes (which are -1..-9). */
enum { STREAMS_ENOTFOUND = -30, STREAMS_ECONFLICT = -31, STREAMS_EFORBIDDEN = -32 };

typedef struct streams_info {
  int64_t id, host_id;
  int status;               /* enum streams_status */
  int visibility;           /* enum streams_visibility */
  int64_t category_id;      /* 0: none */
  int64_t scheduled_at, started_at, ended_at; /* unix ms; 0: not yet */
  int64_t session_id;       /* the open session while live; 0 otherwise */
  int64_t viewers, peak_viewers;
  int64_t thumbnail_media_id; /* the chosen thumbnail (media.h), 0: none */
  char title[421];          /* up to 140 characters of UTF-8 */
} streams_info;

/* "scheduled", "live", ...; "?" for anything else. And back: 0 when unknown. */
const char *streams_status_name(int status);
int streams_status_parse(const char *s);
/* The state machine: 1 when a stream may move from `from` to `to`. scheduled -> live,
 * live -> ended, scheduled -> cancelled; everything else (including staying put) is 0. */
int streams_transition_ok(int from, int to);

/* 0 and *out filled, STREAMS_ENOTFOUND, or <0 DB_*. */
int streams_get(vz_db *db, int64_t id, streams_info *out);
/* The host's live stream, if any: 0 with *out, STREAMS_ENOTFOUND when none. */
int streams_live_of_host(vz_db *db, int64_t host_id, streams_info *out);
/* May `viewer_id` (0: anonymous) see the stream? 1 yes, 0 no, <0 DB_*. The host and
 * admins (is_admin) always may; a followers-only stream also its host's followers.
 * Blocks between viewer and host hide it too. Callers answer "no" with 404, as if the
 * stream did not exist, so followers-only streams are not discoverable by id. */
int streams_can_view(vz_db *db, const streams_info *s, int64_t viewer_id, int is_admin);
/* Analytics' viewer count for a live stream (ignored once it is not live); raises the
 * peak, and re-positions the stream in the live feed. 0, STREAMS_ENOTFOUND or <0. */
int streams_set_viewers(vz_db *db, int64_t id, int64_t viewers);

/* Ingest (RTMP hooks, Agora webhooks): the stream goes live, or the session it already
 * has resumes when it is within the reconnect grace. source "rtmp" / "agora"; client is
 * the publisher's identity there (nginx client id, Agora uid), for the matching
 * disconnect. Emits VZ_EV_STREAM_LIVE on a new go-live. Must run in a transaction.
 * STREAMS_ECONFLICT: not in a state that may go live, another publisher holds it, or the
 * host has another live stream. *resumed (may be NULL) is 1 for a resumed session. */
int streams_go_live(vz_db *db, int64_t id, const char *source, const char *client, int *resumed);
/* The publisher `client` left: the session waits for it for the reconnect grace (a job
 * ends the stream after). A client that is not the current publisher is ignored. */
int streams_publisher_gone(vz_db *db, int64_t id, const char *client);
/* Ends a live stream now (reason "host", "admin", "encoder_gone", "agora"), closes its
 * session, queues its recording, emits VZ_EV_STREAM_ENDED. Must run in a transaction.
 * STREAMS_ECONFLICT when it is not live. */
int streams_end(vz_db *db, int64_t id, const char *reason);

extern const struct vz_service streams_service;
#endif
