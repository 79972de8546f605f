/* list: a column table gives the SELECT list and the row as JSON, every column typed; a
 * row is all or nothing: whichever allocation fails while it is built, the result is
 * NULL or an object with every key and the right values (never a key missing, never a
 * null standing in for a value that could not be made), and a page holding such a NULL
 * answers 503, not a shorter 200. */
#include <stdlib.h>

#include "../test.h"
#include "core/conn.h"
#include "core/http.h"
#include "core/list.h"
#include "db/db.h"

static const vz_col cols[] = {
  { "id", "id", VZ_COL_ID },
  { "handle", "handle", VZ_COL_TEXT | VZ_COL_NULL },
  { "n", "n", VZ_COL_INT },
  { "at", "at", VZ_COL_TIME },
  { "ok", "ok", VZ_COL_BOOL },
  { "key", "avatar_url", VZ_COL_MEDIA | VZ_COL_NULL },
  { "raw", "raw", VZ_COL_RAW },
  { 0 } };

static vz_req *mk(void) {
  vz_arena *a = vz_arena_new(0);
  vz_req *r = vz_arena_calloc(a, sizeof *r);
  r->arena = a;
  r->query = "";
  return r;
}

static vz_stmt *row(vz_db *db) {
  vz_stmt *st = NULL;
  db_run(db, &st, "SELECT 12345678901234 AS id, NULL AS handle, 7 AS n, 1764072000123 AS at, 1 AS ok,"
         " 'a/b.png' AS key, 'x' AS raw", "");
  return st;
}

static const char want[] = "{\"id\":\"12345678901234\",\"handle\":null,\"n\":7,\"at\":\"2025-11-25T12:00:00.123Z\","
                           "\"ok\":true,\"avatar_url\":\"/v1/media/a/b.png\"}";

TEST(list_cols_select_and_row) {
  vz_req *r = mk();
  CHECK_EQ_STR(vz_cols_select(r->arena, cols), "id, handle, n, at, ok, key, raw");
  vz_db *db = NULL;
  char err[128];
  CHECK(db_open("sqlite::memory:", &db, err, sizeof err) == 0);
  vz_stmt *st = row(db);
  json_t *o = st ? vz_cols_row(st, cols) : NULL;
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  int same = s && strcmp(s, want) == 0;
  if (!same) fprintf(stderr, "  got %s\n", s ? s : "(null)");
  free(s);
  json_decref(o);
  db_finalize(st);
  db_close(db);
  vz_req_free(r);
  CHECK(same);
}

/* A cursor is "pos:id" as this server wrote it: read back exactly; an id that is not
 * positive, trailing bytes or a missing part is a 400 naming "cursor". */
TEST(list_page_cursor) {
  static const struct { const char *plain; int ok; long long pos, id; } c[] = {
    { "12:34", 1, 12, 34 }, { "-5:9223372036854775807", 1, -5, 9223372036854775807LL },
    { "12:0", 0, 0, 0 }, { "12:-3", 0, 0, 0 }, { "12:34x", 0, 0, 0 }, { "12", 0, 0, 0 }, { ":5", 0, 0, 0 } };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    vz_req *r = mk();
    vz_page pg;
    r->query = vz_arena_printf(r->arena, "limit=3&cursor=%s", vz_cursor_encode(r->arena, c[i].plain));
    int rc = vz_page_begin_or_fail(r, &pg, 0, 0);
    if (c[i].ok) {
      CHECK_EQ_INT(rc, 0);
      CHECK_EQ_INT(pg.pos, c[i].pos);
      CHECK_EQ_INT(pg.id, c[i].id);
      CHECK_EQ_INT(pg.limit, 3);
      CHECK(pg.has_cursor);
    } else {
      CHECK_EQ_INT(rc, -1);
      CHECK_EQ_INT(r->status, 400);
      CHECK(strstr(r->res_body, "\"field\":\"cursor\""));
    }
    vz_req_free(r);
  }
}

#ifdef VZ_DEBUG
#include "core/fault.h"
#include "core/json.h"
TEST(list_row_all_or_nothing_under_every_allocation_failure) {
  vz_json_init();
  vz_db *db = NULL;
  char err[128];
  CHECK(db_open("sqlite::memory:", &db, err, sizeof err) == 0);
  vz_stmt *st = row(db);
  CHECK(st);
  int bad = 0, nulls = 0;
  for (long n = 1; n < 40 && !bad; n++) {
    vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = n, .scope = VZ_FAULT_THREAD });
    json_t *o = vz_cols_row(st, cols);
    vz_fault_disarm();
    if (!o) { nulls++; continue; }
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s || strcmp(s, want) != 0) { fprintf(stderr, "  alloc %ld: %s\n", n, s ? s : "(null)"); bad = 1; }
    free(s);
    json_decref(o);
  }
  db_finalize(st);
  db_close(db);
  CHECK(!bad);
  CHECK(nulls > 0); /* the walk did reach the row's allocations */

  vz_req *r = mk();
  vz_page pg;
  CHECK_EQ_INT(vz_page_begin_or_fail(r, &pg, INT64_MAX, INT64_MAX), 0);
  vz_page_add(&pg, json_object());
  vz_page_add(&pg, NULL);
  CHECK_EQ_INT(vz_page_reply(r, &pg), 503);
  vz_req_free(r);
}
#endif
