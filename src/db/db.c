/* db.c: the driver-independent half of the data layer. It owns three things:
 *  - dispatch: every vz_db / vz_stmt starts with a base header naming its driver, so the
 *    public db_* calls are one indirect call each (no per-driver branches in services);
 *  - ids and time: db_id_new hands out time-ordered 63-bit ids from one atomic state, so
 *    any number of worker threads get unique, increasing ids without a lock;
 *  - migrations: the numbered SQL files compiled into the binary (migrate.h), applied in
 *    order, each in its own transaction, under a lock so two instances starting together
 *    on one PostgreSQL apply each file exactly once. */
#include "db/db.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/fault.h"
#include "db/migrate.h"
#include "lib/clock.h"

#define DRV(db) (((const struct vz_db_base *)(const void *)(db))->drv)
#define SDRV(st) (((const struct vz_stmt_base *)(const void *)(st))->drv)

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int db_open(const char *url, vz_db **out, char *err, size_t errlen) {
  const db_driver *drv = &db_sqlite_driver;
  *out = NULL;
  if (!url || !*url) {
    if (err && errlen) snprintf(err, errlen, "db: empty database url");
    return DB_ERROR;
  }
  if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
    drv = &db_postgres_driver;
  return drv->open(url, out, err, errlen);
}

/* ---- after-commit hooks --------------------------------------------------------------- */

struct db_after {
  struct db_after *next;
  void (*fn)(void *), (*drop)(void *);
  void *arg;
  int depth; /* the level open at registration: a rollback of it drops the hook */
};

int db_after_commit(vz_db *db, void (*fn)(void *), void *arg, void (*drop)(void *)) {
  struct vz_db_base *b = (struct vz_db_base *)(void *)db;
  if (!b->tx_depth) {
    fn(arg);
    return 0;
  }
  struct db_after *a = malloc(sizeof *a), **tail = &b->after;
  if (!a) return -1;
  *a = (struct db_after){ .fn = fn, .drop = drop, .arg = arg, .depth = b->tx_depth };
  while (*tail) tail = &(*tail)->next; /* run in registration order */
  *tail = a;
  return 0;
}

/* run: after the outermost commit; else drop those registered at levels above `keep`. */
static void after_settle(vz_db *db, int run, int keep) {
  struct vz_db_base *b = (struct vz_db_base *)(void *)db;
  struct db_after **p = &b->after;
  while (*p) {
    struct db_after *a = *p;
    if (!run && a->depth <= keep) { p = &a->next; continue; }
    *p = a->next;
    if (run) a->fn(a->arg);
    else if (a->drop) a->drop(a->arg);
    free(a);
  }
}

void db_close(vz_db *db) {
  if (!db) return;
  after_settle(db, 0, 0);
  DRV(db)->close(db);
}

#ifdef VZ_DEBUG
static _Thread_local int faulted; /* the last db call on this thread was failed on purpose */
#endif

int db_dialect(const vz_db *db) { return ((const struct vz_db_base *)(const void *)db)->dialect; }
const char *db_errmsg(const vz_db *db) {
#ifdef VZ_DEBUG
  if (faulted) return "db: injected fault (core/fault.h)"; /* the driver's message is an older one */
#endif
  return db ? DRV(db)->errmsg(db) : "db: no connection";
}
int db_ping(vz_db *db) { return DRV(db)->ping(db); }
/* The calls that reach the data: in debug builds each is a fault point (core/fault.h)
 * failing the way a lost disk or server would, before the driver is asked. Rollback is
 * not one: it is how every error path cleans up, and a real one cannot fail softer. */
#ifdef VZ_DEBUG
#define FAULT_POINT()                                                                      \
  do {                                                                                     \
    if ((faulted = vz_fault_hit(VZ_FAULT_DB))) return vz_fault_db_code();                  \
  } while (0)
