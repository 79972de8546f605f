/* streams/routes.c: the /v1/streams API: create, list (the discovery feeds), show,
 * update, end, cancel, rotate the ingest key. Only the host (or an admin) changes a
 * stream; a followers-only stream is answered 404 to anyone who may not see it, as if
 * it did not exist. The ingest key is shown once, in the create and rotate replies. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/list.h"
#include "core/respcache.h"
#include "core/service.h"
#include "db/db.h"
#include "services/media/media.h"
#include "services/streams/internal.h"

#define MAX_TAGS 10
#define MAX_WORDS 5

/* ---- the stream object ----------------------------------------------------------------- */

const char *streams_cols_sql =
    "s.id, s.host_id, u.handle, u.display_name, u.avatar_key, s.status, s.visibility, s.title, s.description,"
    " s.category_id, s.tags, s.thumbnail_media_id, s.live_thumb_at, s.viewers, s.peak_viewers, s.scheduled_at,"
    " s.started_at, s.ended_at, s.created_at, s.updated_at, s.feed_pos, r.status, r.duration_ms, r.session_id, s.source,"
    " u.avatar_media_id";
#define COL_FEED_POS 20
/* One session per stream (ended is final), so at most one recording row joins. */
#define FROM_STREAMS " FROM streams s JOIN users u ON u.id = s.host_id" \
                     " LEFT JOIN stream_recordings r ON r.stream_id = s.id"

static json_t *opt_time(vz_stmt *st, int c) { return db_col_is_null(st, c) ? json_null() : vz_json_time(db_col_int(st, c)); }
static json_t *opt_text(vz_stmt *st, int c) {
  return db_col_is_null(st, c) ? json_null() : json_string(db_col_text(st, c));
}

json_t *streams_row_json(vz_req *req, vz_db *db, vz_stmt *st) {
  int64_t id = db_col_int(st, 0), host = db_col_int(st, 1);
  const char *status = db_col_text(st, 5);
  int live = status && !strcmp(status, "live"), ended = status && !strcmp(status, "ended");
  const char *base = streams_conf.hls_base;
  /* the host's avatar by the users service's rule: an uploaded one (its 480 px WebP, null
   * while processing), else the legacy file. One media read per row that has one. */
  json_t *avatar;
  if (!db_col_is_null(st, 25)) {
    char aurl[512];
    avatar = media_url(db, db_col_int(st, 25), 480, "webp", aurl, sizeof aurl) == 0 ? json_string(aurl) : json_null();
  } else avatar = db_col_is_null(st, 4) ? json_null() : json_sprintf("/v1/media/%s", db_col_text(st, 4));
  json_t *host_o = json_pack("{s:o, s:o, s:s, s:o}", "id", vz_json_id(host), "handle", opt_text(st, 2),
                             "display_name", db_col_text(st, 3) ? db_col_text(st, 3) : "", "avatar_url", avatar);
  json_t *tags = json_loads(db_col_text(st, 10) ? db_col_text(st, 10) : "[]", 0, NULL);
  json_t *thumb;
  /* the live frame (refreshed every 10 s; players should not cache it) while live, and
   * the last one for a replay that has no chosen thumbnail */
  const char *source = db_col_text(st, 24);
  if (streams_conf.thumbs && source && !strcmp(source, "rtmp") && (live || (ended && db_col_is_null(st, 11))))
    thumb = json_sprintf("%s/thumbs/%lld.jpg", base, (long long)id);
  else if (!db_col_is_null(st, 11)) { /* the chosen one, once media has made its variants */
    char url[512];
    thumb = media_url(db, db_col_int(st, 11), 480, "jpeg", url, sizeof url) == 0 ? json_string(url) : json_null();
  } else thumb = json_null();
  json_t *replay = json_null();
  if (ended && !db_col_is_null(st, 21)) {
    const char *rs = db_col_text(st, 21);
    int ready = rs && !strcmp(rs, "ready");
    long long sess = (long long)db_col_int(st, 23);
    replay = json_pack("{s:s, s:o, s:o, s:I}", "status", rs ? rs : "pending", "hls_url",
                       ready ? json_sprintf("%s/vod/%lld/index.m3u8", base, sess) : json_null(), "mp4_url",
                       ready ? json_sprintf("%s/vod/%lld/replay.mp4", base, sess) : json_null(), "duration_ms",
                       (json_int_t)db_col_int(st, 22));
  }
  json_t *o = json_object();
  if (!o || !host_o || !tags) goto fail;
  json_object_set_new(o, "id", vz_json_id(id));
  json_object_set_new(o, "host", host_o);
  host_o = NULL;
  json_object_set_new(o, "status", json_string(status ? status : "?"));
  json_object_set_new(o, "visibility", opt_text(st, 6));
  json_object_set_new(o, "title", opt_text(st, 7));
  json_object_set_new(o, "description", opt_text(st, 8));
  json_object_set_new(o, "category_id", db_col_is_null(st, 9) ? json_null() : vz_json_id(db_col_int(st, 9)));
  json_object_set_new(o, "tags", tags);
  tags = NULL;
  json_object_set_new(o, "thumbnail_url", thumb);
  thumb = NULL;
  json_object_set_new(o, "viewers", json_integer(db_col_int(st, 13)));
  json_object_set_new(o, "peak_viewers", json_integer(db_col_int(st, 14)));
  json_object_set_new(o, "scheduled_at", vz_json_time(db_col_int(st, 15)));
  json_object_set_new(o, "started_at", opt_time(st, 16));
  json_object_set_new(o, "ended_at", opt_time(st, 17));
  json_object_set_new(o, "created_at", vz_json_time(db_col_int(st, 18)));
  json_object_set_new(o, "updated_at", vz_json_time(db_col_int(st, 19)));
  /* --transcode: the master playlist of the source and 480p renditions (ingest.c) */
  json_object_set_new(o, "hls_url", !live ? json_null()
                                    : streams_conf.transcode ? json_sprintf("%s/abr/%lld.m3u8", base, (long long)id)
                                    : json_sprintf("%s/hls/%lld/index.m3u8", base, (long long)id));
  json_object_set_new(o, "replay", replay);
  replay = NULL;
  /* where to point the encoder: only the host (and admins) need it */
  if (req && (req->user_id == host || req->role == VZ_R_ADMIN))
    json_object_set_new(o, "ingest_url", json_sprintf("rtmp://%s:%d/live", streams_conf.rtmp_host,
                                                      streams_conf.rtmp_port));
  return o;
fail:
  json_decref(o), json_decref(host_o), json_decref(tags), json_decref(thumb), json_decref(replay);
  return NULL;
}

