/* postgres.c: the server driver (libpq), used when several vidzo instances share one
 * database. Built so:
 *  - one PGconn per vz_db, synchronous calls: a vz_db belongs to one worker thread.
 *  - each distinct SQL text is PQprepare'd once per connection under a generated name,
 *    then run with PQexecPrepared; PQdescribePrepared tells how many parameters it takes,
 *    so unbound parameters go as NULL like SQLite's. Parameters travel as text (ints are
 *    formatted here), blobs in binary format so bytea needs no escaping.
 *  - results are fetched whole by the first db_step and then iterated; text format, so
 *    integers are strtoll'd and bytea is unescaped on demand.
 *  - a lost connection (server restart, failover, idle kill) is reported as
 *    DB_EUNAVAILABLE; the next db_ping/db_prepare/db_exec/db_begin outside a transaction
 *    reconnects with PQreset. Server-side prepared statements die with the session, so a
 *    reconnect bumps a generation number and every cached entry is prepared afresh.
 *    Inside a transaction we never reconnect silently: the caller must see the failure,
 *    roll back and retry, or half a transaction would run outside it. */
/* Debian puts libpq under postgresql/; the Makefile adds no -I for it. */
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

#define CACHE_BUCKETS 128
#define CACHE_MAX 512 /* cap: server-side prepared statements per connection */
#define BYTEAOID 17   /* from catalog/pg_type.h, which is server-only */
#define BOOLOID 16

typedef struct pg_prep {
  char *sql;
  unsigned hash;
  char name[24];
  unsigned gen;        /* prepared on the server in this connection generation */
  int nparams, nfields;
  int users;           /* live vz_stmt using it: never evicted while > 0 */
  unsigned long used;  /* LRU clock */
  struct pg_prep *next;
} pg_prep;

struct vz_db {
  struct vz_db_base base;
  PGconn *conn;
  pg_prep *cache[CACHE_BUCKETS];
  int ncache;
  unsigned gen, seq;
  unsigned long clock;
  int in_tx;
  char err[512];
};

struct vz_stmt {
  struct vz_stmt_base base;
  struct vz_db *db;
  pg_prep *prep;
  char **values;
  int *lengths, *formats;
  PGresult *res;
  int row, nrows, changes;
  unsigned char *blob; /* last unescaped bytea, freed on the next call */
};

/* ---- errors and connection ------------------------------------------------------------ */

static void quiet_notice(void *arg, const char *msg) { (void)arg; (void)msg; }

static int conn_lost(struct vz_db *db) { return !db->conn || PQstatus(db->conn) == CONNECTION_BAD; }

static void set_msg(struct vz_db *db, const char *what, const char *msg) {
  size_t n;
  snprintf(db->err, sizeof db->err, "postgres: %s%s%s", what ? what : "", what ? ": " : "",
           msg && *msg ? msg : "unknown error");
  n = strlen(db->err); /* libpq messages end in a newline */
  while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' ')) db->err[--n] = 0;
}

/* Maps a failed result (or none) to a DB_E* code and records the message. SQLSTATE
 * classes: 23 integrity violation; 40001 serialization, 40P01 deadlock, 55P03 lock not
 * available (retryable); 08 connection exception, 57P0x shutdown, 53300 too many
 * connections (server unavailable). */
static int map_err(struct vz_db *db, PGresult *res) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res ? PQresultErrorMessage(res) : NULL;
  set_msg(db, NULL, msg && *msg ? msg : db->conn ? PQerrorMessage(db->conn) : "no connection");
  if (state && strncmp(state, "23", 2) == 0) return DB_ECONSTRAINT;
  if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")))
    return DB_EBUSY;
  if (conn_lost(db)) return DB_EUNAVAILABLE;
  if (state && (!strncmp(state, "08", 2) || !strncmp(state, "57P0", 4) || !strcmp(state, "53300")))
    return DB_EUNAVAILABLE;
  return DB_ERROR;
}

/* Makes sure there is a live session, reconnecting a lost one when that is safe. */
static int ensure_conn(struct vz_db *db) {
  if (!conn_lost(db)) return 0;
  if (db->in_tx) {
    set_msg(db, NULL, "connection lost inside a transaction; roll back and retry");
    return DB_EUNAVAILABLE;
  }
  PQreset(db->conn);
  if (PQstatus(db->conn) != CONNECTION_OK) {
    set_msg(db, "reconnect", PQerrorMessage(db->conn));
    return DB_EUNAVAILABLE;
  }
  db->gen++; /* every server-side prepared statement is gone */
  return 0;
}

