/* search.c: GET /v1/users?q= over handles and display names. The index differs by
 * database (migration 111): FTS5 on SQLite, a generated tsvector with GIN on PostgreSQL,
 * so this is the one place in users that branches on db_dialect. The query is reduced to
 * words of letters and digits before it reaches either engine, so no FTS5 or tsquery
 * syntax from the client is ever interpreted. Each word matches as a prefix; all must
 * match. Results: most followed first, then by id (cursor "followers:id", core/list.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/http.h"
#include "core/list.h"
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

static const vz_col hit_cols[] = {
  { "u.id", "id", VZ_COL_ID },
  { "u.handle", "handle", VZ_COL_TEXT | VZ_COL_NULL },
  { "u.display_name", "display_name", VZ_COL_TEXT },
  { "u.avatar_key", "avatar_url", VZ_COL_MEDIA | VZ_COL_NULL },
  { "u.followers_count", "followers_count", VZ_COL_INT },
  { "u.avatar_media_id", "", VZ_COL_RAW | VZ_COL_NULL }, /* column 5: users_avatars_fill */
  { 0 },
};

int users_h_search(vz_req *req) {
  const char *q = vz_req_query(req, "q");
  char *w[MAX_WORDS];
  int nw = q ? words_of(req, q, w) : 0;
  vz_page pg;
  if (!nw) return vz_fail(req, 400, "invalid_argument", "q", "q must contain a letter or digit");
  /* most followed first, then by id: keyset (followers, id) with the id ascending */
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, 0)) return req->status;
  if (pg.has_cursor && pg.pos < 0) /* a follower count is never negative */
    return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
  int pg_sql = db_dialect(req->db_read) == DB_POSTGRES;
  /* FTS5: "word"* "word2"* (implicit AND); tsquery: word:* & word2:* */
  char match[512];
  size_t m = 0;
  for (int i = 0; i < nw && m < sizeof match - 80; i++) {
    int k = pg_sql ? snprintf(match + m, sizeof match - m, "%s%.60s:*", i ? " & " : "", w[i])
                   : snprintf(match + m, sizeof match - m, "%s\"%.60s\"*", i ? " " : "", w[i]);
    if (k < 0 || (size_t)k >= sizeof match - m) break;
    m += (size_t)k;
  }
  const char *from = pg_sql ? "FROM users u WHERE u.search @@ to_tsquery('simple', $1) AND u.deleted_at IS NULL"
                            : "FROM users_fts f JOIN users u ON u.id = f.rowid WHERE users_fts MATCH $1"
                              " AND u.deleted_at IS NULL";
  const char *sql = vz_arena_printf(req->arena,
      "SELECT %s %s AND (u.followers_count < $2 OR (u.followers_count = $2 AND u.id > $3))"
      " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = u.id AND b.blocked_id = $4)"
      " OR (b.blocker_id = $4 AND b.blocked_id = u.id))"
      " ORDER BY u.followers_count DESC, u.id LIMIT $5", vz_cols_select(req->arena, hit_cols), from);
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st, sql, "siiii", match, pg.pos, pg.id, req->user_id, (int64_t)pg.limit + 1);
  int64_t mids[USERS_PAGE_MAX];
  int nm = 0;
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, 4), db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, hit_cols));
    mids[nm++] = db_col_is_null(st, 5) ? 0 : db_col_int(st, 5);
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc >= 0) rc = users_avatars_fill(req->db_read, &pg, mids, nm);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}
