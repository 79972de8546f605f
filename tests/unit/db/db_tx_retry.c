/* Invariant: db_tx is begin + fn + commit, all or nothing, and a transaction the database
 * refused as busy is run again, a bounded number of times, only at the outermost level.
 * fn's value comes back after the commit; an error from fn rolls back and comes back
 * unchanged, once (only DB_EBUSY is retried). Inside an enclosing transaction fn runs once
 * in a savepoint and DB_EBUSY goes up untouched, the enclosing work intact. With two
 * connections to one SQLite file, a writer holding the lock makes the other's db_tx retry:
 * it succeeds as soon as the lock is released between runs, and gives up with DB_EBUSY
 * after DB_TX_TRIES runs when it never is. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "dbtest.h"
#include "lib/clock.h"

static int64_t count(vz_db *db) {
  vz_stmt *st;
  int64_t n = -1;
  if (db_run(db, &st, "SELECT count(*) FROM t", "") == DB_ROW) n = db_col_int(st, 0);
  db_finalize(st);
  return n;
}

typedef struct body { int runs, fail_with, fail_runs; int64_t id; } body;

/* Inserts b->id; the first fail_runs runs then fail with fail_with (after the insert, so
 * the rollback has something to undo). */
static int put_fn(vz_db *db, void *ctx) {
  body *b = ctx;
  b->runs++;
  int rc = db_run(db, NULL, "INSERT INTO t (id) VALUES ($1)", "i", b->id);
  if (rc < 0) return rc;
  if (b->runs <= b->fail_runs) return b->fail_with;
  return 7; /* a value of fn's own, returned after the commit */
}

static void tx_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE t (id BIGINT PRIMARY KEY)"), 0);

  /* success: committed, fn's value returned, nothing left open */
  body b = { .id = 1 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), 7);
  CHECK_EQ_INT(b.runs, 1);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(count(db), 1);

  /* fn refuses (DB_EABORT) or hits a constraint: rolled back, run once */
  b = (body){ .id = 2, .fail_with = DB_EABORT, .fail_runs = 1 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), DB_EABORT);
  CHECK_EQ_INT(b.runs, 1);
  CHECK_EQ_INT(count(db), 1);
  b = (body){ .id = 1 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), DB_ECONSTRAINT);
  CHECK_EQ_INT(b.runs, 1);
  CHECK_EQ_INT(db_tx_depth(db), 0);

  /* busy once: run again, the second run commits; each failed run was rolled back (the
   * same id inserted again would otherwise be a constraint error) */
  long long r0 = db_tx_retries();
  b = (body){ .id = 3, .fail_with = DB_EBUSY, .fail_runs = 1 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), 7);
  CHECK_EQ_INT(b.runs, 2);
  CHECK_EQ_INT(db_tx_retries() - r0, 1);
  CHECK_EQ_INT(count(db), 2);

  /* busy every time: bounded, DB_EBUSY returned, nothing written */
  b = (body){ .id = 4, .fail_with = DB_EBUSY, .fail_runs = 100 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), DB_EBUSY);
  CHECK_EQ_INT(b.runs, DB_TX_TRIES);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(count(db), 2);

  /* nested: one run in a savepoint, DB_EBUSY up to the owner, its own row kept */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO t (id) VALUES (5)", ""), DB_DONE);
  b = (body){ .id = 6, .fail_with = DB_EBUSY, .fail_runs = 100 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), DB_EBUSY);
  CHECK_EQ_INT(b.runs, 1);
  CHECK_EQ_INT(db_tx_depth(db), 1);
  b = (body){ .id = 7 };
  CHECK_EQ_INT(db_tx(db, put_fn, &b), 7); /* a nested success is the enclosing one's to commit */
  CHECK_EQ_INT(db_tx_depth(db), 1);
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_INT(count(db), 4); /* 1 3 5 7 */
  (void)url;
}

TEST(db_tx_commits_rolls_back_and_retries_busy_outermost_only) { dbt_each(vz_failed, tx_body); }

/* fn that leaves its level unbalanced: unwound, reported as an error, depth stays true */
static int leave_open(vz_db *db, void *ctx) {
  (void)ctx;
  return db_begin(db);
}

static void unbalanced_body(vz_db *db, const char *url, int *vz_failed) {
  (void)url;
  CHECK_EQ_INT(db_tx(db, leave_open, NULL), DB_ERROR);
  CHECK_EQ_INT(db_tx_depth(db), 0);
}

TEST(db_tx_unwinds_a_level_fn_left_open) { dbt_each(vz_failed, unbalanced_body); }

/* ---- two connections, one SQLite file ------------------------------------------------ */

typedef struct holder { vz_db *db; long long retries_before; int rc; } holder;

/* Releases the other writer's lock as soon as db_tx has been refused once (the retry
 * counter moves before the backoff sleep), so the next run finds the lock free. */
static void *release_after_first_refusal(void *p) {
  holder *h = p;
  uint64_t until = vz_mono_ms() + 5000;
  while (db_tx_retries() == h->retries_before && vz_mono_ms() < until) {
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, NULL);
  }
  h->rc = db_commit(h->db);
  return NULL;
}

TEST(db_tx_retries_while_another_connection_holds_the_write_lock) {
  dbt_tmp t;
  char err[256];
  vz_db *a = NULL, *b = NULL;
  CHECK(dbt_tmp_make(&t) == 0);
  int ok = db_open(t.url, &a, err, sizeof err) == 0 && db_open(t.url, &b, err, sizeof err) == 0;
  if (ok) ok = db_exec(a, "CREATE TABLE t (id BIGINT PRIMARY KEY)") == 0 &&
               db_exec(a, "PRAGMA busy_timeout = 0") == 0; /* refused at once, not after 5 s */
  int f = 0;
  if (ok) {
    /* the lock held throughout: DB_TX_TRIES runs, each refused at BEGIN, then DB_EBUSY */
    long long r0 = db_tx_retries();
    body x = { .id = 1 };
    f |= db_begin(b) != 0 || db_run(b, NULL, "INSERT INTO t (id) VALUES (100)", "") != DB_DONE;
    uint64_t t0 = vz_mono_ms();
    f |= (db_tx(a, put_fn, &x) != DB_EBUSY) << 1;
    f |= (x.runs != 0) << 2;                              /* never got past BEGIN */
    f |= (db_tx_retries() - r0 != DB_TX_TRIES - 1) << 3;
    f |= (vz_mono_ms() - t0 > DB_TX_BUDGET_MS + 500) << 4; /* bounded in time too */
    f |= (db_tx_depth(a) != 0) << 5;

    /* the lock released after the first refusal: the second run commits */
    holder h = { .db = b, .retries_before = db_tx_retries() };
    pthread_t th;
    f |= (pthread_create(&th, NULL, release_after_first_refusal, &h) != 0) << 6;
    x = (body){ .id = 1 };
    int rc = db_tx(a, put_fn, &x);
    pthread_join(th, NULL);
    f |= (rc != 7) << 7;
    f |= (x.runs != 1) << 8;
    f |= (h.rc != 0) << 9;
    f |= (count(a) != 2) << 10; /* b's row 100 and a's row 1 */
    if (f) fprintf(stderr, "  checks failed: mask 0x%x (rc %d, runs %d, a: %s)\n", f, rc, x.runs, db_errmsg(a));
  } else {
    fprintf(stderr, "  open: %s\n", err);
  }
  db_close(a);
  db_close(b);
  dbt_tmp_remove(&t);
  CHECK(ok);
  CHECK_EQ_INT(f, 0);
}