/* Reads one stream for the caller: 200/201 with it, or 404 when absent or not visible. */
static int reply_stream(vz_req *req, vz_db *db, int64_t id, int status, const char *key) {
  streams_info si;
  int rc = streams_get(db, id, &si);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc < 0) return vz_fail_db(req, rc);
  if ((rc = streams_can_view(db, &si, req->user_id, req->role == VZ_R_ADMIN)) < 0) return vz_fail_db(req, rc);
  if (!rc) return vz_fail(req, 404, "not_found", "id", "no such stream");
  const char *sql = vz_arena_printf(req->arena, "SELECT %s" FROM_STREAMS " WHERE s.id = $1", streams_cols_sql);
  vz_stmt *st = NULL;
  rc = sql ? db_run(db, &st, sql, "i", id) : DB_ERROR;
  json_t *o = rc == DB_ROW ? streams_row_json(req, db, st) : NULL;
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (!o) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  if (key) json_object_set_new(o, "stream_key", json_string(key));
  return vz_reply_item(req, status, o);
}

/* ---- input helpers ---------------------------------------------------------------------- */

/* Tags: trimmed, lower-cased, de-duplicated, letters/digits/-/_ only (they are search
 * words and URL filters). Writes the JSON array and the space-joined text for search. */
static int tags_or_fail(vz_req *req, json_t *in, char **json_out, char **text_out) {
  json_t *out = json_array();
  char text[MAX_TAGS * 32 + 1] = "";
  size_t tl = 0, i;
  json_t *v;
  json_array_foreach(in, i, v) {
    const char *s = json_string_value(v);
    char t[32];
    size_t n = 0;
    for (; *s && n < sizeof t - 1; s++) {
      unsigned char c = (unsigned char)*s;
      if (isalnum(c) || c == '-' || c == '_') t[n++] = (char)tolower(c);
      else if (c != ' ' && c != '#') {
        json_decref(out);
        return vz_fail(req, 400, "invalid_argument", "tags", "tags are letters, digits, - and _");
      }
    }
    t[n] = 0;
    if (!n) continue;
    int dup = 0;
    size_t j;
    json_t *w;
    json_array_foreach(out, j, w) dup |= !strcmp(json_string_value(w), t);
    if (dup) continue;
    json_array_append_new(out, json_string(t));
    tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%s", tl ? " " : "", t);
  }
  *json_out = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  if (!*json_out) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  char *a = vz_arena_strdup(req->arena, *json_out);
  free(*json_out);
  *json_out = a;
  *text_out = vz_arena_strdup(req->arena, text);
  return *json_out && *text_out ? 0 : vz_fail(req, 503, "unavailable", NULL, "server busy");
}

