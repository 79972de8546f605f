/* sqlite.c: the embedded driver, the default so that vidzo runs alone on a laptop.
 * Settings chosen for a server with many short transactions: WAL (readers never block
 * the writer), synchronous=NORMAL (durable at checkpoints, safe with WAL), busy_timeout
 * 5000 (writers queue instead of failing at once), foreign_keys ON (SQLite's default is
 * off). Statements are cached per connection by SQL text: services prepare the same few
 * hundred strings over and over, and sqlite3_prepare is the most expensive call here.
 * SQL arrives with PostgreSQL's $1 placeholders; we rewrite them to ?1 (same length, so
 * the positions in error messages still match the source text). */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/db.h"

#define CACHE_BUCKETS 128
#define CACHE_MAX_IDLE 256 /* cap: idle prepared statements kept per connection */

struct vz_stmt {
  struct vz_stmt_base base;
  struct vz_db *db;
  sqlite3_stmt *h;
  char *sql;            /* original text: the cache key */
  unsigned hash;
  int changes;
  struct vz_stmt *next; /* bucket chain while idle in the cache */
};

struct vz_db {
  struct vz_db_base base;
  sqlite3 *h;
  struct vz_stmt *cache[CACHE_BUCKETS];
  int idle, live;
  char err[256];
};

static int set_err(struct vz_db *db, int rc) {
  snprintf(db->err, sizeof db->err, "sqlite: %s", sqlite3_errmsg(db->h));
  switch (rc & 0xff) {
  case SQLITE_CONSTRAINT: return DB_ECONSTRAINT;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return DB_EBUSY;
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_FULL: return DB_EUNAVAILABLE;
  default: return DB_ERROR;
  }
}

/* mkdir -p of the directory holding path; a missing ./data must not stop first start. */
static int make_parent_dir(const char *path) {
  char buf[PATH_MAX];
  char *slash;
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
  slash = strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = 0;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
  return 0;
}

static const char *url_to_path(const char *url) {
  if (strncmp(url, "sqlite:", 7) == 0) {
    url += 7;
    if (url[0] == '/' && url[1] == '/') url += 2; /* sqlite:///abs/path, sqlite://./rel */
  }
  return url;
}

static void sq_close(vz_db *db);

static int sq_open(const char *url, vz_db **out, char *err, size_t errlen) {
  const char *path = url_to_path(url);
  struct vz_db *db;
  int rc;
  static const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                               "PRAGMA foreign_keys=ON;";

  *out = NULL;
  if (!sqlite3_compileoption_used("ENABLE_FTS5")) {
    snprintf(err, errlen, "sqlite: this libsqlite3 lacks FTS5 (needed for search)");
    return DB_ERROR;
  }
  if (strcmp(path, ":memory:") != 0 && make_parent_dir(path) < 0) {
    snprintf(err, errlen, "sqlite: cannot create directory for %s: %s", path, strerror(errno));
    return DB_EUNAVAILABLE;
  }
  db = calloc(1, sizeof *db);
  if (!db) {
    snprintf(err, errlen, "sqlite: out of memory");
    return DB_ERROR;
  }
  db->base.drv = &db_sqlite_driver;
  db->base.dialect = DB_SQLITE;
  /* NOMUTEX: a vz_db is used by one thread at a time (db.h), so SQLite's own per-call
   * mutex would be pure overhead. */
  rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                         SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "sqlite: open %s: %s", path,
             db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
    sq_close((vz_db *)db);
    return DB_EUNAVAILABLE;
  }
  sqlite3_extended_result_codes(db->h, 1);
  sqlite3_busy_timeout(db->h, 5000);
  rc = sqlite3_exec(db->h, pragmas, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "sqlite: %s: %s", path, sqlite3_errmsg(db->h));
    sq_close((vz_db *)db);
    return DB_ERROR;
  }
  *out = (vz_db *)db;
  return 0;
}

static void stmt_free(struct vz_stmt *st) {
  sqlite3_finalize(st->h);
  free(st->sql);
  free(st);
}

static void sq_close(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  for (int i = 0; i < CACHE_BUCKETS; i++) {
    while (db->cache[i]) {
      struct vz_stmt *st = db->cache[i];
      db->cache[i] = st->next;
      stmt_free(st);
    }
  }
  /* A statement never finalized is a caller bug; close_v2 keeps the handle alive until it
   * is, instead of failing with SQLITE_BUSY and leaking the file descriptor. */
  sqlite3_close_v2(db->h);
  free(db);
}

static const char *sq_errmsg(const vz_db *db) { return ((const struct vz_db *)db)->err; }

static int sq_ping(vz_db *db) { return ((struct vz_db *)db)->h ? 0 : DB_EUNAVAILABLE; }

static int sq_exec(vz_db *vdb, const char *sql) {
  struct vz_db *db = (struct vz_db *)vdb;
  int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : set_err(db, rc);
}

/* $N -> ?N outside string literals, quoted identifiers and comments. Same length. */
static void rewrite_placeholders(char *s) {
  for (; *s; s++) {
    char q;
    switch (*s) {
    case '\'':
    case '"':
    case '`':
      q = *s++;
      while (*s && *s != q) s++; /* '' inside a literal is two adjacent literals: fine */
      if (!*s) return;
      break;
    case '-':
      if (s[1] != '-') break;
      while (*s && *s != '\n') s++;
      if (!*s) return;
      break;
    case '/':
      if (s[1] != '*') break;
      for (s += 2; *s && !(s[0] == '*' && s[1] == '/'); s++) {}
      if (!*s) return;
      s++;
      break;
    case '$':
      if (s[1] >= '0' && s[1] <= '9') *s = '?';
      break;
    }
  }
}