static void pg_close(vz_db *vdb);

static int pg_open(const char *url, vz_db **out, char *err, size_t errlen) {
  /* Defaults first: keywords after the expanded dbname (the URL) would override it. */
  static const char *keys[] = { "connect_timeout", "application_name", "client_encoding",
                                "dbname", NULL };
  const char *vals[] = { "5", "vidzo", "UTF8", url, NULL };
  struct vz_db *db = calloc(1, sizeof *db);

  *out = NULL;
  if (!db) {
    snprintf(err, errlen, "postgres: out of memory");
    return DB_ERROR;
  }
  db->base.drv = &db_postgres_driver;
  db->base.dialect = DB_POSTGRES;
  db->gen = 1;
  db->conn = PQconnectdbParams(keys, vals, 1);
  if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
    set_msg(db, "connect", db->conn ? PQerrorMessage(db->conn) : "out of memory");
    snprintf(err, errlen, "%s", db->err);
    pg_close((vz_db *)db);
    return DB_EUNAVAILABLE;
  }
  PQsetNoticeProcessor(db->conn, quiet_notice, NULL); /* "table exists, skipping" etc. */
  *out = (vz_db *)db;
  return 0;
}

static void pg_close(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  for (int i = 0; i < CACHE_BUCKETS; i++) {
    while (db->cache[i]) {
      pg_prep *p = db->cache[i];
      db->cache[i] = p->next;
      free(p->sql);
      free(p);
    }
  }
  if (db->conn) PQfinish(db->conn);
  free(db);
}

static const char *pg_errmsg(const vz_db *db) { return ((const struct vz_db *)db)->err; }

static int exec_simple(struct vz_db *db, const char *sql, PGresult **keep) {
  PGresult *res = PQexec(db->conn, sql);
  ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  int rc = 0;
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) rc = map_err(db, res);
  if (keep && rc == 0) *keep = res;
  else PQclear(res);
  return rc;
}

static int pg_ping(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  int rc = ensure_conn(db);
  if (rc < 0) return rc;
  rc = exec_simple(db, "SELECT 1", NULL); /* a restart shows only when we talk */
  if (rc == DB_EUNAVAILABLE && !db->in_tx) {
    if ((rc = ensure_conn(db)) == 0) rc = exec_simple(db, "SELECT 1", NULL);
  }
  return rc;
}

static int pg_exec(vz_db *vdb, const char *sql) {
  struct vz_db *db = (struct vz_db *)vdb;
  int rc = ensure_conn(db);
  return rc < 0 ? rc : exec_simple(db, sql, NULL);
}

/* ---- statement cache ------------------------------------------------------------------ */

static unsigned hash_sql(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Frees the least recently used entry nobody holds, and its server-side statement. */
static void cache_evict(struct vz_db *db) {
  pg_prep **victim = NULL;
  for (int i = 0; i < CACHE_BUCKETS; i++)
    for (pg_prep **pp = &db->cache[i]; *pp; pp = &(*pp)->next)
      if ((*pp)->users == 0 && (!victim || (*pp)->used < (*victim)->used)) victim = pp;
  if (!victim) return;
  pg_prep *p = *victim;
  *victim = p->next;
  if (p->gen == db->gen) {
    char sql[48];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
    PQclear(PQexec(db->conn, sql));
  }
  free(p->sql);
  free(p);
  db->ncache--;
}

/* Prepares p on the server unless this session already has it. */
static int prep_server(struct vz_db *db, pg_prep *p) {
  PGresult *res;
  int rc;
  if (p->gen == db->gen) return 0;
  snprintf(p->name, sizeof p->name, "vz_%u", ++db->seq);
  res = PQprepare(db->conn, p->name, p->sql, 0, NULL);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = map_err(db, res);
    PQclear(res);
    return rc;
  }
  PQclear(res);
  res = PQdescribePrepared(db->conn, p->name);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    rc = map_err(db, res);
    PQclear(res);
    return rc;
  }
  p->nparams = PQnparams(res);
  p->nfields = PQnfields(res);
  PQclear(res);
  p->gen = db->gen;
  return 0;
}

static void stmt_clear_params(struct vz_stmt *st) {
  for (int i = 0; i < st->prep->nparams; i++) {
    free(st->values[i]);
    st->values[i] = NULL;
    st->lengths[i] = 0;
    st->formats[i] = 0;
  }
}