/* scheduled_at: a time from a minute ago up to a year ahead. */
static int when_or_fail(vz_req *req, const char *s, int64_t *ms) {
  if (streams_parse_time(s, ms)) return vz_fail(req, 400, "invalid_argument", "scheduled_at",
                                                "scheduled_at must be an RFC 3339 time");
  int64_t now = db_now_ms();
  if (*ms < now - 60000 || *ms > now + 366LL * 86400000)
    return vz_fail(req, 400, "invalid_argument", "scheduled_at", "scheduled_at must be from now to a year ahead");
  return 0;
}

/* thumbnail_id in the body: a stream_thumbnail upload of the caller, claimed for this
 * stream in the change's transaction; the one it replaces (or null clears) is released.
 * Absent: unchanged. 0, DB_EABORT after replying, or a db.h code. */
static int thumbnail_set(vz_req *req, vz_db *db, int64_t id, int64_t old) {
  json_t *t = json_object_get(req->json, "thumbnail_id");
  if (!t) return 0;
  int64_t up = 0, mid = 0;
  if (!json_is_null(t) && vz_parse_id(json_string_value(t), &up)) up = json_integer_value(t);
  if (up && up == old) return 0;
  int rc;
  if (up) {
    char ref[40];
    snprintf(ref, sizeof ref, "stream:%lld", (long long)id);
    if ((rc = media_claim(db, up, req->user_id, MEDIA_STREAM_THUMBNAIL, ref, &mid)) < 0) {
      if (rc > -20) return rc; /* a db.h code: the transaction rolls back */
      media_fail(req, rc, "thumbnail_id");
      return DB_EABORT;
    }
  }
  if (old && (rc = media_release(db, old)) < 0) return rc;
  rc = db_run(db, NULL, "UPDATE streams SET thumbnail_media_id = NULLIF(CAST($2 AS BIGINT), 0) WHERE id = $1", "ii", id,
              mid);
  return rc < 0 ? rc : 0;
}

/* ---- create ----------------------------------------------------------------------------- */

typedef struct create_ctx {
  vz_req *req;
  int64_t id, scheduled_at, category_id;
  const char *tags, *tags_text;
  char key[STREAMS_KEY_LEN + 1], hash[STREAMS_KEY_HASH_HEX];
} create_ctx;

static int create_tx(vz_db *db, void *arg) {
  create_ctx *c = arg;
  json_t *in = c->req->json;
  const char *vis = json_string_value(json_object_get(in, "visibility"));
  int64_t now = db_now_ms();
  int rc = db_run(db, NULL, "INSERT INTO streams (id, host_id, status, visibility, title, description, category_id,"
                  " tags, tags_text, thumbnail_media_id, key_hash, feed_pos, scheduled_at, created_at, updated_at)"
                  " VALUES ($1, $2, 'scheduled', $3, $4, $5, NULLIF(CAST($6 AS BIGINT), 0), $7, $8, $9, $10, $11, $12,"
                  " $13, $13)", "iisssissssiii", c->id, c->req->user_id,
                  vis ? vis : "public", json_string_value(json_object_get(in, "title")),
                  json_string_value(json_object_get(in, "description")) ? json_string_value(json_object_get(in, "description")) : "",
                  c->category_id, c->tags, c->tags_text, (const char *)NULL, c->hash, -c->scheduled_at,
                  c->scheduled_at, now);
  if (rc == DB_ECONSTRAINT) { /* the only foreign key the caller chose */
    vz_fail(c->req, 400, "invalid_argument", "category_id", "no such category");
    return DB_EABORT;
  }
  if (rc < 0) return rc;
  if ((rc = thumbnail_set(c->req, db, c->id, 0)) < 0) return rc;
  return reply_stream(c->req, db, c->id, 201, c->key) >= 400 ? DB_EABORT : 0;
}