#else
#define FAULT_POINT() do {} while (0)
#endif
int db_exec(vz_db *db, const char *sql) {
  FAULT_POINT();
  return DRV(db)->exec(db, sql);
}
int db_prepare(vz_db *db, const char *sql, vz_stmt **out) {
  *out = NULL;
#ifdef VZ_DEBUG
  faulted = 0;
#endif
  return DRV(db)->prepare(db, sql, out);
}
int db_bind_int(vz_stmt *st, int idx, int64_t v) { return SDRV(st)->bind_int(st, idx, v); }
int db_bind_text(vz_stmt *st, int idx, const char *s, int len) {
  return SDRV(st)->bind_text(st, idx, s, len);
}
int db_bind_blob(vz_stmt *st, int idx, const void *p, int len) {
  return SDRV(st)->bind_blob(st, idx, p, len);
}
int db_bind_null(vz_stmt *st, int idx) { return SDRV(st)->bind_null(st, idx); }
int db_step(vz_stmt *st) {
  FAULT_POINT();
  return SDRV(st)->step(st);
}
int db_col_count(vz_stmt *st) { return SDRV(st)->col_count(st); }
int db_col_is_null(vz_stmt *st, int col) { return SDRV(st)->col_is_null(st, col); }
int64_t db_col_int(vz_stmt *st, int col) { return SDRV(st)->col_int(st, col); }
const char *db_col_text(vz_stmt *st, int col) { return SDRV(st)->col_text(st, col); }
const void *db_col_blob(vz_stmt *st, int col, int *len) {
  return SDRV(st)->col_blob(st, col, len);
}
int db_changes(vz_stmt *st) { return SDRV(st)->changes(st); }
void db_finalize(vz_stmt *st) {
  if (st) SDRV(st)->finalize(st);
}

int db_run(vz_db *db, vz_stmt **out, const char *sql, const char *fmt, ...) {
  vz_stmt *st;
  va_list ap;
  int rc, idx = 1;

  if (out) *out = NULL;
  rc = db_prepare(db, sql, &st);
  if (rc < 0) return rc;
  va_start(ap, fmt);
  for (const char *f = fmt ? fmt : ""; *f && rc >= 0; f++, idx++) {
    switch (*f) {
    case 'i': rc = db_bind_int(st, idx, va_arg(ap, int64_t)); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      rc = s ? db_bind_text(st, idx, s, -1) : db_bind_null(st, idx);
      break;
    }
    case 'n': rc = db_bind_null(st, idx); break;
    default: rc = DB_ERROR; break; /* a typo in a format is our bug; fail, don't guess */
    }
  }
  va_end(ap);
  if (rc >= 0) rc = db_step(st);
  if (rc >= 0 && out) *out = st;
  else db_finalize(st);
  return rc;
}

/* ---- nested transactions ------------------------------------------------------------- */

/* The outermost level is the driver's BEGIN/COMMIT/ROLLBACK; deeper levels are savepoints
 * named by their level (vz_sp1 inside level 1, ...). SAVEPOINT, RELEASE and ROLLBACK TO
 * mean the same on SQLite and PostgreSQL, and on PostgreSQL ROLLBACK TO also clears the
 * "transaction is aborted" state an error inside the savepoint left, which is what lets
 * a nested helper turn a constraint violation into a 409 and the caller carry on. */
#define BASE(db) ((struct vz_db_base *)(void *)(db))

static int savepoint(vz_db *db, const char *verb, int level) {
  char sql[48];
  snprintf(sql, sizeof sql, "%s vz_sp%d", verb, level);
  return db_exec(db, sql);
}

int db_tx_depth(const vz_db *db) { return ((const struct vz_db_base *)(const void *)db)->tx_depth; }

int db_begin(vz_db *db) {
  FAULT_POINT();
  struct vz_db_base *b = BASE(db);
  int rc = b->tx_depth ? savepoint(db, "SAVEPOINT", b->tx_depth) : DRV(db)->begin(db);
  if (rc >= 0) b->tx_depth++;
  return rc;
}

int db_commit(vz_db *db) {
  FAULT_POINT(); /* the transaction stays open, as after a failed COMMIT: callers roll back */
  struct vz_db_base *b = BASE(db);
  if (b->tx_depth > 1) {
    /* a failed RELEASE keeps the level: the caller's db_rollback then undoes this
     * savepoint, not the enclosing transaction */
    int rc = savepoint(db, "RELEASE SAVEPOINT", b->tx_depth - 1);
    if (rc >= 0) {
      b->tx_depth--;
      /* the savepoint's hooks now belong to the level it merged into */
      for (struct db_after *a = b->after; a; a = a->next)
        if (a->depth > b->tx_depth) a->depth = b->tx_depth;
    }
    return rc;
  }
  b->tx_depth = 0;
  int rc = DRV(db)->commit(db);
  /* SQLite keeps a transaction open after a failed COMMIT; end it, so the level count and
   * the connection agree (every caller rolls back after a failed commit anyway). */
  if (rc < 0) DRV(db)->rollback(db);
  after_settle(db, rc >= 0, 0);
  return rc;
}

