/* chat/send.c: joining a stream's chat and sending a message. Checks run on a worker in
 * the order a viewer would want to learn them (length, terms and links before limits,
 * so a refused message costs no rate-limit token), then the message goes to the
 * group-commit writer, which broadcasts and acknowledges it after the commit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "realtime/sio.h"
#include "realtime/sio_events.h"
#include "services/analytics/analytics.h"
#include "services/chat/chat_int.h"
#include "services/chat/fold.h"
#include "services/orders/orders.h"
#include "services/users/users.h"

#define MAX_HIDDEN 1000
#define CHAT_TOP_BUYERS 3 /* issue 19: "top buyer" badge for the host's best 3 buyers */

/* chat:join {stream_id}: anyone may join a public live or ended stream's chat (read);
 * a followers-only stream needs a follower (or the host, a moderator). Banned users are
 * refused. The answer carries what a late joiner needs: settings, pin, poll, viewers,
 * and the users the caller blocked or was blocked by (their messages are hidden: the
 * history route filters them, the client filters the live ones with this list). */
int chat_h_join(vz_req *req) {
  chat_stream s;
  if (chat_stream_or_fail(req, &s)) return req->status;
  int mod = chat_is_mod(req->db, s.host_id, req->user_id, req->role);
  if (mod < 0) return vz_fail_db(req, mod);
  if (!mod) { /* followers-only streams and blocks with the host: as if it did not exist */
    int v = chat_stream_can_view(req->db, &s, req->user_id, req->role);
    if (v < 0) return vz_fail_db(req, v);
    if (!v) return vz_fail(req, 404, "not_found", "stream_id", "no such stream");
  }
  int64_t until = 0;
  int ban = req->user_id && !mod ? chat_ban_get(req->db, s.host_id, req->user_id, &until) : 0;
  if (ban < 0) return vz_fail_db(req, ban);
  if (ban && until == 0) return vz_fail(req, 403, "banned", NULL, "you are banned from this channel's chat");
  chat_settings cs;
  int rc = chat_settings_get(req->db, s.host_id, &cs);
  if (rc < 0) return vz_fail_db(req, rc);
  json_t *hidden = json_array();
  if (req->user_id) {
    static _Thread_local int64_t ids[MAX_HIDDEN];
    int n = users_block_list(req->db, req->user_id, ids, MAX_HIDDEN);
    if (n < 0) { json_decref(hidden); return vz_fail_db(req, n); }
    for (int i = 0; i < n; i++) json_array_append_new(hidden, vz_json_id(ids[i]));
    /* the gateway leaves their messages out for this socket (chat:message carries
     * author_id at its top level for this) */
    sio_event_hide(req, "author_id", ids, n);
  }
  json_t *pin = json_null();
  vz_stmt *st = NULL;
  rc = db_run(req->db, &st, "SELECT m.id, m.body, m.meta, m.server_ts FROM chat_pins p JOIN chat_messages m ON m.id = p.message_id"
              " WHERE p.stream_id = $1 AND m.deleted_at IS NULL", "i", s.id);
  if (rc == DB_ROW) {
    json_t *pa = json_loads(db_col_text(st, 2), 0, NULL);
    pin = json_pack("{s:o,s:s,s:o,s:I}", "id", vz_json_id(db_col_int(st, 0)), "text", db_col_text(st, 1), "author",
                    pa ? pa : json_object(), "server_ts", (json_int_t)db_col_int(st, 3));
  }
  db_finalize(st);
  if (rc < 0) { json_decref(hidden); return vz_fail_db(req, rc); }
  if (req->user_id && s.live && (rc = analytics_viewer_seen(req->db, s.id, req->user_id)) < 0) {
    json_decref(hidden);
    json_decref(pin);
    return vz_fail_db(req, rc);
  }
  json_t *poll = chat_poll_json(req->db, s.id, 0);
  char room[48];
  chat_room(room, s.id);
  sio_event_join(req, room);
  chat_live_watch(s.id);
  return vz_reply_item(req, 200, json_pack("{s:o,s:s,s:b,s:o,s:o,s:o,s:o,s:I,s:b,s:o}", "stream_id", vz_json_id(s.id), "room",
                                           room, "live", s.live, "settings", chat_settings_json(&cs), "pinned",
                                           pin ? pin : json_null(), "poll", poll ? poll : json_null(), "hidden_user_ids",
                                           hidden, "viewers", (json_int_t)sio_room_presence(CHAT_NSP, room), "moderator",
                                           mod > 0, "timed_out_until", until ? vz_json_time(until) : json_null()));
}