static int h_create(vz_req *req) {
  json_t *in = req->json;
  create_ctx c = { .req = req, .id = db_id_new() };
  const char *when = json_string_value(json_object_get(in, "scheduled_at"));
  if (when) { if (when_or_fail(req, when, &c.scheduled_at)) return req->status; }
  else c.scheduled_at = db_now_ms();
  json_t *cat = json_object_get(in, "category_id");
  if (cat && !json_is_null(cat) && vz_parse_id(json_string_value(cat), &c.category_id))
    c.category_id = json_integer_value(cat);
  json_t *tags = json_object_get(in, "tags");
  char *tj = "[]", *tt = "";
  if (tags && tags_or_fail(req, tags, &tj, &tt)) return req->status;
  c.tags = tj, c.tags_text = tt;
  if (streams_key_new(c.key, c.hash)) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  if (vz_tx_or_fail(req, create_tx, &c) == 0) vz_cache_bump("streams");
  return req->status;
}

/* ---- the feeds -------------------------------------------------------------------------- */

/* The text query in the dialect's syntax (db_text_match: each word a prefix, all must
 * match); NULL when q has no letter or digit. */
static const char *match_of(vz_req *req, const char *q, int pg) {
  char match[512];
  return db_text_match(q, pg ? DB_POSTGRES : DB_SQLITE, MAX_WORDS, match, sizeof match)
             ? vz_arena_strdup(req->arena, match) : NULL;
}

static int h_list(vz_req *req) {
  const char *status_s = vz_req_query(req, "status"), *q = vz_req_query(req, "q");
  const char *cat_s = vz_req_query(req, "category"), *host_s = vz_req_query(req, "host");
  const char *fol = vz_req_query(req, "following");
  int following = fol && (!strcmp(fol, "true") || !strcmp(fol, "1"));
  int64_t cat = 0, host = 0;
  if (cat_s) vz_parse_id(cat_s, &cat);   /* validated as ids by the route's query table */
  if (host_s) vz_parse_id(host_s, &host);
  if (following && !req->user_id)
    return vz_fail(req, 401, "unauthenticated", "following", "sign in to see the streams of people you follow");
  int admin = req->role == VZ_R_ADMIN, mine = req->user_id && host == req->user_id;
  int status = status_s ? streams_status_parse(status_s) : 0;
  /* Cancelled streams are their host's business: listed only to the host and admins. */
  if (status == STREAMS_CANCELLED && !admin && !mine)
    return vz_fail(req, 403, "forbidden", "status", "only the host lists cancelled streams (add host=<your id>)");
  int pg_sql = db_dialect(req->db_read) == DB_POSTGRES;
  const char *match = NULL;
  if (q && !(match = match_of(req, q, pg_sql)))
    return vz_fail(req, 400, "invalid_argument", "q", "q must contain a letter or digit");

  /* With a status the feed order is that status's (feed_pos, id), newest/most first;
   * without one, every status but cancelled, newest created first (pos = id). */
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return req->status;
  /* without a status the position is the id itself: $2 is then only bound, never read
   * in a way that matters, and the ORDER BY names s.id once (SQLite sorts a repeated
   * term in a temporary b-tree instead of reading the index backwards) */
  /* a row-value comparison: both engines turn it into an index range on (.., feed_pos,
   * id), where "a < x OR (a = x AND b < y)" became a filter on PostgreSQL (deep pages
   * would read every row above them) */
  char *sql = status ? vz_arena_printf(req->arena, "SELECT %s" FROM_STREAMS " WHERE (s.feed_pos, s.id) < ($1, $2)",
                                       streams_cols_sql)
                     : vz_arena_printf(req->arena, "SELECT %s" FROM_STREAMS " WHERE s.id < $1"
                                       " AND CAST($2 AS BIGINT) IS NOT NULL", streams_cols_sql);
  int n = 3; /* $3 is the limit */
  int p_status = 0, p_cat = 0, p_host = 0, p_me = 0, p_match = 0;
#define ADD(fmt, ...) (sql = sql ? vz_arena_printf(req->arena, "%s" fmt, sql, ##__VA_ARGS__) : NULL)
  if (status) p_status = ++n, ADD(" AND s.status = $%d", p_status);
  else if (!admin && !mine) ADD(" AND s.status <> 'cancelled'");
  if (cat) p_cat = ++n, ADD(" AND s.category_id = $%d", p_cat);
  if (host) p_host = ++n, ADD(" AND s.host_id = $%d", p_host);
  if (req->user_id) p_me = ++n;
  if (following) ADD(" AND s.host_id IN (SELECT followee_id FROM follows WHERE follower_id = $%d)", p_me);
  if (match) {
    p_match = ++n;
    if (pg_sql) ADD(" AND s.search @@ to_tsquery('simple', $%d)", p_match);
    else ADD(" AND s.id IN (SELECT rowid FROM streams_fts WHERE streams_fts MATCH $%d)", p_match);
  }
  /* Visibility: anonymous callers see public streams; signed-in ones also followers-only
   * streams of hosts they follow, and their own; blocks either way hide a host. */
  if (!admin && !req->user_id) ADD(" AND s.visibility = 'public'");
  else if (!admin)
    ADD(" AND (s.visibility = 'public' OR s.host_id = $%d OR EXISTS (SELECT 1 FROM follows f"
        " WHERE f.follower_id = $%d AND f.followee_id = s.host_id)) AND NOT EXISTS (SELECT 1 FROM blocks b"
        " WHERE (b.blocker_id = s.host_id AND b.blocked_id = $%d) OR (b.blocker_id = $%d AND b.blocked_id = s.host_id))",
        p_me, p_me, p_me, p_me);
  /* With q (outside the small live set) the text index must drive: "+ 0" keeps the
   * planner from walking the feed index and testing every row against the query, which
   * PostgreSQL chose for rare words (200 ms on 100k streams, 10 ms through GIN). */
  const char *plus = match && status != STREAMS_LIVE ? " + 0" : "";
  if (status) ADD(" ORDER BY s.feed_pos%s DESC, s.id DESC LIMIT $3", plus);
  else ADD(" ORDER BY s.id%s DESC LIMIT $3", plus);
#undef ADD
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_prepare(req->db_read, sql, &st);
  if (rc >= 0) {
    db_bind_int(st, 1, pg.pos);
    db_bind_int(st, 2, pg.id);
    db_bind_int(st, 3, (int64_t)pg.limit + 1);
    if (p_status) db_bind_text(st, p_status, streams_status_name(status), -1);
    if (p_cat) db_bind_int(st, p_cat, cat);
    if (p_host) db_bind_int(st, p_host, host);
    if (p_me) db_bind_int(st, p_me, req->user_id);
    if (p_match) db_bind_text(st, p_match, match, -1);
    rc = db_step(st);
  }
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, status ? COL_FEED_POS : 0), db_col_int(st, 0))) {
    vz_page_add(&pg, streams_row_json(req, req->db_read, st));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}

