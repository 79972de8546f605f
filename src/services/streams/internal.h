/* streams/internal.h: what the files of the streams service share (not for others). */
#ifndef VZ_STREAMS_INTERNAL_H
#define VZ_STREAMS_INTERNAL_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/events.h"
#include "core/http.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "services/streams/streams.h"

/* Settings (service.c rows). */
typedef struct streams_cfg {
  int grace_s;            /* reconnect grace, seconds */
  int rtmp;               /* supervise nginx-rtmp (the ingest edge) */
  int rtmp_port;          /* RTMP listen port (1935) */
  int hls_port;           /* nginx's HTTP port: HLS, thumbnails, replays (8088) */
  char rtmp_host[128];    /* the host name encoders and players are told (localhost) */
  char hls_base[256];     /* public base URL of the HLS origin (default http://HOST:HLS_PORT) */
  char nginx_bin[256];    /* nginx executable */
  char ffmpeg_bin[256];   /* ffmpeg executable */
  int transcode;          /* adaptive renditions (source + 480p) via exec ffmpeg */
  int thumbs;             /* a live thumbnail every 10 s */
  char hook_secret[65];   /* nginx -> vidzo hooks carry it (generated per start) */
} streams_cfg;
extern streams_cfg streams_conf;

#define STREAMS_KEY_LEN 43      /* "live_" + 38 base64url characters */
#define STREAMS_KEY_HASH_HEX 65

/* A new ingest key (shown once) and its stored hash. 0, or -1. */
int streams_key_new(char key[STREAMS_KEY_LEN + 1], char hash[STREAMS_KEY_HASH_HEX]);
void streams_key_hash(const char *key, char hash[STREAMS_KEY_HASH_HEX]);
/* The stream an ingest key belongs to: 0 with *id, STREAMS_ENOTFOUND, or <0. */
int streams_by_key(vz_db *db, const char *key, int64_t *id);
/* The live RTMP stream whose open session's publisher is `client` (nginx clientid). */
int streams_by_client(vz_db *db, const char *client, int64_t *id);

/* RFC 3339 UTC-or-offset time ("2026-12-03T18:00:00Z", "...+01:00", fractions) -> unix
 * ms. 0, or -1 for anything else. */
int streams_parse_time(const char *s, int64_t *ms);

/* The JSON object of a stream for `viewer` (the key never; HLS/replay URLs by status). */
json_t *streams_row_json(vz_req *req, vz_db *db, vz_stmt *st);
extern const char *streams_cols_sql;

/* routes.c */
extern vz_route streams_routes[];
/* hooks.c: nginx-rtmp's HTTP notifications (rows in routes.c) */
int streams_h_publish(vz_req *req);
int streams_h_publish_done(vz_req *req);
int streams_h_update(vz_req *req);
/* agora.c: Agora tokens and channel-event webhooks (rows in routes.c) */
int streams_h_token(vz_req *req);
int streams_h_agora_webhook(vz_req *req);
/* One field of an x-www-form-urlencoded body, decoded into out: 0, or -1 when absent,
 * malformed, holding a NUL, or longer than cap - 1. */
int streams_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);
/* ingest.c: the supervised nginx and the paths it writes */
int streams_ingest_start(void);
void streams_ingest_stop(void);
int streams_ingest_ready(char *why, size_t n);      /* 0 ready (or off), -1 with why */
void streams_ingest_drop(const char *client);       /* disconnect an RTMP publisher (nginx clientid) */
/* Disconnects the stream's current publisher once the transaction commits. */
int streams_drop_after_commit(vz_db *db, int64_t id);
const char *streams_dir(void);                       /* DATA_DIR/streams */

/* state.c: reactions to users' events (a host deleted or suspended) */
extern const vz_subscription streams_on[];
/* jobs (recording.c, state.c) */
int streams_job_grace(vz_db *db, const jobs_job *job, char *err, size_t n);
int streams_job_recording(vz_db *db, const jobs_job *job, char *err, size_t n);
#define STREAMS_Q_GRACE "streams.grace"
#define STREAMS_Q_RECORDING "streams.recording"
#endif