int chat_h_leave(vz_req *req) {
  char room[48];
  chat_room(room, chat_json_id(req->json, "stream_id"));
  sio_event_leave(req, room);
  return vz_reply_item(req, 200, json_pack("{s:b}", "left", 1));
}

/* The author as every message carries it: id, handle, display name, badges. */
static json_t *author_json(vz_db *db, int64_t uid, const chat_stream *s, int mod, int *rc) {
  users_brief b;
  *rc = users_brief_get(db, uid, &b);
  if (*rc <= 0) return NULL;
  json_t *badges = json_array();
  if (uid == s->host_id) json_array_append_new(badges, json_string("host"));
  else if (mod) json_array_append_new(badges, json_string("moderator"));
  if (b.role == VZ_R_ADMIN || b.role == VZ_R_MODERATOR) json_array_append_new(badges, json_string("staff"));
  if (b.role == VZ_R_SELLER) json_array_append_new(badges, json_string("seller"));
  /* one of the host's CHAT_TOP_BUYERS best buyers (orders.h: a cached ranking, so this
   * costs one cache read per message) */
  int top = uid == s->host_id ? 0 : orders_top_buyer(db, s->host_id, uid, CHAT_TOP_BUYERS);
  if (top < 0) { json_decref(badges); *rc = top; return NULL; }
  if (top) json_array_append_new(badges, json_string("top_buyer"));
  return json_pack("{s:o,s:s,s:s,s:o}", "id", vz_json_id(uid), "handle", b.handle, "display_name", b.display_name,
                   "badges", badges);
}

/* 1 when a banned term (platform-wide or the channel's) occurs in the folded text. */
static int has_banned_term(vz_db *db, int64_t host_id, const char *folded, int *rc) {
  vz_stmt *st = NULL;
  int hit = 0;
  *rc = db_run(db, &st, "SELECT folded FROM chat_terms WHERE host_id = 0 OR host_id = $1", "i", host_id);
  while (*rc == DB_ROW && !hit) {
    hit = chat_fold_contains(folded, db_col_text(st, 0));
    *rc = db_step(st);
  }
  db_finalize(st);
  if (*rc > 0) *rc = 0;
  return hit;
}

/* The first max code points of valid UTF-8 s (out holds max * 4 + 1 bytes). */
static void excerpt_of(const char *s, char *out, int max) {
  size_t i = 0;
  for (int n = 0; s[i] && n < max; n++)
    do out[i] = s[i], i++; while (((unsigned char)s[i] & 0xC0) == 0x80);
  out[i] = 0;
}

static int retry_s(int64_t ms) { return (int)((ms + 999) / 1000) > 0 ? (int)((ms + 999) / 1000) : 1; }