static int h_show(vz_req *req) {
  int64_t id;
  return vz_req_param_id_or_fail(req, "id", &id) ? req->status : reply_stream(req, req->db_read, id, 200, NULL);
}

/* ---- changes by the host ---------------------------------------------------------------- */

/* The stream for a change: 0 with *si when the caller may change it; else replied
 * (404 when they may not even see it, 403 when they see it but are not its host). */
static int owned_or_fail(vz_req *req, vz_db *db, int64_t id, streams_info *si) {
  int rc = streams_get(db, id, si);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc < 0) return vz_fail_db(req, rc);
  if (si->host_id == req->user_id || req->role == VZ_R_ADMIN) return 0;
  if ((rc = streams_can_view(db, si, req->user_id, 0)) < 0) return vz_fail_db(req, rc);
  return rc ? vz_fail(req, 403, "forbidden", "id", "only the host changes a stream")
            : vz_fail(req, 404, "not_found", "id", "no such stream");
}

typedef struct change_ctx {
  vz_req *req;
  int64_t id;
  int64_t scheduled_at, category_id;
  int set_when, set_cat, set_tags;
  char *tags, *tags_text;
  char key[STREAMS_KEY_LEN + 1], hash[STREAMS_KEY_HASH_HEX];
} change_ctx;

