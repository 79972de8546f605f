/* reply: one mapping from database errors to the envelope, for every service. Busy and
 * unavailable are 503 with Retry-After, a constraint is 409, anything else 500 without
 * Retry-After (retrying will not help). Every 503 carries Retry-After exactly once, also one
 * sent with vz_fail directly, and a caller's own value is kept. vz_tx_or_fail commits fn's
 * work and returns its value; on failure it has replied: with fn's own answer when fn
 * refused (DB_EABORT), else through vz_fail_db, and nothing fn wrote is left. */
#include <stdlib.h>
#include <strings.h>

#include "../test.h"
#include "core/conn.h"
#include "core/http.h"
#include "db/db.h"

static vz_req *mk(void) {
  vz_arena *a = vz_arena_new(0);
  vz_req *r = vz_arena_calloc(a, sizeof *r);
  r->arena = a;
  r->query = "";
  snprintf(r->request_id, sizeof r->request_id, "rid-1");
  return r;
}

static int header_count(const vz_req *r, const char *name, const char **value) {
  int n = 0;
  for (int i = 0; i < r->nres_headers; i++)
    if (!strcasecmp(r->res_headers[i].name, name)) { n++; if (value) *value = r->res_headers[i].value; }
  return n;
}

static const char *code_of(const vz_req *r) {
  static char code[64];
  json_t *j = json_loadb(r->res_body, r->res_len, 0, NULL);
  snprintf(code, sizeof code, "%s", json_string_value(json_object_get(json_object_get(j, "error"), "code")) ?: "");
  json_decref(j);
  return code;
}

TEST(reply_fail_db_maps_every_code) {
  static const struct { int rc, status, retry; const char *code; } want[] = {
    { DB_EBUSY, 503, 1, "unavailable" },     { DB_EUNAVAILABLE, 503, 1, "unavailable" },
    { DB_ECONSTRAINT, 409, 0, "conflict" },  { DB_ERROR, 500, 0, "internal" },
    { DB_EABORT, 500, 0, "internal" },       { -99, 500, 0, "internal" } };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    vz_req *r = mk();
    const char *ra = NULL;
    CHECK_EQ_INT(vz_fail_db(r, want[i].rc), want[i].status);
    CHECK_EQ_INT(r->status, want[i].status);
    CHECK_EQ_STR(code_of(r), want[i].code);
    CHECK_EQ_INT(header_count(r, "Retry-After", &ra), want[i].retry);
    if (want[i].retry) CHECK_EQ_STR(ra, "1");
    vz_req_free(r);
  }
}

TEST(reply_every_503_says_when_to_retry) {
  vz_req *r = mk();
  const char *ra = NULL;
  vz_fail(r, 503, "unavailable", NULL, "media storage unavailable");
  CHECK_EQ_INT(header_count(r, "Retry-After", &ra), 1);
  CHECK_EQ_STR(ra, "1");
  vz_fail(r, 503, "unavailable", NULL, "again"); /* a second failure adds no second header */
  CHECK_EQ_INT(header_count(r, "Retry-After", NULL), 1);
  vz_req_free(r);

  r = mk(); /* the caller's value wins */
  vz_add_header(r, "Retry-After", "5");
  vz_fail_db(r, DB_EUNAVAILABLE);
  CHECK_EQ_INT(header_count(r, "Retry-After", &ra), 1);
  CHECK_EQ_STR(ra, "5");
  vz_req_free(r);

  r = mk(); /* other statuses are left alone */
  vz_fail(r, 500, "internal", NULL, "x");
  CHECK_EQ_INT(header_count(r, "Retry-After", NULL), 0);
  vz_req_free(r);
}

typedef struct ctx { vz_req *req; int mode; } ctx;

static int write_then(vz_db *db, void *p) {
  ctx *c = p;
  int rc = db_run(db, NULL, "INSERT INTO t (id) VALUES (1)", "");
  if (rc < 0) return rc;
  if (c->mode == 1) { vz_fail(c->req, 404, "not_found", "id", "no such thing"); return DB_EABORT; }
  if (c->mode == 2) return DB_ERROR;
  if (c->mode == 3) return DB_EABORT; /* refused without replying: a bug, still an answer */
  return 42;
}

static int64_t rows(vz_db *db) {
  vz_stmt *st;
  int64_t n = -1;
  if (db_run(db, &st, "SELECT count(*) FROM t", "") == DB_ROW) n = db_col_int(st, 0);
  db_finalize(st);
  return n;
}

TEST(reply_tx_or_fail_commits_or_answers) {
  vz_db *db = NULL;
  char err[128];
  CHECK(db_open("sqlite::memory:", &db, err, sizeof err) == 0);
  CHECK(db_exec(db, "CREATE TABLE t (id BIGINT)") == 0);
  static const struct { int mode, ret, status; const char *code; int64_t rows; } want[] = {
    { 1, -1, 404, "not_found", 0 }, { 2, -1, 500, "internal", 0 }, { 3, -1, 500, "internal", 0 },
    { 0, 42, 0, NULL, 1 } };
  int f = 0;
  for (size_t i = 0; i < sizeof want / sizeof want[0] && !f; i++) {
    vz_req *r = mk();
    r->db = db;
    ctx c = { r, want[i].mode };
    f |= vz_tx_or_fail(r, write_then, &c) != want[i].ret;
    f |= (r->status != want[i].status) << 1;
    if (want[i].code) f |= (strcmp(code_of(r), want[i].code) != 0) << 2;
    f |= (rows(db) != want[i].rows) << 3;
    f |= (db_tx_depth(db) != 0) << 4;
    if (f) fprintf(stderr, "  mode %d: mask 0x%x status %d\n", want[i].mode, f, r->status);
    vz_req_free(r);
  }
  db_close(db);
  CHECK_EQ_INT(f, 0);
}
