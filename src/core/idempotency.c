/* idempotency: the request transaction that VZ_AUDIT and VZ_IDEMPOTENT routes run in, and
 * the Idempotency-Key records (table idempotency_keys, migration 010). Why it is built so:
 *  - One transaction around the handler, not a record written after it: a stored answer
 *    or an audit row that could commit without its change (or the change without them)
 *    is exactly the double charge or the untraced admin action they exist to prevent.
 *    Handlers keep their own db_begin/db_commit: inside this transaction they become
 *    savepoints (db.h), so no handler had to change.
 *  - The claim is an INSERT ... ON CONFLICT DO NOTHING on the key before the handler runs.
 *    A concurrent duplicate's insert waits on the first's uncommitted row (PostgreSQL) or
 *    its BEGIN IMMEDIATE waits for the write lock (SQLite); when the first commits, the
 *    duplicate finds the stored answer and replays it; when it rolled back, the duplicate
 *    claims the key and runs. So clients never see "in use" in the common case; they wait
 *    as long as the database's lock wait (SQLite busy_timeout 5 s, then 503 + Retry-After).
 *  - Only answers below 400 are stored. An error rolls back everything the handler wrote,
 *    so there is nothing to protect and the client's retry simply runs again. */
#include "core/idempotency.h"

#include <limits.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db.h"
#include "lib/clock.h"

static const char HEADER[] = "Idempotency-Key";

typedef struct idem {
  const char *key;
  const char *route; /* "POST /v1/sellers/applications": stable across builds, unlike idx */
  char hash[65];
} idem;

int vz_idem_check_or_fail(vz_req *req) {
  const char *key = NULL;
  int n = 0;
  for (int i = 0; i < req->nheaders; i++)
    if (!strcasecmp(req->headers[i].name, HEADER)) key = req->headers[i].value, n++;
  if (!n) return 0;
  /* two keys would leave it to us which one the client meant */
  if (n > 1) return vz_fail(req, 400, "invalid_argument", HEADER, "send one Idempotency-Key");
  size_t len = strlen(key);
  int ok = len >= 1 && len <= VZ_IDEM_KEY_MAX;
  for (const char *p = key; ok && *p; p++) ok = *p >= 0x20 && *p <= 0x7e;
  if (!ok)
    return vz_fail(req, 400, "invalid_argument", HEADER, "Idempotency-Key is 1 to %d printable ASCII characters",
                   VZ_IDEM_KEY_MAX);
  /* keys are scoped per user: anonymous callers would share one scope and could read each
   * other's stored answers by guessing a key */
  if (!req->user_id) return vz_fail(req, 400, "invalid_argument", HEADER, "Idempotency-Key needs a signed-in caller");
  return 0;
}

static void hash_str(crypto_hash_sha256_state *h, const char *s) {
  crypto_hash_sha256_update(h, (const unsigned char *)s, strlen(s));
  crypto_hash_sha256_update(h, (const unsigned char *)"\n", 1);
}

/* Method, path (with its :params filled in), query and body. A JSON body is hashed in its
 * canonical form (compact, keys sorted) so a client that re-serialises the same object
 * with other spacing or key order is still sending the same request. */
int vz_idem_request_hash(vz_req *req, char out[65]) {
  crypto_hash_sha256_state h;
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_init(&h);
  hash_str(&h, req->method);
  hash_str(&h, req->path);
  hash_str(&h, req->query ? req->query : "");
  if (req->json) {
    char *c = json_dumps(req->json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!c) return -1;
    crypto_hash_sha256_update(&h, (const unsigned char *)c, strlen(c));
    free(c);
  } else if (req->body && req->body_len) {
    crypto_hash_sha256_update(&h, (const unsigned char *)req->body, req->body_len);
  }
  crypto_hash_sha256_final(&h, d);
  sodium_bin2hex(out, 65, d, sizeof d);
  return 0;
}

/* Header lines "Name: value\n" as stored; values cannot hold CR/LF (vz_add_header). */
static void replay_headers(vz_req *req, const char *lines) {
  while (lines && *lines) {
    const char *nl = strchr(lines, '\n'), *colon = strchr(lines, ':');
    size_t len = nl ? (size_t)(nl - lines) : strlen(lines);
    if (colon && colon < lines + len) {
      const char *v = colon + 1 + (colon[1] == ' ');
      char *name = vz_arena_strndup(req->arena, lines, (size_t)(colon - lines));
      char *value = vz_arena_strndup(req->arena, v, len - (size_t)(v - lines));
      if (!name || !value) return;
      vz_add_header(req, name, value);
    }
    lines = nl ? nl + 1 : NULL;
  }
}