static int update_tx(vz_db *db, void *arg) {
  change_ctx *c = arg;
  vz_req *req = c->req;
  json_t *in = req->json;
  streams_info si;
  if (owned_or_fail(req, db, c->id, &si)) return DB_EABORT;
  if (si.status == STREAMS_ENDED || si.status == STREAMS_CANCELLED) {
    vz_fail(req, 409, "conflict", "status", "a %s stream does not change", streams_status_name(si.status));
    return DB_EABORT;
  }
  if (c->set_when && si.status != STREAMS_SCHEDULED) {
    vz_fail(req, 409, "conflict", "scheduled_at", "the stream has started: its start time is history");
    return DB_EABORT;
  }
  int64_t now = db_now_ms();
  int rc = db_run(db, NULL,
      "UPDATE streams SET title = coalesce($2, title), description = coalesce($3, description),"
      " visibility = coalesce($4, visibility),"
      " tags = CASE WHEN CAST($5 AS BIGINT) = 1 THEN $6 ELSE tags END,"
      " tags_text = CASE WHEN CAST($5 AS BIGINT) = 1 THEN $7 ELSE tags_text END,"
      " category_id = CASE WHEN CAST($8 AS BIGINT) = 1 THEN NULLIF(CAST($9 AS BIGINT), 0) ELSE category_id END,"
      " scheduled_at = CASE WHEN CAST($10 AS BIGINT) = 1 THEN CAST($11 AS BIGINT) ELSE scheduled_at END,"
      " feed_pos = CASE WHEN CAST($10 AS BIGINT) = 1 THEN -CAST($11 AS BIGINT) ELSE feed_pos END,"
      " updated_at = $12 WHERE id = $1",
      "isssissiiiii", c->id,
      json_string_value(json_object_get(in, "title")), json_string_value(json_object_get(in, "description")),
      json_string_value(json_object_get(in, "visibility")), (int64_t)c->set_tags, c->tags ? c->tags : "[]",
      c->tags_text ? c->tags_text : "", (int64_t)c->set_cat, c->category_id,
      (int64_t)c->set_when, c->scheduled_at, now);
  if (rc == DB_ECONSTRAINT) {
    vz_fail(req, 400, "invalid_argument", "category_id", "no such category");
    return DB_EABORT;
  }
  if (rc < 0) return rc;
  if ((rc = thumbnail_set(req, db, c->id, si.thumbnail_media_id)) < 0) return rc;
  return reply_stream(req, db, c->id, 200, NULL) >= 400 ? DB_EABORT : 0;
}

static int h_update(vz_req *req) {
  change_ctx c = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  json_t *in = req->json;
  const char *when = json_string_value(json_object_get(in, "scheduled_at"));
  if (when && when_or_fail(req, when, &c.scheduled_at)) return req->status;
  c.set_when = when != NULL;
  json_t *cat = json_object_get(in, "category_id");
  if (cat) {
    c.set_cat = 1;
    if (!json_is_null(cat) && vz_parse_id(json_string_value(cat), &c.category_id)) c.category_id = json_integer_value(cat);
  }
  json_t *tags = json_object_get(in, "tags");
  if (tags && tags_or_fail(req, tags, &c.tags, &c.tags_text)) return req->status;
  c.set_tags = tags != NULL;
  if (vz_tx_or_fail(req, update_tx, &c) == 0) vz_cache_bump("streams");
  return req->status;
}

static int end_tx(vz_db *db, void *arg) {
  change_ctx *c = arg;
  streams_info si;
  if (owned_or_fail(c->req, db, c->id, &si)) return DB_EABORT;
  int rc = streams_end(db, c->id, si.host_id == c->req->user_id ? "host" : "admin");
  if (rc == STREAMS_ECONFLICT) {
    vz_fail(c->req, 409, "conflict", "status", si.status == STREAMS_SCHEDULED
            ? "the stream is not live: cancel it instead (DELETE)" : "the stream is %s, not live",
            streams_status_name(si.status));
    return DB_EABORT;
  }
  if (rc < 0) return rc;
  return reply_stream(c->req, db, c->id, 200, NULL) >= 400 ? DB_EABORT : 0;
}

static int h_end(vz_req *req) {
  change_ctx c = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  if (vz_tx_or_fail(req, end_tx, &c) == 0) vz_cache_bump("streams");
  return req->status;
}

static int cancel_tx(vz_db *db, void *arg) {
  change_ctx *c = arg;
  streams_info si;
  if (owned_or_fail(c->req, db, c->id, &si)) return DB_EABORT;
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE streams SET status = 'cancelled', feed_pos = $2, updated_at = $2"
                  " WHERE id = $1 AND status = 'scheduled'", "ii", c->id, now);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!n) {
    vz_fail(c->req, 409, "conflict", "status", si.status == STREAMS_LIVE ? "the stream is live: end it instead"
            : "the stream is %s: only a scheduled stream is cancelled", streams_status_name(si.status));
    return DB_EABORT;
  }
  return reply_stream(c->req, db, c->id, 200, NULL) >= 400 ? DB_EABORT : 0;
}