static void stmt_free(struct vz_stmt *st) {
  if (st->values) stmt_clear_params(st);
  free(st->values);
  free(st->lengths);
  free(st->formats);
  PQclear(st->res);
  PQfreemem(st->blob);
  free(st);
}

static int pg_prepare(vz_db *vdb, const char *sql, vz_stmt **out) {
  struct vz_db *db = (struct vz_db *)vdb;
  unsigned h = hash_sql(sql);
  pg_prep *p;
  struct vz_stmt *st;
  int rc = ensure_conn(db);

  if (rc < 0) return rc;
  for (p = db->cache[h % CACHE_BUCKETS]; p; p = p->next)
    if (p->hash == h && strcmp(p->sql, sql) == 0) break;
  if (!p) {
    if (db->ncache >= CACHE_MAX) cache_evict(db);
    p = calloc(1, sizeof *p);
    if (!p || !(p->sql = strdup(sql))) {
      free(p);
      set_msg(db, NULL, "out of memory");
      return DB_ERROR;
    }
    p->hash = h;
    p->next = db->cache[h % CACHE_BUCKETS];
    db->cache[h % CACHE_BUCKETS] = p;
    db->ncache++;
  }
  if ((rc = prep_server(db, p)) < 0) return rc; /* entry stays, unprepared: retried later */
  st = calloc(1, sizeof *st);
  if (!st) goto oom;
  st->base.drv = &db_postgres_driver;
  st->db = db;
  st->prep = p;
  st->row = -1;
  if (p->nparams > 0) {
    st->values = calloc((size_t)p->nparams, sizeof *st->values);
    st->lengths = calloc((size_t)p->nparams, sizeof *st->lengths);
    st->formats = calloc((size_t)p->nparams, sizeof *st->formats);
    if (!st->values || !st->lengths || !st->formats) {
      stmt_free(st);
      goto oom;
    }
  }
  p->users++;
  p->used = ++db->clock;
  *out = st;
  return 0;
oom:
  set_msg(db, NULL, "out of memory");
  return DB_ERROR;
}

/* ---- binds ---------------------------------------------------------------------------- */

static int bind_set(struct vz_stmt *st, int idx, const void *p, int len, int binary) {
  char *copy = NULL;
  if (idx < 1 || idx > st->prep->nparams) {
    snprintf(st->db->err, sizeof st->db->err, "postgres: bind index %d out of range (1..%d)",
             idx, st->prep->nparams);
    return DB_ERROR;
  }
  if (p) {
    if (len < 0) len = (int)strlen(p);
    copy = malloc((size_t)len + 1);
    if (!copy) {
      set_msg(st->db, NULL, "out of memory");
      return DB_ERROR;
    }
    memcpy(copy, p, (size_t)len);
    copy[len] = 0; /* text params are read up to the NUL */
  }
  free(st->values[idx - 1]);
  st->values[idx - 1] = copy;
  st->lengths[idx - 1] = p ? len : 0;
  st->formats[idx - 1] = binary;
  return 0;
}

static int pg_bind_int(vz_stmt *st, int idx, int64_t v) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
  return bind_set(st, idx, buf, n, 0);
}
static int pg_bind_text(vz_stmt *st, int idx, const char *s, int len) {
  return bind_set(st, idx, s, len, 0);
}
static int pg_bind_blob(vz_stmt *st, int idx, const void *p, int len) {
  if (!p && len > 0) {
    set_msg(st->db, NULL, "bind_blob: NULL pointer with a length");
    return DB_ERROR;
  }
  return bind_set(st, idx, p ? p : "", len < 0 ? 0 : len, 1);
}
static int pg_bind_null(vz_stmt *st, int idx) { return bind_set(st, idx, NULL, 0, 0); }

/* ---- execution and columns ------------------------------------------------------------ */

static int stmt_execute(struct vz_stmt *st) {
  struct vz_db *db = st->db;
  PGresult *res;
  ExecStatusType s;
  int rc;

  if (conn_lost(db)) return map_err(db, NULL);
  if ((rc = prep_server(db, st->prep)) < 0) return rc; /* reconnected since db_prepare */
  res = PQexecPrepared(db->conn, st->prep->name, st->prep->nparams,
                       (const char *const *)st->values, st->lengths, st->formats, 0);
  s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (s == PGRES_TUPLES_OK) {
    st->res = res;
    st->nrows = PQntuples(res);
    st->row = 0;
    st->changes = 0;
    return st->nrows > 0 ? DB_ROW : DB_DONE;
  }
  if (s == PGRES_COMMAND_OK) {
    const char *n = PQcmdTuples(res);
    st->changes = n && *n ? (int)strtol(n, NULL, 10) : 0;
    PQclear(res);
    return DB_DONE;
  }
  rc = map_err(db, res);
  PQclear(res);
  return rc;
}

