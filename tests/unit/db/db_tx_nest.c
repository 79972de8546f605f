/* Invariant: transactions nest. A begin inside an open transaction is a savepoint: its
 * commit hands its rows to the enclosing transaction (they still vanish if that rolls
 * back), its rollback undoes only its own rows, and on PostgreSQL a failed statement
 * inside it no longer poisons the enclosing transaction once rolled back. The depth count
 * always matches the connection: after a failed outermost commit nothing is left open. */
#include <stdint.h>

#include "dbtest.h"

static int64_t count(vz_db *db) {
  vz_stmt *st;
  int64_t n = -1;
  if (db_run(db, &st, "SELECT count(*) FROM t", "") == DB_ROW) n = db_col_int(st, 0);
  db_finalize(st);
  return n;
}

static int put(vz_db *db, int64_t id) {
  return db_run(db, NULL, "INSERT INTO t (id) VALUES ($1)", "i", id);
}

static void nest_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE t (id BIGINT PRIMARY KEY)"), 0);
  CHECK_EQ_INT(db_tx_depth(db), 0);

  /* inner commit, outer commit: both rows stay */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(put(db, 1), DB_DONE);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 2);
  CHECK_EQ_INT(put(db, 2), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 1);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(count(db), 2);

  /* inner commit, outer rollback: the inner rows go too */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(put(db, 3), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(count(db), 2);

  /* inner rollback after a constraint error, outer goes on and commits */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(put(db, 4), DB_DONE);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(put(db, 5), DB_DONE);
  CHECK_EQ_INT(put(db, 1), DB_ECONSTRAINT);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 1);
  CHECK_EQ_INT(put(db, 6), DB_DONE); /* on PostgreSQL only possible after ROLLBACK TO */
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(count(db), 4);        /* 1 2 4 6 */

  /* three levels, the middle one rolled back */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 3);
  CHECK_EQ_INT(put(db, 7), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(put(db, 8), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(count(db), 5);        /* + 8, not 7 */

  /* a failed outermost commit leaves nothing open: the next begin is a real BEGIN */
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE p (id BIGINT PRIMARY KEY)"), 0);
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE c (id BIGINT PRIMARY KEY, p BIGINT REFERENCES p(id)"
                           " DEFERRABLE INITIALLY DEFERRED)"), 0);
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO c (id, p) VALUES (1, 99)", ""), DB_DONE);
  CHECK(db_commit(db) < 0); /* the deferred foreign key fails at COMMIT */
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(db_begin(db), 0); /* SQLite would still be inside the failed one */
  CHECK_EQ_INT(db_tx_depth(db), 1);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO c (id, p) VALUES (1, 99)", ""), DB_DONE);
  CHECK(db_commit(db) < 0);
  CHECK_EQ_INT(db_rollback(db), 0); /* what callers do after a failed commit: harmless */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(put(db, 9), DB_DONE);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(count(db), 6);
}
TEST(db_transactions_nest_as_savepoints) { dbt_each(vz_failed, nest_body); }
