/* Invariant: db_migrate applies each compiled-in migration exactly once per database,
 * skips files meant for the other driver, is a no-op the second time, and stays correct
 * when several processes (here: connections on threads) run it at the same moment. */
#include <pthread.h>

#include "db/migrate.h"
#include "dbtest.h"

static int applicable(vz_db *db) {
  int n = 0;
  for (const vz_migration *m = vz_migrations; m->name; m++) {
    size_t l = strlen(m->name);
    int sq = l > 11 && strcmp(m->name + l - 11, ".sqlite.sql") == 0;
    int pg = l > 7 && strcmp(m->name + l - 7, ".pg.sql") == 0;
    if ((!sq && !pg) || (sq && db_dialect(db) == DB_SQLITE) || (pg && db_dialect(db) == DB_POSTGRES)) n++;
  }
  return n;
}

static int applied(vz_db *db) {
  vz_stmt *st;
  int n = -1;
  if (db_run(db, &st, "SELECT count(*) FROM schema_migrations", "") == DB_ROW) n = (int)db_col_int(st, 0);
  db_finalize(st);
  return n;
}

static void twice_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256] = "";
  int want = applicable(db);
  CHECK(want >= 1);
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  CHECK_EQ_INT(applied(db), want);
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  CHECK_EQ_INT(applied(db), want);
  /* the schema is there and usable */
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO categories (id, slug, name, kind, created_at, updated_at) "
                      "VALUES ($1, $2, $3, $4, $5, $5)", "isssi", db_id_new(), "music", "Music", "stream",
                      db_now_ms()), DB_DONE);
}
TEST(db_migrate_twice_idempotent) { dbt_each(vz_failed, twice_body); }

struct mig_arg { const char *url; int rc; char err[256]; };

static void *mig_thread(void *p) {
  struct mig_arg *a = p;
  vz_db *db;
  a->rc = db_open(a->url, &db, a->err, sizeof a->err);
  if (a->rc < 0) return NULL;
  a->rc = db_migrate(db, a->err, sizeof a->err);
  db_close(db);
  return NULL;
}

static void concurrent_body(vz_db *db, const char *url, int *vz_failed) {
  enum { N = 4 };
  pthread_t th[N];
  struct mig_arg a[N];
  for (int i = 0; i < N; i++) {
    a[i].url = url;
    a[i].err[0] = 0;
    CHECK_EQ_INT(pthread_create(&th[i], NULL, mig_thread, &a[i]), 0);
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++) {
    if (a[i].rc != 0) fprintf(stderr, "  migrate %d: %s\n", i, a[i].err);
    CHECK_EQ_INT(a[i].rc, 0);
  }
  CHECK_EQ_INT(applied(db), applicable(db));
}
TEST(db_migrate_concurrent) { dbt_each(vz_failed, concurrent_body); }

static void fail_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256] = "";
  /* a table the first migration wants already exists: migrate fails, says which file,
   * and leaves nothing half-applied */
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE categories (x INTEGER)"), 0);
  CHECK(db_migrate(db, err, sizeof err) < 0);
  CHECK(strstr(err, "001_core") != NULL);
  CHECK_EQ_INT(applied(db), 0);
}
TEST(db_migrate_failure_rolls_back) { dbt_each(vz_failed, fail_body); }
