/* Invariant: db_id_new never returns the same id twice, even from 4 threads at once;
 * each thread sees its ids strictly increasing; ids are positive and carry the current
 * time in their top bits. Also: every accepted URL form opens the SQLite driver. */
#include <pthread.h>

#include "dbtest.h"

enum { IDS_PER_THREAD = 50000, THREADS = 4 };

static void *id_thread(void *p) {
  int64_t *out = p;
  for (int i = 0; i < IDS_PER_THREAD; i++) out[i] = db_id_new();
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

TEST(db_id_unique_across_threads) {
  int64_t *ids = malloc(sizeof(int64_t) * IDS_PER_THREAD * THREADS);
  pthread_t th[THREADS];
  int64_t before = db_now_ms();
  CHECK(ids != NULL);
  for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, id_thread, ids + t * IDS_PER_THREAD);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  int ok = 1;
  for (int t = 0; t < THREADS && ok; t++)
    for (int i = 1; i < IDS_PER_THREAD; i++)
      if (ids[t * IDS_PER_THREAD + i] <= ids[t * IDS_PER_THREAD + i - 1]) { ok = 0; break; }
  int64_t ms = (ids[0] >> 20) + 1704067200000LL;
  qsort(ids, IDS_PER_THREAD * THREADS, sizeof(int64_t), cmp_i64);
  int dup = 0;
  for (int i = 1; i < IDS_PER_THREAD * THREADS; i++) dup |= ids[i] == ids[i - 1];
  int64_t lowest = ids[0];
  free(ids);
  CHECK(ok);
  CHECK(!dup);
  CHECK(lowest > 0);
  CHECK(ms >= before - 5 && ms <= db_now_ms() + 1000);
}

TEST(db_open_url_forms) {
  dbt_tmp t;
  vz_db *db;
  char err[256], url[400];
  vz_stmt *st;
  CHECK_EQ_INT(dbt_tmp_make(&t), 0);
  CHECK_EQ_INT(db_open(t.url, &db, err, sizeof err), 0); /* sqlite:PATH, creates data/ */
  CHECK_EQ_INT(db_dialect(db), DB_SQLITE);
  CHECK_EQ_INT(db_run(db, &st, "PRAGMA journal_mode", ""), DB_ROW);
  CHECK_EQ_STR(db_col_text(st, 0), "wal");
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "PRAGMA foreign_keys", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "PRAGMA synchronous", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1); /* NORMAL */
  db_finalize(st);
  CHECK_EQ_INT(db_run(db, &st, "PRAGMA busy_timeout", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 5000);
  db_finalize(st);
  CHECK_EQ_INT(db_exec(db, "CREATE VIRTUAL TABLE docs USING fts5(body)"), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO docs (body) VALUES ($1)", "s", "live stream tonight"), DB_DONE);
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM docs WHERE docs MATCH $1", "s", "stream"), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  db_finalize(st);
  db_close(db);
  CHECK_EQ_INT(db_open(t.path, &db, err, sizeof err), 0); /* bare path: same file */
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM docs", ""), DB_ROW);
  CHECK_EQ_INT(db_col_int(st, 0), 1);
  db_finalize(st);
  db_close(db);
  snprintf(url, sizeof url, "sqlite://%s", t.path); /* sqlite:///abs/path */
  CHECK_EQ_INT(db_open(url, &db, err, sizeof err), 0);
  db_close(db);
  dbt_tmp_remove(&t);
  CHECK_EQ_INT(db_open(":memory:", &db, err, sizeof err), 0);
  CHECK_EQ_INT(db_dialect(db), DB_SQLITE);
  db_close(db);
  CHECK(db_open("", &db, err, sizeof err) < 0);
  CHECK(db == NULL);
}
