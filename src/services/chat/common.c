/* chat/common.c: channel state read on every event (settings, moderators, bans), the
 * stream lookup and the reply helpers the chat files share. */
#include <inttypes.h>
#include <stdio.h>

#include "core/http.h"
#include "services/chat/chat_int.h"

void chat_room(char out[48], int64_t stream_id) { snprintf(out, 48, "stream:%" PRId64, stream_id); }

int64_t chat_json_id(const json_t *o, const char *name) {
  const json_t *v = json_object_get(o, name);
  int64_t id = 0;
  if (json_is_integer(v)) return json_integer_value(v) > 0 ? json_integer_value(v) : 0;
  if (json_is_string(v) && vz_parse_id(json_string_value(v), &id) == 0) return id;
  return 0;
}

int chat_fail_retry(vz_req *req, int status, const char *code, int retry_after_s, const char *message) {
  json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);
  if (err && retry_after_s > 0) {
    json_object_set_new(err, "retry_after", json_integer(retry_after_s));
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry_after_s);
    vz_add_header(req, "Retry-After", ra);
  }
  return err ? vz_reply_json(req, status, json_pack("{s:o}", "error", err))
             : vz_fail(req, 503, "unavailable", NULL, "server busy");
}

int chat_settings_get(vz_db *db, int64_t host_id, chat_settings *out) {
  *out = (chat_settings){ .slow_s = 0, .followers_only_s = -1, .rate_per_s = 1, .burst = 3, .links = 1, .emote_only = 0 };
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT slow_s, followers_only_s, links, rate_per_s, burst, emote_only FROM chat_settings"
                  " WHERE host_id = $1",
                  "i", host_id);
  if (rc == DB_ROW) {
    out->slow_s = db_col_int(st, 0);
    out->followers_only_s = db_col_int(st, 1);
    out->links = (int)db_col_int(st, 2);
    out->rate_per_s = db_col_int(st, 3);
    out->burst = db_col_int(st, 4);
    out->emote_only = (int)db_col_int(st, 5);
  }
  db_finalize(st);
  return rc < 0 ? rc : 0;
}

json_t *chat_settings_json(const chat_settings *s) {
  return json_pack("{s:I,s:o,s:b,s:b,s:I,s:I}", "slow_mode_s", (json_int_t)s->slow_s, "followers_only_s",
                   s->followers_only_s < 0 ? json_null() : json_integer(s->followers_only_s), "links", s->links,
                   "emote_only", s->emote_only, "rate_per_s", (json_int_t)s->rate_per_s, "burst", (json_int_t)s->burst);
}

int chat_is_mod(vz_db *db, int64_t host_id, int64_t uid, int role) {
  if (!uid) return 0;
  if (uid == host_id || role == VZ_R_ADMIN || role == VZ_R_MODERATOR) return 1;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT 1 FROM chat_moderators WHERE host_id = $1 AND user_id = $2", "ii", host_id, uid);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

int chat_ban_get(vz_db *db, int64_t host_id, int64_t uid, int64_t *until) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT until_ms FROM chat_bans WHERE host_id = $1 AND user_id = $2", "ii", host_id, uid);
  int found = 0;
  if (rc == DB_ROW) {
    *until = db_col_int(st, 0);
    found = *until == 0 || *until > db_now_ms(); /* an expired timeout is no longer one */
  }
  db_finalize(st);
  return rc < 0 ? rc : found;
}

int chat_stream_or_fail(vz_req *req, chat_stream *st) {
  int64_t id = chat_json_id(req->json, "stream_id");
  if (!id) {
    const char *p = vz_req_param(req, "id");
    if (!p || vz_parse_id(p, &id) != 0) return vz_fail(req, 404, "not_found", "id", "no such stream");
  }
  int rc = chat_stream_get(req->db, id, st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc == 0) return vz_fail(req, 404, "not_found", "stream_id", "no such stream");
  return 0;
}

int chat_mod_or_fail(vz_req *req, const chat_stream *st) {
  int rc = chat_is_mod(req->db, st->host_id, req->user_id, req->role);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!rc) return vz_fail(req, 403, "forbidden", NULL, "only the host and the channel's moderators may do this");
  return 0;
}