static int pg_step(vz_stmt *st) {
  PQfreemem(st->blob);
  st->blob = NULL;
  if (!st->res) return stmt_execute(st);
  if (++st->row < st->nrows) return DB_ROW;
  PQclear(st->res); /* done: the next step runs the statement again, as SQLite does */
  st->res = NULL;
  st->row = -1;
  return DB_DONE;
}

static int has_row(struct vz_stmt *st, int col) {
  return st->res && st->row >= 0 && st->row < st->nrows && col >= 0 && col < PQnfields(st->res);
}

static int pg_col_count(vz_stmt *st) { return st->res ? PQnfields(st->res) : st->prep->nfields; }
static int pg_col_is_null(vz_stmt *st, int col) {
  return !has_row(st, col) || PQgetisnull(st->res, st->row, col);
}
static int64_t pg_col_int(vz_stmt *st, int col) {
  const char *v;
  if (pg_col_is_null(st, col)) return 0;
  v = PQgetvalue(st->res, st->row, col);
  if (PQftype(st->res, col) == BOOLOID) return v[0] == 't';
  return strtoll(v, NULL, 10);
}
static const char *pg_col_text(vz_stmt *st, int col) {
  return pg_col_is_null(st, col) ? NULL : PQgetvalue(st->res, st->row, col);
}
static const void *pg_col_blob(vz_stmt *st, int col, int *len) {
  size_t n = 0;
  if (len) *len = 0;
  if (pg_col_is_null(st, col)) return NULL;
  if (PQftype(st->res, col) != BYTEAOID) {
    if (len) *len = PQgetlength(st->res, st->row, col);
    return PQgetvalue(st->res, st->row, col);
  }
  PQfreemem(st->blob);
  st->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->row, col), &n);
  if (!st->blob) return NULL;
  if (len) *len = (int)n;
  return st->blob;
}
static int pg_changes(vz_stmt *st) { return st->changes; }

static void pg_finalize(vz_stmt *st) {
  st->prep->users--;
  stmt_free(st);
}

/* ---- transactions --------------------------------------------------------------------- */

static int pg_begin(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  int rc = ensure_conn(db);
  if (rc == 0 && (rc = exec_simple(db, "BEGIN", NULL)) == 0) db->in_tx = 1;
  return rc;
}

static int pg_commit(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  PGresult *res = NULL;
  int rc = exec_simple(db, "COMMIT", &res);
  /* COMMIT of a transaction an error already aborted "succeeds" with tag ROLLBACK. */
  if (rc == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
    set_msg(db, NULL, "transaction was aborted by an earlier error; rolled back");
    rc = DB_ERROR;
  }
  PQclear(res);
  if (rc != DB_EBUSY || PQtransactionStatus(db->conn) == PQTRANS_IDLE) db->in_tx = 0;
  return rc;
}

static int pg_rollback(vz_db *vdb) {
  struct vz_db *db = (struct vz_db *)vdb;
  int rc;
  db->in_tx = 0;
  if (conn_lost(db)) return 0; /* the server already threw the transaction away */
  if (PQtransactionStatus(db->conn) == PQTRANS_IDLE) return 0;
  rc = exec_simple(db, "ROLLBACK", NULL);
  return rc == DB_EUNAVAILABLE ? 0 : rc;
}

const db_driver db_postgres_driver = {
  .name = "postgres",
  .open = pg_open,
  .close = pg_close,
  .errmsg = pg_errmsg,
  .ping = pg_ping,
  .exec = pg_exec,
  .prepare = pg_prepare,
  .bind_int = pg_bind_int,
  .bind_text = pg_bind_text,
  .bind_blob = pg_bind_blob,
  .bind_null = pg_bind_null,
  .step = pg_step,
  .col_count = pg_col_count,
  .col_is_null = pg_col_is_null,
  .col_int = pg_col_int,
  .col_text = pg_col_text,
  .col_blob = pg_col_blob,
  .changes = pg_changes,
  .finalize = pg_finalize,
  .begin = pg_begin,
  .commit = pg_commit,
  .rollback = pg_rollback,
};
