/* Invariant: the db interface behaves the same on every driver: values of each type go
 * in and come out unchanged, NULL stays NULL, a unique or foreign-key violation is
 * DB_ECONSTRAINT (and leaves the connection usable), a rolled-back transaction leaves no
 * trace, a conditional UPDATE reports through db_changes how many rows it took, and a
 * '$1' inside a string literal is text, not a placeholder. */
#include <stdint.h>

#include "dbtest.h"

static void make_items(vz_db *db, int *vz_failed) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "CREATE TABLE items (id BIGINT PRIMARY KEY, n BIGINT, s TEXT, b %s, "
           "name TEXT UNIQUE, stock INTEGER NOT NULL DEFAULT 0)", dbt_blob_type(db));
  CHECK_EQ_INT(db_exec(db, sql), 0);
}

static void crud_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  const unsigned char blob[] = { 0, 1, 2, 0xff, 0, 'x' };
  const void *p;
  int len;

  make_items(db, vz_failed);
  if (*vz_failed) return;
  CHECK_EQ_INT(db_prepare(db, "INSERT INTO items (id, n, s, b, name) VALUES ($1, $2, $3, $4, $5)", &st), 0);
  CHECK_EQ_INT(db_bind_int(st, 1, 1), 0);
  CHECK_EQ_INT(db_bind_int(st, 2, INT64_MAX), 0);
  CHECK_EQ_INT(db_bind_text(st, 3, "héllo, 'quoted' \"world\"", -1), 0);
  CHECK_EQ_INT(db_bind_blob(st, 4, blob, (int)sizeof blob), 0);
  CHECK_EQ_INT(db_bind_text(st, 5, "first-and-ignored", 5), 0); /* explicit length */
  CHECK_EQ_INT(db_step(st), DB_DONE);
  CHECK_EQ_INT(db_changes(st), 1);
  db_finalize(st);

  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, n, s, name) VALUES ($1, $2, $3, $4)",
                      "iiss", (int64_t)2, INT64_MIN, "", "second"), DB_DONE);

  CHECK_EQ_INT(db_run(db, &st, "SELECT id, n, s, b, name FROM items WHERE id = $1", "i", (int64_t)1), DB_ROW);
  CHECK_EQ_INT(db_col_count(st), 5);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  CHECK(db_col_int(st, 1) == INT64_MAX);
  CHECK_EQ_STR(db_col_text(st, 2), "héllo, 'quoted' \"world\"");
  p = db_col_blob(st, 3, &len);
  CHECK_EQ_INT(len, sizeof blob);
  CHECK(p && memcmp(p, blob, sizeof blob) == 0);
  CHECK_EQ_STR(db_col_text(st, 4), "first");
  CHECK_EQ_INT(db_step(st), DB_DONE);
  db_finalize(st);

  CHECK_EQ_INT(db_run(db, &st, "SELECT n, s FROM items WHERE id = $1", "i", (int64_t)2), DB_ROW);
  CHECK(db_col_int(st, 0) == INT64_MIN);
  CHECK_EQ_STR(db_col_text(st, 1), "");
  CHECK(!db_col_is_null(st, 1)); /* empty string is not NULL */
  db_finalize(st);

  CHECK_EQ_INT(db_run(db, &st, "UPDATE items SET s = $1 WHERE id >= $2", "si", "u", (int64_t)1), DB_DONE);
  CHECK_EQ_INT(db_changes(st), 2);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "DELETE FROM items WHERE id = $1", "i", (int64_t)2), DB_DONE);
  CHECK_EQ_INT(db_changes(st), 1);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM items", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  db_finalize(st);
}
TEST(db_crud_each_type) { dbt_each(vz_failed, crud_body); }

static void nulls_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  int len = -1;
  make_items(db, vz_failed);
  if (*vz_failed) return;
  CHECK_EQ_INT(db_prepare(db, "INSERT INTO items (id, n, s, b) VALUES ($1, $2, $3, $4)", &st), 0);
  CHECK_EQ_INT(db_bind_int(st, 1, 7), 0);
  CHECK_EQ_INT(db_bind_null(st, 2), 0);
  CHECK_EQ_INT(db_bind_text(st, 3, NULL, -1), 0);
  CHECK_EQ_INT(db_bind_null(st, 4), 0);
  CHECK_EQ_INT(db_step(st), DB_DONE);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, n, s) VALUES ($1, $2, $3)", "ins", (int64_t)8, (const char *)NULL), DB_DONE);

  CHECK_EQ_INT(db_run(db, &st, "SELECT n, s, b, name FROM items WHERE id = $1", "i", (int64_t)7), DB_ROW);
  for (int c = 0; c < 4; c++) CHECK(db_col_is_null(st, c));
  CHECK_EQ_INT(db_col_int(st, 0), 0);
  CHECK(db_col_text(st, 1) == NULL);
  CHECK(db_col_blob(st, 2, &len) == NULL);
  CHECK_EQ_INT(len, 0);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM items WHERE n IS NULL AND s IS NULL", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 2);
  db_finalize(st);
}
TEST(db_nulls) { dbt_each(vz_failed, nulls_body); }

