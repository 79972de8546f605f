/* chat_int: what the chat files share. Not for other services (they use chat.h). */
#ifndef VZ_CHAT_INT_H
#define VZ_CHAT_INT_H
#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "db/db.h"

#define CHAT_MAX_CHARS 500
#define CHAT_NSP "/"

/* A stream as chat needs it (streams.h is the source). */
typedef struct chat_stream {
  int64_t id, host_id;
  int64_t started_at;  /* the current (or last) session's start, unix ms; 0 unknown */
  int live;            /* chat is open while the stream is live */
  int is_public;       /* visibility public (else followers) */
  int status, visibility; /* streams.h's values */
} chat_stream;
/* 1 found, 0 no such stream, <0 db.h code. */
int chat_stream_get(vz_db *db, int64_t id, chat_stream *out);
/* streams_can_view: 1 the viewer (0: anonymous) may see it, 0 not (answer 404), <0. */
int chat_stream_can_view(vz_db *db, const chat_stream *s, int64_t viewer, int role);

typedef struct chat_settings {
  int64_t slow_s, followers_only_s, rate_per_s, burst;
  int links, emote_only;
} chat_settings;
int chat_settings_get(vz_db *db, int64_t host_id, chat_settings *out);
json_t *chat_settings_json(const chat_settings *s);
/* 1 when uid moderates host's channel: the host, an appointed moderator, or a platform
 * moderator or admin (role); 0 not; <0 db.h code. */
int chat_is_mod(vz_db *db, int64_t host_id, int64_t uid, int role);
/* 1 banned (*until 0) or timed out (*until in the future), 0 neither, <0 db.h code. */
int chat_ban_get(vz_db *db, int64_t host_id, int64_t uid, int64_t *until);

void chat_room(char out[48], int64_t stream_id);
/* The id in input field name (string or integer); 0 when absent. */
int64_t chat_json_id(const json_t *o, const char *name);
/* {"error":{"code","message","retry_after"}} with status. */
int chat_fail_retry(vz_req *req, int status, const char *code, int retry_after_s, const char *message);
/* The stream of req's "stream_id", or a reply (404). 0 ok, else the reply is set. */
int chat_stream_or_fail(vz_req *req, chat_stream *st);
/* req's caller moderates the stream's channel, or 403. 0 ok. */
int chat_mod_or_fail(vz_req *req, const chat_stream *st);

/* writer.c: the group-commit writer. A message is inserted with others in one
 * transaction at most ~10 ms after it arrives (flushed within 100 ms even when the
 * database is slow to answer), then broadcast, then acknowledged (sio_event_done). */
typedef struct chat_msg {
  struct chat_msg *next;
  int64_t id;       /* given by the writer, in arrival order */
  int64_t stream_id, user_id, reply_to, server_ts, offset_ms; /* offset_ms < 0: unknown */
  char *body;       /* malloc'd */
  char *meta;       /* malloc'd JSON: author and badges */
  json_t *event;    /* the chat:message payload (owned) */
  vz_req *req;      /* the sender's event, answered after the commit */
  uint64_t seq;     /* queue order (writer.c) */
} chat_msg;
int chat_writer_start(void);
void chat_writer_stop(void);
/* 0 queued (the writer owns m), <0 when the queue is full or stopped (m is the caller's). */
int chat_writer_submit(chat_msg *m);
void chat_msg_free(chat_msg *m);
/* For /metrics. */
void chat_writer_stats(uint64_t *batches, uint64_t *messages, uint64_t *queued);

/* live.c: reactions, polls, viewer counts: a ticker thread (250 ms). */
int chat_live_start(void);
void chat_live_stop(void);
void chat_live_watch(int64_t stream_id);        /* a room joined here: count its viewers */
int chat_react_kind(const char *name);          /* index, or -1 */
void chat_react_add(int64_t stream_id, int kind);
void chat_poll_touch(int64_t stream_id, int64_t poll_id); /* a vote: results due */
/* The open poll (or the latest closed one) of a stream with its counts; NULL when none. */
json_t *chat_poll_json(vz_db *db, int64_t stream_id, int64_t poll_id);

/* Handlers (service.c declares the rows). send.c */
int chat_h_join(vz_req *req);
int chat_h_leave(vz_req *req);
int chat_h_send(vz_req *req);
/* moderation.c */
int chat_h_delete(vz_req *req);
int chat_h_clear(vz_req *req);
int chat_h_timeout(vz_req *req);
int chat_h_ban(vz_req *req);
int chat_h_unban(vz_req *req);
int chat_h_settings(vz_req *req);
int chat_h_mod(vz_req *req);
int chat_h_term(vz_req *req);
int chat_h_pin(vz_req *req);
int chat_h_report(vz_req *req);
int chat_h_platform_term_add(vz_req *req);
int chat_h_platform_term_del(vz_req *req);
int chat_h_platform_term_list(vz_req *req);
/* live.c */
int chat_h_react(vz_req *req);
int chat_h_poll(vz_req *req);
int chat_h_vote(vz_req *req);
int chat_h_poll_end(vz_req *req);
/* history.c */
int chat_h_history(vz_req *req);
#endif