int db_rollback(vz_db *db) {
  struct vz_db_base *b = BASE(db);
  if (b->tx_depth > 1) {
    int level = --b->tx_depth;
    int rc = savepoint(db, "ROLLBACK TO SAVEPOINT", level);
    int rc2 = savepoint(db, "RELEASE SAVEPOINT", level);
    after_settle(db, 0, level);
    return rc < 0 ? rc : rc2;
  }
  b->tx_depth = 0;
  after_settle(db, 0, 0);
  return DRV(db)->rollback(db);
}

/* ---- the transaction helper ---------------------------------------------------------- */

static atomic_llong tx_retries;

long long db_tx_retries(void) { return atomic_load_explicit(&tx_retries, memory_order_relaxed); }

/* 10-20 ms before the second run, 20-40 ms before the third: long enough for the writer
 * we collided with to finish a short transaction, random so two colliding requests do not
 * collide again in step. */
static void tx_backoff(int run) {
  long ms = 10L << (run - 1);
  ms += random() % (ms + 1);
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0) {}
}

/* One run at level depth0 + 1. A level fn left open or closed (its own bug) is unwound,
 * so the caller's level count stays true; the run then counts as failed. */
static int tx_once(vz_db *db, db_tx_fn fn, void *ctx, int depth0) {
  int rc = db_begin(db);
  if (rc < 0) return rc;
  rc = fn(db, ctx);
  if (db_tx_depth(db) != depth0 + 1) {
    while (db_tx_depth(db) > depth0) db_rollback(db);
    return rc < 0 ? rc : DB_ERROR;
  }
  if (rc < 0) {
    db_rollback(db);
    return rc;
  }
  int c = db_commit(db);
  if (c < 0) {
    /* a failed RELEASE keeps the savepoint (db_commit); a failed outermost COMMIT has
     * already rolled back */
    if (db_tx_depth(db) > depth0) db_rollback(db);
    return c;
  }
  return rc;
}

int db_tx(vz_db *db, db_tx_fn fn, void *ctx) {
  int depth0 = db_tx_depth(db);
  uint64_t t0 = vz_mono_ms();
  for (int run = 1;; run++) {
    int rc = tx_once(db, fn, ctx, depth0);
    if (rc != DB_EBUSY || depth0 > 0 || run == DB_TX_TRIES || vz_mono_ms() - t0 >= DB_TX_BUDGET_MS) return rc;
    atomic_fetch_add_explicit(&tx_retries, 1, memory_order_relaxed);
    tx_backoff(run);
  }
}

/* ---- ids ---------------------------------------------------------------------------- */

#define ID_EPOCH_MS 1704067200000LL /* 2024-01-01T00:00:00Z */
#define ID_SEQ_BITS 12
#define ID_NODE_BITS 8

int64_t db_now_ms(void) { return vz_wall_ms(); }

/* The 8 "random" bits are drawn once per process: within a process the sequence already
 * guarantees uniqueness, and a fixed value per instance means two instances collide only
 * if they drew the same byte AND hit the same millisecond and sequence number. */
static atomic_int_least64_t id_last;
static atomic_int id_node = -1;

static int id_node_bits(void) {
  int n = atomic_load_explicit(&id_node, memory_order_relaxed);
  if (n >= 0) return n;
  unsigned char b;
  if (getrandom(&b, 1, 0) != 1) b = (unsigned char)(db_now_ms() ^ getpid());
  int expect = -1;
  atomic_compare_exchange_strong(&id_node, &expect, (int)b);
  return atomic_load(&id_node);
}

/* Lock-free: take max(now, last + 1 tick). When 4096 ids are taken within one
 * millisecond, or the clock steps back, we borrow from the next millisecond instead of
 * letting the sequence carry into the node bits, so ids stay increasing and the node
 * bits never change. */
int64_t db_id_new(void) {
  const int64_t seq_mask = (1LL << ID_SEQ_BITS) - 1;
  const int64_t node = (int64_t)id_node_bits() << ID_SEQ_BITS;
  int64_t last = atomic_load_explicit(&id_last, memory_order_relaxed);
  for (;;) {
    int64_t ms = db_now_ms() - ID_EPOCH_MS;
    int64_t next = (ms << (ID_SEQ_BITS + ID_NODE_BITS)) | node;
    if (next <= last) {
      int64_t lms = last >> (ID_SEQ_BITS + ID_NODE_BITS), lseq = last & seq_mask;
      if (lseq < seq_mask) next = (lms << (ID_SEQ_BITS + ID_NODE_BITS)) | node | (lseq + 1);
      else next = ((lms + 1) << (ID_SEQ_BITS + ID_NODE_BITS)) | node;
    }
    if (atomic_compare_exchange_weak_explicit(&id_last, &last, next, memory_order_relaxed,
                                              memory_order_relaxed))
      return next;
  }
}