static int h_cancel(vz_req *req) {
  change_ctx c = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  if (vz_tx_or_fail(req, cancel_tx, &c) == 0) vz_cache_bump("streams");
  return req->status;
}

/* A new ingest key; the old one stops working at once (an encoder still pushing with it
 * is cut off: on_update refuses it). */
static int key_tx(vz_db *db, void *arg) {
  change_ctx *c = arg;
  streams_info si;
  if (owned_or_fail(c->req, db, c->id, &si)) return DB_EABORT;
  if (si.status == STREAMS_ENDED || si.status == STREAMS_CANCELLED) {
    vz_fail(c->req, 409, "conflict", "status", "a %s stream takes no key", streams_status_name(si.status));
    return DB_EABORT;
  }
  int rc = db_run(db, NULL, "UPDATE streams SET key_hash = $2, updated_at = $3 WHERE id = $1", "isi", c->id, c->hash,
                  db_now_ms());
  /* a live encoder on the old key is cut off now; it comes back with the new one within
   * the reconnect grace and keeps its session */
  if (rc >= 0 && si.status == STREAMS_LIVE) rc = streams_drop_after_commit(db, c->id);
  if (rc < 0) return rc;
  return reply_stream(c->req, db, c->id, 200, c->key) >= 400 ? DB_EABORT : 0;
}

static int h_key(vz_req *req) {
  change_ctx c = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  if (streams_key_new(c.key, c.hash)) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_tx_or_fail(req, key_tx, &c);
  return req->status;
}

/* ---- the route table -------------------------------------------------------------------- */

static const vz_field tag_in = { "tag", VZ_STR, 0, 1, 30 };
static const vz_field create_in[] = {
  { "title", VZ_STR, VZ_REQUIRED, 1, 140 },
  { "description", VZ_STR, 0, 0, 5000 },
  { "category_id", VZ_ID, VZ_NULLABLE },
  { "tags", VZ_ARR, 0, 0, MAX_TAGS, .of = &tag_in },
  { "thumbnail_id", VZ_ID, VZ_NULLABLE },
  { "scheduled_at", VZ_STR, 0, 1, 40 },
  { "visibility", VZ_ENUM, 0, 0, 0, "public|followers" },
  { 0 },
};
static const vz_field update_in[] = {
  { "title", VZ_STR, 0, 1, 140 },
  { "description", VZ_STR, 0, 0, 5000 },
  { "category_id", VZ_ID, VZ_NULLABLE },
  { "tags", VZ_ARR, 0, 0, MAX_TAGS, .of = &tag_in },
  { "thumbnail_id", VZ_ID, VZ_NULLABLE },
  { "scheduled_at", VZ_STR, 0, 1, 40 },
  { "visibility", VZ_ENUM, 0, 0, 0, "public|followers" },
  { 0 },
};
static const vz_field token_in[] = { { "uid", VZ_INT, 0, 1, 4294967295LL }, { 0 } };
static const vz_field hook_query[] = { { "secret", VZ_STR, 0, 1, 128 }, { 0 } };
static const vz_field list_query[] = {
  { "status", VZ_ENUM, 0, 0, 0, "scheduled|live|ended|cancelled" },
  { "category", VZ_ID },
  { "host", VZ_ID },
  { "following", VZ_BOOL },
  { "q", VZ_STR, 0, 1, 200 },
  { 0 },
};

