/* chat/history.c: scroll-back and replay. GET /v1/streams/:id/chat
 *   ?before=<message id> (or the opaque cursor of the previous page)&limit=  newest first
 *   ?since_offset=<ms>&limit=   oldest first from that point of the recording's timeline
 *                               (offset_ms: ms since the session start), for replays
 * Deleted messages are left out, and so are the authors the caller blocked or who
 * blocked the caller (users_block_list). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/chat/chat_int.h"
#include "services/users/users.h"

#define MAX_HIDDEN 1000

static int hidden(const int64_t *ids, int n, int64_t uid) {
  for (int i = 0; i < n; i++)
    if (ids[i] == uid) return 1;
  return 0;
}

int chat_h_history(vz_req *req) {
  chat_stream s;
  if (chat_stream_or_fail(req, &s)) return req->status;
  int mod = chat_is_mod(req->db, s.host_id, req->user_id, req->role);
  int v = mod ? mod : chat_stream_can_view(req->db, &s, req->user_id, req->role);
  if (v < 0) return vz_fail_db(req, v);
  if (!v) return vz_fail(req, 404, "not_found", "id", "no such stream");
  int limit = vz_req_limit(req);
  if (limit < 0) return req->status;
  int64_t before = INT64_MAX, since = -1;
  const char *b = vz_req_query(req, "before"), *c = vz_req_query(req, "cursor"), *so = vz_req_query(req, "since_offset");
  if (c) {
    const char *plain = vz_cursor_decode_or_fail(req, c);
    if (!plain) return req->status;
    if (vz_parse_id(plain, &before) != 0) return vz_fail(req, 400, "invalid_argument", "cursor", "bad cursor");
  } else if (b && vz_parse_id(b, &before) != 0) {
    return vz_fail(req, 400, "invalid_argument", "before", "before must be a message id");
  }
  if (so) {
    char *end;
    long long x = strtoll(so, &end, 10);
    if (!*so || *end || x < 0) return vz_fail(req, 400, "invalid_argument", "since_offset", "since_offset must be ms >= 0");
    since = x;
  }
  static _Thread_local int64_t ids[MAX_HIDDEN];
  int nh = req->user_id ? users_block_list(req->db, req->user_id, ids, MAX_HIDDEN) : 0;
  if (nh < 0) return vz_fail_db(req, nh);
  vz_stmt *st = NULL;
  int rc = since >= 0
               ? db_run(req->db_read, &st, "SELECT id, user_id, body, meta, reply_to, server_ts, offset_ms FROM chat_messages"
                        " WHERE stream_id = $1 AND deleted_at IS NULL AND offset_ms >= $2 ORDER BY offset_ms, id LIMIT $3",
                        "iii", s.id, since, (int64_t)limit + 1 + nh)
               : db_run(req->db_read, &st, "SELECT id, user_id, body, meta, reply_to, server_ts, offset_ms FROM chat_messages"
                        " WHERE stream_id = $1 AND deleted_at IS NULL AND id < $2 ORDER BY id DESC LIMIT $3",
                        "iii", s.id, before, (int64_t)limit + 1 + nh);
  json_t *items = json_array();
  int n = 0, more = 0;
  int64_t last = 0;
  while (rc == DB_ROW) {
    if (!hidden(ids, nh, db_col_int(st, 1))) {
      if (n == limit) { more = 1; break; }
      json_t *au = json_loads(db_col_text(st, 3), 0, NULL);
      int64_t rt = db_col_int(st, 4);
      last = db_col_int(st, 0);
      json_array_append_new(items, json_pack("{s:o,s:o,s:o,s:s,s:o,s:o,s:I,s:o}", "id", vz_json_id(last), "stream_id",
                                             vz_json_id(s.id), "author_id", vz_json_id(db_col_int(st, 1)), "text", db_col_text(st, 2), "author", au ? au : json_object(),
                                             "reply_to", rt ? json_pack("{s:o}", "id", vz_json_id(rt)) : json_null(),
                                             "server_ts", (json_int_t)db_col_int(st, 5), "offset_ms",
                                             db_col_is_null(st, 6) ? json_null() : json_integer(db_col_int(st, 6))));
      n++;
    }
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  char plain[24];
  snprintf(plain, sizeof plain, "%" PRId64, last);
  return vz_reply_list(req, items, more && since < 0 ? vz_cursor_encode(req->arena, plain) : NULL);
}

int chat_counts(vz_db *db, int64_t stream_id, int64_t *messages, int64_t *reactions) {
  vz_stmt *st = NULL;
  *messages = *reactions = 0;
  int rc = db_run(db, &st, "SELECT count(*) FROM chat_messages WHERE stream_id = $1", "i", stream_id);
  if (rc == DB_ROW) *messages = db_col_int(st, 0);
  db_finalize(st);
  if (rc < 0) return rc;
  rc = db_run(db, &st, "SELECT coalesce(sum(total), 0) FROM chat_reaction_totals WHERE stream_id = $1", "i", stream_id);
  if (rc == DB_ROW) *reactions = db_col_int(st, 0);
  db_finalize(st);
  return rc < 0 ? rc : 0;
}