/* ---- migrations ---------------------------------------------------------------------- */

/* Any fixed number works; it only has to be the same in every vidzo process. "VZMIGRAT". */
#define MIGRATE_LOCK_KEY "6077858434823030356"

static int has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static int migration_applies(const char *name, int dialect) {
  if (has_suffix(name, ".sqlite.sql")) return dialect == DB_SQLITE;
  if (has_suffix(name, ".pg.sql")) return dialect == DB_POSTGRES;
  return 1;
}

/* Opens a migration transaction. On PostgreSQL a transaction-scoped advisory lock makes a
 * second process wait here until the first has committed, after which it sees the row in
 * schema_migrations and skips. On SQLite BEGIN IMMEDIATE already serializes writers. */
static int migrate_tx_begin(vz_db *db) {
  int rc = db_begin(db);
  if (rc < 0 || db_dialect(db) != DB_POSTGRES) return rc;
  rc = db_run(db, NULL, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", "");
  if (rc < 0) db_rollback(db);
  return rc < 0 ? rc : 0;
}

static int migrate_fail(vz_db *db, int rc, const char *what, const char *name, char *err,
                        size_t errlen) {
  if (err && errlen)
    snprintf(err, errlen, "migrate: %s%s%s: %s", what, name ? " " : "", name ? name : "",
             db_errmsg(db));
  db_rollback(db);
  return rc < 0 ? rc : DB_ERROR;
}

int db_migrate(vz_db *db, char *err, size_t errlen) {
  int rc;
  if ((rc = migrate_tx_begin(db)) < 0) return migrate_fail(db, rc, "begin", NULL, err, errlen);
  rc = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)");
  if (rc < 0) return migrate_fail(db, rc, "create schema_migrations", NULL, err, errlen);
  if ((rc = db_commit(db)) < 0) return migrate_fail(db, rc, "commit", NULL, err, errlen);

  for (const vz_migration *m = vz_migrations; m->name; m++) {
    vz_stmt *st;
    if (!migration_applies(m->name, db_dialect(db))) continue;
    if ((rc = migrate_tx_begin(db)) < 0) return migrate_fail(db, rc, "begin", m->name, err, errlen);
    rc = db_run(db, &st, "SELECT 1 FROM schema_migrations WHERE name = $1", "s", m->name);
    db_finalize(st);
    if (rc < 0) return migrate_fail(db, rc, "check", m->name, err, errlen);
    if (rc == DB_ROW) { /* applied earlier, or by a process we waited for */
      db_rollback(db);
      continue;
    }
    if ((rc = db_exec(db, m->sql)) < 0) return migrate_fail(db, rc, "apply", m->name, err, errlen);
    rc = db_run(db, NULL, "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                "si", m->name, db_now_ms());
    if (rc < 0) return migrate_fail(db, rc, "record", m->name, err, errlen);
    if ((rc = db_commit(db)) < 0) return migrate_fail(db, rc, "commit", m->name, err, errlen);
  }
  return 0;
}

int db_text_match(const char *q, int dialect, int max_words, char *out, size_t cap) {
  int pg = dialect == DB_POSTGRES;
  size_t m = 0;
  int n = 0;
  out[0] = 0;
  while (*q && n < max_words) {
    while (*q && !(isalnum((unsigned char)*q) || (unsigned char)*q >= 0x80)) q++;
    const char *s = q;
    while (*q && (isalnum((unsigned char)*q) || (unsigned char)*q >= 0x80)) q++;
    if (q == s) break;
    char w[64];
    size_t l = (size_t)(q - s) < sizeof w - 1 ? (size_t)(q - s) : sizeof w - 1;
    for (size_t i = 0; i < l; i++) w[i] = (char)tolower((unsigned char)s[i]);
    w[l] = 0;
    int k = pg ? snprintf(out + m, cap - m, "%s%s:*", n ? " & " : "", w)
               : snprintf(out + m, cap - m, "%s\"%s\"*", n ? " " : "", w);
    if (k < 0 || (size_t)k >= cap - m) break;
    m += (size_t)k;
    n++;
  }
  return n;
}