/* The stored answer, as the first request got it. */
static int replay(vz_req *req, vz_stmt *st) {
  int len = 0;
  const void *body = db_col_is_null(st, 4) ? NULL : db_col_blob(st, 4, &len);
  const char *type = db_col_is_null(st, 2) ? NULL : vz_arena_strdup(req->arena, db_col_text(st, 2));
  int status = (int)db_col_int(st, 1);
  vz_reply_bytes(req, status, type, body, body ? (size_t)len : 0);
  if (req->status != status) return req->status; /* out of memory: the 503 stands */
  replay_headers(req, db_col_text(st, 3));
  vz_add_header(req, "Idempotent-Replayed", "true");
  char st_s[8];
  snprintf(st_s, sizeof st_s, "%d", status);
  vz_log_info("idempotent request replayed", "key", vz_req_header(req, HEADER), "status", st_s);
  return status;
}

/* Inside the request transaction. 0: the key is ours, run the handler. Else the request
 * is answered (a replay, 422, or a database error) and the transaction must roll back. */
static int claim(vz_req *req, idem *c) {
  vz_db *db = req->db;
  vz_stmt *st = NULL;
  int64_t now = db_now_ms();
  if (vz_idem_request_hash(req, c->hash) < 0) return vz_fail(req, 503, "unavailable", NULL, "out of memory");
  /* an expired record is as good as none: drop it so the insert below can take the key */
  int rc = db_run(db, NULL,
                  "DELETE FROM idempotency_keys WHERE user_id = $1 AND route = $2 AND idem_key = $3 AND created_at <= $4",
                  "issi", req->user_id, c->route, c->key, now - VZ_IDEM_TTL_MS);
  if (rc < 0) return vz_fail_db(req, rc);
  rc = db_run(db, &st,
              "INSERT INTO idempotency_keys (user_id, route, idem_key, request_hash, created_at)"
              " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, route, idem_key) DO NOTHING",
              "isssi", req->user_id, c->route, c->key, c->hash, now);
  int took = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (took) return 0;
  rc = db_run(db, &st,
              "SELECT request_hash, status, content_type, headers, body FROM idempotency_keys"
              " WHERE user_id = $1 AND route = $2 AND idem_key = $3",
              "iss", req->user_id, c->route, c->key);
  if (rc == DB_ROW && strcmp(db_col_text(st, 0), c->hash) != 0) {
    db_finalize(st);
    vz_log_warn("idempotency key reused for a different request", "key", c->key);
    return vz_fail(req, 422, "idempotency_key_reused", HEADER,
                   "this Idempotency-Key was used for a different request; use a new key");
  }
  /* status 0 or no row: only when the record changed between our two statements (swept,
   * or a writer we cannot see yet); the client's retry settles it */
  if (rc == DB_ROW && db_col_int(st, 1) > 0) rc = replay(req, st);
  else if (rc >= 0)
    rc = vz_fail(req, 409, "idempotency_key_in_use", HEADER, "a request with this Idempotency-Key is in progress; retry");
  else rc = vz_fail_db(req, rc);
  if (st) db_finalize(st);
  return rc;
}

/* The answer as the handler left it (before gzip and the common headers, which finish()
 * adds to every reply, replays included). first_header: the handler's first header. */
static int store(vz_req *req, const idem *c, int first_header) {
  char *lines = vz_arena_strdup(req->arena, "");
  for (int i = first_header; lines && i < req->nres_headers; i++)
    lines = vz_arena_printf(req->arena, "%s%s: %s\n", lines, req->res_headers[i].name, req->res_headers[i].value);
  if (!lines || req->res_len > INT_MAX) return DB_ERROR;
  vz_stmt *st = NULL;
  int rc = db_prepare(req->db,
                      "UPDATE idempotency_keys SET status = $1, content_type = $2, headers = $3, body = $4"
                      " WHERE user_id = $5 AND route = $6 AND idem_key = $7",
                      &st);
  if (rc < 0) return rc;
  db_bind_int(st, 1, req->status);
  if (req->res_type) db_bind_text(st, 2, req->res_type, -1);
  else db_bind_null(st, 2);
  db_bind_text(st, 3, lines, -1);
  if (req->res_len) db_bind_blob(st, 4, req->res_body, (int)req->res_len);
  else db_bind_null(st, 4);
  db_bind_int(st, 5, req->user_id);
  db_bind_text(st, 6, c->route, -1);
  db_bind_text(st, 7, c->key, -1);
  rc = db_step(st);
  if (rc >= 0 && db_changes(st) != 1) rc = DB_ERROR; /* our own claim vanished: never commit unrecorded */
  db_finalize(st);
  return rc < 0 ? rc : 0;
}

/* Removes the reply headers [from, to): the handler's, when its success is undone
 * (Location of a row that is not), keeping what the error added after them. */
static void drop_headers(vz_req *req, int from, int to) {
  int n = req->nres_headers - to;
  memmove(&req->res_headers[from], &req->res_headers[to], (size_t)n * sizeof req->res_headers[0]);
  req->nres_headers = from + n;
}