static unsigned hash_sql(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int sq_prepare(vz_db *vdb, const char *sql, vz_stmt **out) {
  struct vz_db *db = (struct vz_db *)vdb;
  unsigned h = hash_sql(sql);
  struct vz_stmt **pp = &db->cache[h % CACHE_BUCKETS], *st;
  char *text;
  int rc;

  for (; *pp; pp = &(*pp)->next) {
    if ((*pp)->hash == h && strcmp((*pp)->sql, sql) == 0) {
      st = *pp;
      *pp = st->next;
      st->next = NULL;
      st->changes = 0;
      db->idle--;
      db->live++;
      *out = st;
      return 0;
    }
  }
  st = calloc(1, sizeof *st);
  if (!st || !(st->sql = strdup(sql)) || !(text = strdup(sql))) {
    if (st) free(st->sql);
    free(st);
    snprintf(db->err, sizeof db->err, "sqlite: out of memory");
    return DB_ERROR;
  }
  if (strchr(text, '$')) rewrite_placeholders(text);
  rc = sqlite3_prepare_v2(db->h, text, -1, &st->h, NULL);
  free(text);
  if (rc != SQLITE_OK) {
    rc = set_err(db, rc);
    stmt_free(st);
    return rc;
  }
  if (!st->h) { /* empty statement (only whitespace/comments) */
    snprintf(db->err, sizeof db->err, "sqlite: empty statement");
    stmt_free(st);
    return DB_ERROR;
  }
  st->base.drv = &db_sqlite_driver;
  st->db = db;
  st->hash = h;
  db->live++;
  *out = st;
  return 0;
}

static int bind_rc(struct vz_stmt *st, int rc) { return rc == SQLITE_OK ? 0 : set_err(st->db, rc); }

static int sq_bind_int(vz_stmt *st, int idx, int64_t v) {
  return bind_rc(st, sqlite3_bind_int64(st->h, idx, v));
}
static int sq_bind_text(vz_stmt *st, int idx, const char *s, int len) {
  if (!s) return bind_rc(st, sqlite3_bind_null(st->h, idx));
  return bind_rc(st, sqlite3_bind_text(st->h, idx, s, len, SQLITE_TRANSIENT));
}
static int sq_bind_blob(vz_stmt *st, int idx, const void *p, int len) {
  if (!p && len > 0) return bind_rc(st, SQLITE_MISUSE);
  return bind_rc(st, sqlite3_bind_blob(st->h, idx, p ? p : "", len, SQLITE_TRANSIENT));
}
static int sq_bind_null(vz_stmt *st, int idx) { return bind_rc(st, sqlite3_bind_null(st->h, idx)); }

static int sq_step(vz_stmt *st) {
  int rc = sqlite3_step(st->h);
  if (rc == SQLITE_ROW) return DB_ROW;
  if (rc == SQLITE_DONE) {
    st->changes = sqlite3_stmt_readonly(st->h) ? 0 : sqlite3_changes(st->db->h);
    return DB_DONE;
  }
  rc = set_err(st->db, rc);
  sqlite3_reset(st->h); /* so the next step starts over rather than repeating the error */
  return rc;
}

static int sq_col_count(vz_stmt *st) { return sqlite3_column_count(st->h); }
static int sq_col_is_null(vz_stmt *st, int col) {
  return sqlite3_column_type(st->h, col) == SQLITE_NULL;
}
static int64_t sq_col_int(vz_stmt *st, int col) { return sqlite3_column_int64(st->h, col); }
static const char *sq_col_text(vz_stmt *st, int col) {
  return (const char *)sqlite3_column_text(st->h, col);
}
static const void *sq_col_blob(vz_stmt *st, int col, int *len) {
  const void *p = sqlite3_column_blob(st->h, col);
  if (len) *len = sqlite3_column_bytes(st->h, col);
  return p;
}
static int sq_changes(vz_stmt *st) { return st->changes; }

static void sq_finalize(vz_stmt *st) {
  struct vz_db *db = st->db;
  db->live--;
  if (db->idle >= CACHE_MAX_IDLE) {
    stmt_free(st);
    return;
  }
  sqlite3_reset(st->h);
  sqlite3_clear_bindings(st->h);
  st->next = db->cache[st->hash % CACHE_BUCKETS];
  db->cache[st->hash % CACHE_BUCKETS] = st;
  db->idle++;
}

static int sq_begin(vz_db *db) { return sq_exec(db, "BEGIN IMMEDIATE"); }
static int sq_commit(vz_db *db) { return sq_exec(db, "COMMIT"); }
static int sq_rollback(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  if (sqlite3_get_autocommit(db->h)) return 0; /* nothing open (an error already ended it) */
  return sq_exec(vdb, "ROLLBACK");
}

const db_driver db_sqlite_driver = {
  .name = "sqlite",
  .open = sq_open,
  .close = sq_close,
  .errmsg = sq_errmsg,
  .ping = sq_ping,
  .exec = sq_exec,
  .prepare = sq_prepare,
  .bind_int = sq_bind_int,
  .bind_text = sq_bind_text,
  .bind_blob = sq_bind_blob,
  .bind_null = sq_bind_null,
  .step = sq_step,
  .col_count = sq_col_count,
  .col_is_null = sq_col_is_null,
  .col_int = sq_col_int,
  .col_text = sq_col_text,
  .col_blob = sq_col_blob,
  .changes = sq_changes,
  .finalize = sq_finalize,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
};
