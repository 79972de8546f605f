/* list: the two halves of every list handler, so none re-types cursor plumbing.
 *
 * A column table gives both the SELECT list and row -> JSON:
 *   static const vz_col follow_cols[] = {
 *     { "u.id", "id", VZ_COL_ID }, { "u.handle", "handle", VZ_COL_TEXT | VZ_COL_NULL },
 *     { "u.avatar_key", "avatar_url", VZ_COL_MEDIA | VZ_COL_NULL },
 *     { "f.created_at", "followed_at", VZ_COL_TIME }, { 0 } };
 *
 * A page is keyset pagination over (position, id), both int64, newest first or oldest
 * first as the SQL orders it; the cursor is opaque to clients (base64url "pos:id"):
 *   vz_page pg;
 *   if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return 400;
 *   ... bind pg.pos, pg.id and pg.limit + 1, then for each row:
 *   while (db_step(st) == DB_ROW && vz_page_take(&pg, pos_of_row, id_of_row))
 *     vz_page_add(&pg, vz_cols_row(st, cols));
 *   return vz_page_reply(req, &pg);
 */
#ifndef VZ_LIST_H
#define VZ_LIST_H
#include <jansson.h>
#include <stdint.h>

#include "core/http.h"

typedef struct vz_stmt vz_stmt;

enum {
  VZ_COL_ID = 1,    /* int64 as a decimal string (ids exceed JavaScript's 2^53) */
  VZ_COL_INT,       /* integer */
  VZ_COL_TEXT,      /* string */
  VZ_COL_TIME,      /* ms since the epoch -> RFC 3339 UTC string */
  VZ_COL_BOOL,      /* 0/1 -> false/true */
  VZ_COL_MEDIA,     /* a media key -> "/v1/media/<key>" */
  VZ_COL_RAW,       /* selected, not mapped: the handler reads it (name unused) */
  VZ_COL_TYPE = 0xff,
  VZ_COL_NULL = 0x100, /* the column may be NULL (-> JSON null) */
};
typedef struct vz_col {
  const char *sql;   /* expression in the SELECT list ("u.id") */
  const char *name;  /* key in the JSON object */
  int type;          /* VZ_COL_* | VZ_COL_NULL */
} vz_col;

/* "u.id, u.handle, ..." in the arena (NULL when out of memory). */
const char *vz_cols_select(vz_arena *a, const vz_col *cols);
/* The current row as a JSON object, columns in table order starting at column `first`;
 * NULL when any value could not be made (never an object missing a key). */
json_t *vz_cols_row_at(vz_stmt *st, const vz_col *cols, int first);
#define vz_cols_row(st, cols) vz_cols_row_at((st), (cols), 0)

typedef struct vz_page {
  int limit;          /* from ?limit (1..100, default 20); select limit + 1 rows */
  int64_t pos, id;    /* where this page starts: the last row of the previous one */
  int has_cursor;
  int n, more;
  int failed;         /* an item could not be made: the reply is 503, not a short page */
  int64_t last_pos, last_id;
  json_t *items;      /* owned by the request's arena */
} vz_page;

/* Reads ?limit and ?cursor. Without a cursor pos/id are the given starts (INT64_MAX for
 * newest first, 0 / INT64_MIN for oldest first). 0, or -1 after a 400 naming "cursor". */
int vz_page_begin_or_fail(vz_req *req, vz_page *pg, int64_t start_pos, int64_t start_id);
/* For each row in order: 1 = it belongs on the page (append it), 0 = it is the extra
 * row that proves there is a next page (stop reading). */
int vz_page_take(vz_page *pg, int64_t pos, int64_t id);
/* Appends an item (taking it); a NULL item, or one that cannot be appended, fails the page. */
void vz_page_add(vz_page *pg, json_t *item);
/* {"data": items, "next_cursor": ...} */
int vz_page_reply(vz_req *req, vz_page *pg);
#endif