/* Rolls back every level, the request transaction included. */
static void unwind(vz_db *db) {
  while (db_tx_depth(db) > 0) db_rollback(db);
}

/* One run of the request transaction (see vz_tx_run). */
static int tx_once(vz_req *req, idem *cp, int first_header) {
  const vz_route *r = req->route;
  vz_db *db = req->db;
  idem c = *cp;
  int rc = db_begin(db);
  if (rc < 0) return vz_fail_db(req, rc);
  if (db_tx_depth(db) != 1) { /* the worker ends every level after each request */
    vz_log_error("request transaction nested in a leftover one; rolled back");
    unwind(db);
    return vz_fail(req, 500, "internal", NULL, "the server could not answer");
  }
  if (c.key && claim(req, &c)) goto rollback;

  r->handler(req);
  if (db_tx_depth(db) != 1) {
    /* a handler ended our transaction or left a level open: its own bug, but the reply
     * must not claim a success whose records may be missing */
    vz_log_error("handler left the request transaction unbalanced", "state",
                 db_tx_depth(db) ? "open savepoint" : "ended");
    drop_headers(req, first_header, req->nres_headers);
    vz_fail(req, 500, "internal", NULL, "the server could not answer");
    goto rollback;
  }
  if (!req->replied || req->status >= 400) goto rollback;
  if ((r->flags & VZ_AUDIT) && req->status < 300 && vz_hook.audit) {
    int hook_first = req->nres_headers;
    vz_hook.audit(req);
    if (req->status >= 400) { /* the hook could not write the row and said so */
      drop_headers(req, first_header, hook_first);
      goto rollback;
    }
  }
  if (c.key && (rc = store(req, &c, first_header)) < 0) goto fail;
  if ((rc = db_commit(db)) < 0) goto fail;
  return req->status;
fail:
  drop_headers(req, first_header, req->nres_headers);
  vz_fail_db(req, rc);
rollback:
  unwind(db);
  return req->status;
}

/* Forgets a reply that was rolled back, so the handler can answer again. */
static void reply_reset(vz_req *req, int first_header) {
  free(req->res_body);
  req->res_body = NULL;
  req->res_len = 0;
  req->res_type = NULL;
  req->status = 0;
  req->replied = 0;
  req->db_busy = 0;
  req->nres_headers = first_header;
}

/* The request transaction, run again (at most 3 runs, within 1 s, jittered pauses) when
 * it lost to another writer (busy): the whole of it was rolled back, so running the
 * handler again is safe, and nested db_tx bodies only retry at the outermost level. */
static atomic_llong busy_reruns;
long long vz_tx_busy_reruns(void) { return atomic_load_explicit(&busy_reruns, memory_order_relaxed); }

int vz_tx_run(vz_req *req) {
  const vz_route *r = req->route;
  idem c = { .key = (r->flags & VZ_IDEMPOTENT) ? vz_req_header(req, HEADER) : NULL };
  int first_header = req->nres_headers;
  if (c.key && !req->user_id) c.key = NULL; /* refused on the loop; never scope by user 0 */
  if (c.key && !(c.route = vz_arena_printf(req->arena, "%s %s", r->method, r->path)))
    return vz_fail(req, 503, "unavailable", NULL, "out of memory");
  uint64_t deadline = vz_mono_ms() + 1000;
  for (int run = 1;; run++) {
    req->db_busy = 0;
    int st = tx_once(req, &c, first_header);
    if (!req->db_busy || run == 3 || vz_mono_ms() + 50 > deadline) return st;
    reply_reset(req, first_header);
    atomic_fetch_add_explicit(&busy_reruns, 1, memory_order_relaxed);
    uint32_t pause_ms = 10u * (uint32_t)run + randombytes_uniform(10u * (uint32_t)run);
    usleep(pause_ms * 1000);
  }
}

int vz_idem_delete_expired(vz_db *db, int64_t now_ms) {
  return db_run(db, NULL, "DELETE FROM idempotency_keys WHERE created_at <= $1", "i", now_ms - VZ_IDEM_TTL_MS);
}

int vz_idem_forget_user(vz_db *db, int64_t user_id) {
  int rc = db_run(db, NULL, "DELETE FROM idempotency_keys WHERE user_id = $1", "i", user_id);
  return rc < 0 ? rc : 0;
}

void vz_idem_sweep(vz_db *db) {
  static _Atomic int64_t next_ms;
  int64_t now = db_now_ms(), due = atomic_load(&next_ms);
  if (now < due || !atomic_compare_exchange_strong(&next_ms, &due, now + 60000)) return;
  if (vz_idem_delete_expired(db, now) < 0) vz_log_warn("expired idempotency keys not swept", "error", db_errmsg(db));
}
