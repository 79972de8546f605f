/* list: the page helper and the column table (list.h). Cursors are "pos:id" so that a
 * list ordered by anything plus a unique tiebreaker resumes exactly after its last row,
 * however many rows were inserted meanwhile (keyset pagination, never OFFSET). */
#include "core/list.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"

const char *vz_cols_select(vz_arena *a, const vz_col *cols) {
  size_t n = 1;
  for (const vz_col *c = cols; c->sql; c++) n += strlen(c->sql) + 2;
  char *s = vz_arena_alloc(a, n), *p = s;
  if (!s) return NULL;
  for (const vz_col *c = cols; c->sql; c++) p += snprintf(p, n - (size_t)(p - s), "%s%s", c == cols ? "" : ", ", c->sql);
  *p = 0;
  return s;
}

/* All or nothing: a row missing a key, or carrying null for a value that could not be
 * made, would be a wrong 200, not a smaller one. */
json_t *vz_cols_row_at(vz_stmt *st, const vz_col *cols, int first) {
  json_t *o = json_object();
  int i = first;
  for (const vz_col *c = cols; o && c->sql; c++, i++) {
    json_t *v;
    if ((c->type & VZ_COL_TYPE) == VZ_COL_RAW) continue;
    if ((c->type & VZ_COL_NULL) && db_col_is_null(st, i)) v = json_null();
    else switch (c->type & VZ_COL_TYPE) {
      case VZ_COL_ID: v = vz_json_id(db_col_int(st, i)); break;
      case VZ_COL_INT: v = json_integer(db_col_int(st, i)); break;
      case VZ_COL_TIME: v = vz_json_time(db_col_int(st, i)); break;
      case VZ_COL_BOOL: v = json_boolean(db_col_int(st, i) != 0); break;
      case VZ_COL_MEDIA: v = json_sprintf("/v1/media/%s", db_col_text(st, i)); break;
      default: v = json_string(db_col_text(st, i)); break;
    }
    if (json_object_set_new(o, c->name, v) < 0) { /* it took v either way */
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

int vz_page_begin_or_fail(vz_req *req, vz_page *pg, int64_t start_pos, int64_t start_id) {
  memset(pg, 0, sizeof *pg);
  pg->limit = vz_req_limit(req);
  pg->pos = start_pos;
  pg->id = start_id;
  pg->items = vz_arena_json(req, json_array());
  if (!pg->items) {
    vz_fail(req, 503, "unavailable", NULL, "server busy");
    return -1;
  }
  const char *cursor = vz_req_query(req, "cursor");
  if (!cursor) return 0;
  const char *plain = vz_cursor_decode_or_fail(req, cursor);
  if (!plain) return -1;
  long long pos, id;
  char tail;
  if (sscanf(plain, "%lld:%lld%c", &pos, &id, &tail) != 2 || id <= 0) { /* every id is positive */
    vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
    return -1;
  }
  pg->pos = pos;
  pg->id = id;
  pg->has_cursor = 1;
  return 0;
}

int vz_page_take(vz_page *pg, int64_t pos, int64_t id) {
  if (pg->n == pg->limit) {
    pg->more = 1;
    return 0;
  }
  pg->n++;
  pg->last_pos = pos;
  pg->last_id = id;
  return 1;
}

void vz_page_add(vz_page *pg, json_t *item) {
  if (!item || json_array_append_new(pg->items, item) < 0) pg->failed = 1;
}

int vz_page_reply(vz_req *req, vz_page *pg) {
  char *next = NULL;
  if (pg->failed) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  if (pg->more) {
    const char *plain = vz_arena_printf(req->arena, "%" PRId64 ":%" PRId64, pg->last_pos, pg->last_id);
    next = plain ? vz_cursor_encode(req->arena, plain) : NULL;
  }
  return vz_reply_list(req, json_incref(pg->items), next);
}