static void unique_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  make_items(db, vz_failed);
  if (*vz_failed) return;
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, name) VALUES ($1, $2)", "is", (int64_t)1, "a"), DB_DONE);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, name) VALUES ($1, $2)", "is", (int64_t)2, "a"), DB_ECONSTRAINT);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, name) VALUES ($1, $2)", "is", (int64_t)1, "b"), DB_ECONSTRAINT);
  CHECK(strlen(db_errmsg(db)) > 0);
  /* foreign keys are enforced (SQLite's default is off) */
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE child (id BIGINT PRIMARY KEY, item_id BIGINT REFERENCES items(id))"), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO child (id, item_id) VALUES ($1, $2)", "ii", (int64_t)1, (int64_t)99), DB_ECONSTRAINT);
  /* still usable, and the cached statement works again */
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, name) VALUES ($1, $2)", "is", (int64_t)2, "b"), DB_DONE);
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM items", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 2);
  db_finalize(st);
}
TEST(db_unique_violation_is_econstraint) { dbt_each(vz_failed, unique_body); }

static void rollback_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  make_items(db, vz_failed);
  if (*vz_failed) return;
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id) VALUES ($1)", "i", (int64_t)1), DB_DONE);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id) VALUES ($1)", "i", (int64_t)2), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  /* a failed statement inside a transaction, then rollback: nothing of it survives */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id) VALUES ($1)", "i", (int64_t)3), DB_DONE);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id) VALUES ($1)", "i", (int64_t)2), DB_ECONSTRAINT);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*), min(id), max(id) FROM items", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  CHECK_EQ_INT(db_col_int(st, 1), 2);
  CHECK_EQ_INT(db_col_int(st, 2), 2);
  db_finalize(st);
}
TEST(db_transaction_rollback) { dbt_each(vz_failed, rollback_body); }

static void cond_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  static const char *take = "UPDATE items SET stock = stock - $1 WHERE id = $2 AND stock >= $1";
  make_items(db, vz_failed);
  if (*vz_failed) return;
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO items (id, stock) VALUES ($1, $2)", "ii", (int64_t)1, (int64_t)3), DB_DONE);
  CHECK_EQ_INT(db_run(db, &st, take, "ii", (int64_t)2, (int64_t)1), DB_DONE);
  CHECK_EQ_INT(db_changes(st), 1);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, take, "ii", (int64_t)2, (int64_t)1), DB_DONE); /* 1 left */
  CHECK_EQ_INT(db_changes(st), 0);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, take, "ii", (int64_t)1, (int64_t)1), DB_DONE);
  CHECK_EQ_INT(db_changes(st), 1);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "SELECT stock FROM items WHERE id = $1", "i", (int64_t)1), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 0);
  /* a SELECT reports no changes even right after an UPDATE on the same connection */
  CHECK_EQ_INT(db_changes(st), 0);
  db_finalize(st);
}
TEST(db_conditional_update_changes) { dbt_each(vz_failed, cond_body); }

static void literal_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *st;
  CHECK_EQ_INT(db_run(db, &st, "SELECT 'costs $1 -- not $2', $1 /* $9 */ -- $3\n", "s", "x"), DB_ROW);
  CHECK_EQ_STR(db_col_text(st, 0), "costs $1 -- not $2");
  CHECK_EQ_STR(db_col_text(st, 1), "x");
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "SELECT 'it''s $1', $1", "s", "y"), DB_ROW);
  CHECK_EQ_STR(db_col_text(st, 0), "it's $1");
  CHECK_EQ_STR(db_col_text(st, 1), "y");
  db_finalize(st);
}
TEST(db_dollar_in_literal_kept) { dbt_each(vz_failed, literal_body); }

static void cache_body(vz_db *db, const char *url, int *vz_failed) {
  vz_stmt *a, *b;
  static const char *sql = "SELECT $1";
  /* the same text prepared twice while the first is open: two independent statements */
  CHECK_EQ_INT(db_prepare(db, sql, &a), 0);
  CHECK_EQ_INT(db_prepare(db, sql, &b), 0);
  CHECK(a != b);
  CHECK_EQ_INT(db_bind_text(a, 1, "a", -1), 0);
  CHECK_EQ_INT(db_bind_text(b, 1, "b", -1), 0);
  CHECK_EQ_INT(db_step(a), DB_ROW);
  CHECK_EQ_INT(db_step(b), DB_ROW);
  CHECK_EQ_STR(db_col_text(a, 0), "a");
  CHECK_EQ_STR(db_col_text(b, 0), "b");
  db_finalize(a);
  db_finalize(b);
  /* back from the cache: bindings were cleared */
  CHECK_EQ_INT(db_prepare(db, sql, &a), 0);
  CHECK_EQ_INT(db_step(a), DB_ROW);
  CHECK(db_col_is_null(a, 0));
  db_finalize(a);
  for (int i = 0; i < 1000; i++) { /* many texts: cache stays bounded, nothing leaks */
    char q[64];
    snprintf(q, sizeof q, "SELECT %d", i);
    CHECK_EQ_INT(db_run(db, &a, q, ""), DB_ROW);
    CHECK_EQ_INT(db_col_int(a, 0), i);
    db_finalize(a);
  }
  CHECK(db_prepare(db, "SELEC nonsense", &a) < 0);
  CHECK(a == NULL);
  CHECK_EQ_INT(db_ping(db), 0);
}
TEST(db_statement_cache) { dbt_each(vz_failed, cache_body); }
