/* Helpers shared by the db unit tests: run one test body on every driver we can reach,
 * SQLite always (a fresh file under a fresh directory), PostgreSQL when VZ_TEST_PG_URL
 * names a scratch database (its public schema is dropped before each body). */
#ifndef VZ_TEST_DBTEST_H
#define VZ_TEST_DBTEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "db/db.h"

typedef void (*dbt_body)(vz_db *db, const char *url, int *vz_failed);

typedef struct dbt_tmp { char dir[256], sub[300], path[320], url[340]; } dbt_tmp;

static inline int dbt_tmp_make(dbt_tmp *t) {
  const char *tmp = getenv("TMPDIR");
  snprintf(t->dir, sizeof t->dir, "%s/vz-dbtest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(t->dir)) return -1;
  snprintf(t->sub, sizeof t->sub, "%s/data", t->dir); /* not created: db_open must */
  snprintf(t->path, sizeof t->path, "%s/vidzo.db", t->sub);
  snprintf(t->url, sizeof t->url, "sqlite:%s", t->path);
  return 0;
}

static inline void dbt_tmp_remove(dbt_tmp *t) {
  char f[400];
  static const char *sfx[] = { "", "-wal", "-shm", "-journal" };
  for (int i = 0; i < 4; i++) {
    snprintf(f, sizeof f, "%s%s", t->path, sfx[i]);
    unlink(f);
  }
  rmdir(t->sub);
  rmdir(t->dir);
}

static inline int dbt_pg_reset(const char *url) {
  vz_db *db;
  char err[256];
  int rc = db_open(url, &db, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "  postgres: %s\n", err);
    return rc;
  }
  rc = db_exec(db, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
  if (rc < 0) fprintf(stderr, "  postgres reset: %s\n", db_errmsg(db));
  db_close(db);
  return rc;
}

/* Runs body once per driver; stops at the first failing driver and names it. */
static inline void dbt_each(int *vz_failed, dbt_body body) {
  const char *pg = getenv("VZ_TEST_PG_URL");
  const char *urls[2] = { NULL, pg && *pg ? pg : NULL };
  dbt_tmp t;
  char err[256];

  if (dbt_tmp_make(&t) < 0) {
    fprintf(stderr, "  mkdtemp failed\n");
    *vz_failed = 1;
    return;
  }
  urls[0] = t.url;
  for (int i = 0; i < 2 && !*vz_failed; i++) {
    vz_db *db;
    if (!urls[i]) continue;
    if (i == 1 && dbt_pg_reset(urls[i]) < 0) {
      *vz_failed = 1;
      break;
    }
    if (db_open(urls[i], &db, err, sizeof err) < 0) {
      fprintf(stderr, "  open %s: %s\n", urls[i], err);
      *vz_failed = 1;
      break;
    }
    body(db, urls[i], vz_failed);
    if (*vz_failed) fprintf(stderr, "  (driver %s, last error: %s)\n", i ? "postgres" : "sqlite",
                            db_errmsg(db));
    db_close(db);
  }
  dbt_tmp_remove(&t);
}

/* Blob column type differs: the one DDL word the common subset lacks. */
static inline const char *dbt_blob_type(vz_db *db) {
  return db_dialect(db) == DB_POSTGRES ? "BYTEA" : "BLOB";
}
#endif