vz_route streams_routes[] = {
  VZ_POST("/v1/streams", h_create, .op = "createStream", .summary = "Plan a stream; the reply carries its ingest key, shown this once",
          .res = "StreamWithKey", .ok = 201, .errors = "409", .body = create_in, .flags = VZ_AUTH | VZ_IDEMPOTENT | VZ_RATE_USER,
          .rate_per_min = 30),
  /* anonymous feed pages are served from memory for a second (benchmark: 100k streams) */
  VZ_GET("/v1/streams", h_list, .op = "listStreams",
         .summary = "Discovery feeds: live by viewers, scheduled by start, ended (replays) by end; filters and search",
         .desc = "status=live orders by current viewers, scheduled soonest first, ended newest first; without status, "
                 "newest created first (cancelled ones only to their host with host=<id>). category, host, "
                 "following=true (signed in) and q (words of title and tags, each a prefix, all must match) narrow "
                 "any of them. Followers-only streams appear only to the host's followers.",
         .res = "Stream[]", .errors = "401 403", .query = list_query, .cache_ms = 1000, .cache_group = "streams"),
  VZ_GET("/v1/streams/:id", h_show, .op = "getStream", .summary = "One stream (404 when it is followers-only and you do not follow)",
         .res = "Stream", .cache_ms = 1000, .cache_group = "streams"),
  VZ_PATCH("/v1/streams/:id", h_update, .op = "updateStream",
           .summary = "Change a stream that has not ended (host or admin); scheduled_at only before it goes live",
           .res = "Stream", .errors = "403 409", .body = update_in, .flags = VZ_AUTH | VZ_AUDIT),
  VZ_POST("/v1/streams/:id/end", h_end, .op = "endStream",
          .summary = "End a live stream now (host or admin): the encoder is cut off, the recording finalised",
          .res = "Stream", .errors = "403 409", .flags = VZ_AUTH | VZ_AUDIT),
  VZ_DELETE("/v1/streams/:id", h_cancel, .op = "cancelStream", .summary = "Cancel a scheduled stream (host or admin)",
            .res = "Stream", .ok = 200, .errors = "403 409", .flags = VZ_AUTH | VZ_AUDIT),
  VZ_POST("/v1/streams/:id/key", h_key, .op = "rotateStreamKey",
          .summary = "A new ingest key (host or admin); the old one is refused from now on, a live encoder on it cut off",
          .res = "StreamWithKey", .errors = "403 409", .flags = VZ_AUTH | VZ_AUDIT | VZ_RATE_USER, .rate_per_min = 10),
  /* Agora (agora.c): tokens for the stream's channel, and Agora's signed channel events */
  VZ_POST("/v1/streams/:id/token", streams_h_token, .op = "issueStreamToken",
          .summary = "Agora tokens for the stream's channel: publisher for the host, subscriber for viewers; again to renew",
          .desc = "An RTC token (string account u<user id>, or the uid form when uid is given) and an RTM token for the "
                  "account, with the configured expiry. 404 agora_disabled when VIDZO_AGORA_APP_ID / "
                  "VIDZO_AGORA_APP_CERTIFICATE are not set.",
          .res = "AgoraTokens", .errors = "409", .body = token_in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 30),
  VZ_POST("/v1/streams/agora/webhook", streams_h_agora_webhook, .op = "agoraWebhook", .tag = "internal",
          .summary = "Agora channel events, signed with the webhook secret: broadcaster joined or left, channel destroyed",
          .desc = "Agora-Signature (HMAC-SHA1) and Agora-Signature-V2 (HMAC-SHA256) of the body; every one present must "
                  "match. Each noticeId is applied once; events older than the last applied clientSeq are ignored.",
          .res = "=AgoraWebhookAck", .errors = "401 404", .flags = VZ_RAW_BODY, .max_body = 65536),
  /* nginx-rtmp's notifications (hooks.c): the nginx vidzo supervises calls them with the
   * secret it was given at start; anyone else gets 404. Tagged "internal" in the contract. */
  VZ_POST("/internal/rtmp/publish", streams_h_publish, .op = "rtmpOnPublish", .tag = "internal",
          .summary = "nginx-rtmp on_publish (nginx only): 302 to the origin app for a good key, 403 unknown key, 409 cannot go live",
          .res = "-", .ok = 302, .errors = "403 404 409", .flags = VZ_RAW_BODY, .query = hook_query, .max_body = 8192),
  VZ_POST("/internal/rtmp/publish_done", streams_h_publish_done, .op = "rtmpOnPublishDone", .tag = "internal",
          .summary = "nginx-rtmp on_publish_done (nginx only): the encoder left; the session waits for the reconnect grace",
          .res = "-", .ok = 200, .errors = "404", .flags = VZ_RAW_BODY, .query = hook_query, .max_body = 8192),
  VZ_POST("/internal/rtmp/update", streams_h_update, .op = "rtmpOnUpdate", .tag = "internal",
          .summary = "nginx-rtmp on_update (nginx only), every 5 s: 403 disconnects a rotated key or an ended stream",
          .res = "-", .ok = 200, .errors = "403 404", .flags = VZ_RAW_BODY | VZ_NO_LOG, .query = hook_query, .max_body = 8192),
  { 0 },
};