int chat_h_send(vz_req *req) {
  chat_stream s;
  const char *raw = json_string_value(json_object_get(req->json, "text"));
  size_t rawlen = strlen(raw);
  char *text = vz_arena_alloc(req->arena, rawlen + 1);
  char *folded = vz_arena_alloc(req->arena, rawlen + 1);
  if (!text || !folded) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  long chars = chat_text_normalize(raw, rawlen, text, rawlen + 1);
  if (chars < 0) return vz_fail(req, 400, "invalid_argument", "text", "text must be UTF-8");
  if (chars == 0) return vz_fail(req, 400, "invalid_argument", "text", "text is empty");
  if (chars > CHAT_MAX_CHARS) return vz_fail(req, 400, "too_long", "text", "at most %d characters", CHAT_MAX_CHARS);
  if (chat_stream_or_fail(req, &s)) return req->status;
  if (!s.live) return vz_fail(req, 409, "chat_closed", "stream_id", "the stream is not live");
  int mod = chat_is_mod(req->db, s.host_id, req->user_id, req->role);
  if (mod < 0) return vz_fail_db(req, mod);
  int64_t now = db_now_ms(), until = 0;
  int rc = mod ? 0 : chat_ban_get(req->db, s.host_id, req->user_id, &until);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc && until == 0) return vz_fail(req, 403, "banned", NULL, "you are banned from this channel's chat");
  if (rc) return chat_fail_retry(req, 403, "timed_out", retry_s(until - now), "you are timed out");
  chat_settings cs;
  if ((rc = chat_settings_get(req->db, s.host_id, &cs)) < 0) return vz_fail_db(req, rc);
  if (!mod && cs.followers_only_s >= 0) {
    int64_t since = 0;
    rc = users_follow_since(req->db, req->user_id, s.host_id, &since);
    if (rc < 0) return vz_fail_db(req, rc);
    if (!rc) return vz_fail(req, 403, "followers_only", NULL, "chat is for followers only");
    if (now - since < cs.followers_only_s * 1000)
      return chat_fail_retry(req, 403, "followers_only", retry_s(since + cs.followers_only_s * 1000 - now),
                             "chat is for followers of some time only");
  }
  chat_fold(text, strlen(text), folded, rawlen + 1);
  if (!mod) {
    int hit = has_banned_term(req->db, s.host_id, folded, &rc);
    if (rc < 0) return vz_fail_db(req, rc);
    if (hit) return vz_fail(req, 400, "blocked_term", "text", "the message contains a banned term");
    if (!cs.links && chat_has_link(text)) return vz_fail(req, 400, "links_blocked", "text", "links are not allowed here");
    if (cs.emote_only && !chat_emote_only(text))
      return vz_fail(req, 400, "emote_only", "text", "only emotes and emoji in this chat now");
  }
  char key[96];
  int64_t wait_ms = 0;
  if (!mod && cs.slow_s > 0) {
    snprintf(key, sizeof key, "chat:slow:%" PRId64 ":%" PRId64 ":%" PRId64, s.id, req->user_id, cs.slow_s);
    if (!cache_ratelimit(key, 1.0 / (double)cs.slow_s, 1, 1, &wait_ms))
      return chat_fail_retry(req, 429, "slow_mode", retry_s(wait_ms), "slow mode is on");
  }
  snprintf(key, sizeof key, "chat:rate:%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64, s.id, req->user_id, cs.rate_per_s,
           cs.burst);
  if (!cache_ratelimit(key, (double)cs.rate_per_s, (int)cs.burst, 1, &wait_ms))
    return chat_fail_retry(req, 429, "rate_limited", retry_s(wait_ms), "too many messages");
  json_t *author = author_json(req->db, req->user_id, &s, mod, &rc);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!author) return vz_fail(req, 403, "forbidden", NULL, "no such account");
  int64_t reply_to = chat_json_id(req->json, "reply_to");
  json_t *reply = json_null();
  if (reply_to) {
    vz_stmt *st = NULL;
    rc = db_run(req->db, &st, "SELECT body, meta FROM chat_messages WHERE id = $1 AND stream_id = $2 AND deleted_at IS NULL",
                "ii", reply_to, s.id);
    if (rc == DB_ROW) {
      json_t *ra = json_loads(db_col_text(st, 1), 0, NULL);
      char excerpt[121 * 4];
      excerpt_of(db_col_text(st, 0), excerpt, 120);
      reply = json_pack("{s:o,s:s,s:o}", "id", vz_json_id(reply_to), "text", excerpt, "author", ra ? ra : json_object());
    }
    db_finalize(st);
    if (rc < 0) { json_decref(author); return vz_fail_db(req, rc); }
    if (rc != DB_ROW) { json_decref(author); return vz_fail(req, 404, "not_found", "reply_to", "no such message in this chat"); }
  }
  chat_msg *m = calloc(1, sizeof *m);
  if (!m) { json_decref(author); json_decref(reply); return vz_fail(req, 503, "unavailable", NULL, "server busy"); }
  m->stream_id = s.id;
  m->user_id = req->user_id;
  m->reply_to = reply_to;
  m->server_ts = now;
  m->offset_ms = s.started_at > 0 && now >= s.started_at ? now - s.started_at : -1;
  m->body = strdup(text);
  m->meta = json_dumps(author, JSON_COMPACT);
  m->event = json_pack("{s:n,s:o,s:o,s:s,s:o,s:o,s:I,s:o}", "id", "stream_id", vz_json_id(s.id), "author_id",
                       vz_json_id(req->user_id), "text", text,
                       "author", author, "reply_to", reply, "server_ts", (json_int_t)now, "offset_ms",
                       m->offset_ms >= 0 ? json_integer(m->offset_ms) : json_null());
  m->req = req;
  if (!m->body || !m->meta || !m->event || chat_writer_submit(m) < 0) {
    m->req = NULL;
    chat_msg_free(m);
    return vz_fail(req, 503, "unavailable", NULL, "chat is busy, send again");
  }
  return VZ_PENDING; /* the writer answers after the commit */
}
