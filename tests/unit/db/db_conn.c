/* Invariant: contention and lost connections come back as the codes callers act on.
 * A writer blocked by another writer gets DB_EBUSY (retry), not DB_ERROR; a PostgreSQL
 * session killed under us gives DB_EUNAVAILABLE once, and the next db_ping/db_prepare
 * reconnects so cached statements work again (the server recovers after a restart). */
#include "dbtest.h"

static void busy_body(vz_db *a, const char *url, int *vz_failed) {
  vz_db *b;
  char err[256];
  int rc;
  CHECK_EQ_INT(db_exec(a, "CREATE TABLE stock (id BIGINT PRIMARY KEY, n INTEGER NOT NULL)"), 0);
  CHECK_EQ_INT(db_run(a, NULL, "INSERT INTO stock (id, n) VALUES ($1, $2)", "ii", (int64_t)1, (int64_t)5), DB_DONE);
  CHECK_EQ_INT(db_open(url, &b, err, sizeof err), 0);
  /* short waits so the test does not sit out the 5 s default */
  if (db_dialect(b) == DB_POSTGRES) rc = db_exec(b, "SET lock_timeout = '100ms'");
  else rc = db_exec(b, "PRAGMA busy_timeout = 100");
  if (rc < 0) db_close(b);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(db_begin(a), 0);
  CHECK_EQ_INT(db_run(a, NULL, "UPDATE stock SET n = n - 1 WHERE id = $1", "i", (int64_t)1), DB_DONE);
  rc = db_begin(b);
  if (rc == 0) rc = db_run(b, NULL, "UPDATE stock SET n = n - 1 WHERE id = $1", "i", (int64_t)1);
  db_rollback(b);
  CHECK_EQ_INT(db_commit(a), 0);
  /* after the holder commits, b goes through */
  int rc2 = db_begin(b);
  if (rc2 == 0) rc2 = db_run(b, NULL, "UPDATE stock SET n = n - 1 WHERE id = $1", "i", (int64_t)1);
  if (rc2 >= 0) rc2 = db_commit(b);
  db_close(b);
  CHECK_EQ_INT(rc, DB_EBUSY);
  CHECK_EQ_INT(rc2, 0);
}
TEST(db_lock_conflict_is_ebusy) { dbt_each(vz_failed, busy_body); }

static void reconnect_body(vz_db *db, const char *url, int *vz_failed) {
  vz_db *admin;
  vz_stmt *st;
  char err[256];
  int64_t pid;
  static const char *q = "SELECT pg_backend_pid()";
  if (db_dialect(db) != DB_POSTGRES) return;
  CHECK_EQ_INT(db_run(db, &st, q, ""), DB_ROW);
  pid = db_col_int(st, 0);
  db_finalize(st);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_open(url, &admin, err, sizeof err), 0);
  int rc = db_run(admin, NULL, "SELECT pg_terminate_backend($1::int)", "i", pid);
  db_close(admin);
  CHECK_EQ_INT(rc, DB_ROW);
  /* the cached statement fails: the session is gone */
  CHECK_EQ_INT(db_run(db, NULL, q, ""), DB_EUNAVAILABLE);
  /* inside a transaction we never reconnect behind the caller's back ... */
  CHECK_EQ_INT(db_run(db, NULL, q, ""), DB_EUNAVAILABLE);
  /* ... the caller rolls back (which cannot fail: the server dropped it already) */
  CHECK_EQ_INT(db_rollback(db), 0);
  /* the next prepare reconnects, and re-prepares the cached text on the new session */
  CHECK_EQ_INT(db_run(db, &st, q, ""), DB_ROW);
  CHECK(db_col_int(st, 0) != pid);
  db_finalize(st);
  CHECK_EQ_INT(db_ping(db), 0);
  /* killed again, db_ping alone brings it back */
  CHECK_EQ_INT(db_run(db, &st, q, ""), DB_ROW);
  pid = db_col_int(st, 0);
  db_finalize(st);
  CHECK_EQ_INT(db_open(url, &admin, err, sizeof err), 0);
  rc = db_run(admin, NULL, "SELECT pg_terminate_backend($1::int)", "i", pid);
  db_close(admin);
  CHECK_EQ_INT(rc, DB_ROW);
  CHECK_EQ_INT(db_ping(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, q, ""), DB_ROW);
}
TEST(db_pg_reconnect_after_kill) { dbt_each(vz_failed, reconnect_body); }

TEST(db_pg_unreachable_is_eunavailable) {
  vz_db *db;
  char err[256] = "";
  /* nothing listens on port 1 */
  CHECK_EQ_INT(db_open("postgres://postgres@127.0.0.1:1/none", &db, err, sizeof err), DB_EUNAVAILABLE);
  CHECK(db == NULL);
  CHECK(strstr(err, "postgres") != NULL);
}
