/* search.c: GET /v1/users?q= over handles and display names. The index differs by
 * database (migration 111): FTS5 on SQLite, a generated tsvector with GIN on PostgreSQL,
 * so this is the one place in users that branches on db_dialect. The query is reduced to
 * words of letters and digits before it reaches either engine, so no FTS5 or tsquery
 * syntax from the client is ever interpreted. Each word matches as a prefix; all must
 * match. Results: most followed first, cursor "followers:id". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/users/internal.h"

#define MAX_WORDS 5

/* Splits q into lower-cased words of [a-z0-9] and UTF-8 bytes; returns the count. */
static int words_of(vz_req *req, const char *q, char **w) {
  int n = 0;
  while (*q && n < MAX_WORDS) {
    while (*q && !(isalnum((unsigned char)*q) || (unsigned char)*q >= 0x80)) q++;
    const char *s = q;
    while (*q && (isalnum((unsigned char)*q) || (unsigned char)*q >= 0x80)) q++;
    if (q == s) break;
    char *o = vz_arena_alloc(req->arena, (size_t)(q - s) + 1);
    if (!o) break;
    for (size_t i = 0; i < (size_t)(q - s); i++) o[i] = (char)tolower((unsigned char)s[i]);
    o[q - s] = 0;
    w[n++] = o;
  }
  return n;
}

int users_h_search(vz_req *req) {
  const char *q = vz_req_query(req, "q"), *cursor = vz_req_query(req, "cursor");
  int limit = vz_req_limit(req);
  char *w[MAX_WORDS];
  int nw = q ? words_of(req, q, w) : 0;
  if (!nw) return vz_fail(req, 400, "invalid_argument", "q", "q must contain a letter or digit");
  long long after_f = -1, after_id = 0;
  if (cursor) {
    const char *plain = vz_cursor_decode_or_fail(req, cursor);
    if (!plain) return 400;
    if (sscanf(plain, "%lld:%lld", &after_f, &after_id) != 2 || after_f < 0 || after_id <= 0)
      return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
  }
  int pg = db_dialect(req->db_read) == DB_POSTGRES;
  /* FTS5: "word"* "word2"* (implicit AND); tsquery: word:* & word2:* */
  char match[512];
  size_t m = 0;
  for (int i = 0; i < nw && m < sizeof match - 80; i++) {
    int k = pg ? snprintf(match + m, sizeof match - m, "%s%.60s:*", i ? " & " : "", w[i])
               : snprintf(match + m, sizeof match - m, "%s\"%.60s\"*", i ? " " : "", w[i]);
    if (k < 0 || (size_t)k >= sizeof match - m) break;
    m += (size_t)k;
  }
  const char *from = pg ? "FROM users u WHERE u.search @@ to_tsquery('simple', $1) AND u.deleted_at IS NULL"
                        : "FROM users_fts f JOIN users u ON u.id = f.rowid WHERE users_fts MATCH $1"
                          " AND u.deleted_at IS NULL";
  char sql[900];
  snprintf(sql, sizeof sql,
           "SELECT u.id, u.handle, u.display_name, u.avatar_key, u.followers_count %s"
           " AND ($2 < 0 OR u.followers_count < $2 OR (u.followers_count = $2 AND u.id > $3))"
           " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = u.id AND b.blocked_id = $4)"
           " OR (b.blocker_id = $4 AND b.blocked_id = u.id))"
           " ORDER BY u.followers_count DESC, u.id LIMIT $5", from);
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "siiii", match, (int64_t)after_f, (int64_t)after_id,
                  req->user_id, (int64_t)limit + 1);
  json_t *items = json_array();
  int n = 0, more = 0;
  int64_t lf = 0, lid = 0;
  while (rc == DB_ROW) {
    if (n == limit) { more = 1; break; }
    lid = db_col_int(st, 0), lf = db_col_int(st, 4);
    json_array_append_new(items, json_pack("{s:o, s:o, s:s, s:o, s:I}", "id", vz_json_id(lid),
        "handle", db_col_is_null(st, 1) ? json_null() : json_string(db_col_text(st, 1)),
        "display_name", db_col_text(st, 2),
        "avatar_url", db_col_is_null(st, 3) ? json_null() : json_sprintf("/v1/media/%s", db_col_text(st, 3)),
        "followers_count", (json_int_t)lf));
    n++;
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  char *next = more ? vz_cursor_encode(req->arena, vz_arena_printf(req->arena, "%lld:%lld", (long long)lf, (long long)lid)) : NULL;
  return vz_reply_list(req, items, next);
}
