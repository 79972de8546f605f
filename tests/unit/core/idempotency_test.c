/* Invariant: what a VZ_AUDIT / VZ_IDEMPOTENT route records commits with its change or not
 * at all. An audited success leaves the change and exactly one audit row; a failure (the
 * handler's error, even after it committed its own savepoint; the audit row failing; a
 * handler leaving its transaction unbalanced) leaves neither. An Idempotency-Key runs the
 * handler once: the same request again gets the stored answer, marked replayed; another
 * request under the key gets 422; errors are not stored; an expired key runs again; a
 * duplicate arriving while the first runs waits and replays. Bad keys are 400. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/http.h"
#include "core/conn.h"
#include "core/idempotency.h"
#include "core/log.h"
#include "services/audit/audit.h"
#include "../db/dbtest.h"

static _Atomic int runs;

static vz_req *mk(vz_db *db, const vz_route *r, const char *body, const char *key, int64_t uid) {
  vz_arena *a = vz_arena_new(0);
  vz_req *q = vz_arena_calloc(a, sizeof *q);
  q->arena = a;
  q->method = r->method;
  q->path = r->path;
  q->query = "";
  q->route = r;
  q->db = q->db_read = db;
  q->user_id = uid;
  snprintf(q->request_id, sizeof q->request_id, "rid-unit");
  q->headers = vz_arena_calloc(a, 4 * sizeof *q->headers);
  if (key) q->headers[q->nheaders++] = (vz_header){ "Idempotency-Key", key };
  if (body) {
    q->body = body;
    q->body_len = strlen(body);
    q->json = vz_arena_json(q, json_loads(body, 0, NULL));
  }
  return q;
}

static const char *res_header(vz_req *q, const char *name) {
  for (int i = 0; i < q->nres_headers; i++)
    if (!strcmp(q->res_headers[i].name, name)) return q->res_headers[i].value;
  return NULL;
}

static int64_t count(vz_db *db, const char *sql) {
  vz_stmt *st;
  int64_t n = -1;
  if (db_run(db, &st, sql, "") == DB_ROW) n = db_col_int(st, 0);
  db_finalize(st);
  return n;
}

/* Inserts a thing inside its own transaction (a savepoint here), answers 201 + Location. */
static int h_create(vz_req *q) {
  runs++;
  int64_t id = db_id_new();
  const char *name = json_string_value(json_object_get(q->json, "name"));
  if (db_begin(q->db) < 0) return vz_fail_db(q, DB_ERROR);
  int rc = db_run(q->db, NULL, "INSERT INTO things (id, name) VALUES ($1, $2)", "is", id, name ? name : "");
  if (rc < 0 || (rc = db_commit(q->db)) < 0) {
    db_rollback(q->db);
    return vz_fail_db(q, rc);
  }
  vz_add_header(q, "Location", vz_arena_printf(q->arena, "/things/%lld", (long long)id));
  return vz_reply_item(q, 201, json_pack("{s:o, s:s}", "id", vz_json_id(id), "name", name ? name : ""));
}

/* Commits its own savepoint, then fails (like a fields= projection refused after a write). */
static int h_commit_then_fail(vz_req *q) {
  runs++;
  db_begin(q->db);
  db_run(q->db, NULL, "INSERT INTO things (id, name) VALUES ($1, 'x')", "i", db_id_new());
  db_commit(q->db);
  return vz_fail(q, 400, "invalid_argument", "fields", "unknown field");
}

static int h_leave_open(vz_req *q) {
  runs++;
  db_begin(q->db);
  db_run(q->db, NULL, "INSERT INTO things (id, name) VALUES ($1, 'y')", "i", db_id_new());
  return vz_reply_empty(q, 204);
}

static int h_slow(vz_req *q) {
  usleep(300 * 1000);
  return h_create(q);
}

static void failing_audit(vz_req *q) { vz_fail_db(q, DB_EUNAVAILABLE); }

/* Writes, then loses to another writer (busy) on its first `busy_left` runs. */
static _Atomic int busy_left;
static int h_busy_then_ok(vz_req *q) {
  runs++;
  db_run(q->db, NULL, "INSERT INTO things (id, name) VALUES ($1, 'busy')", "i", db_id_new());
  vz_add_header(q, "X-Run", "yes");
  if (busy_left > 0) {
    busy_left--;
    return vz_fail_db(q, DB_EBUSY);
  }
  return vz_reply_item(q, 201, json_pack("{s:s}", "name", "busy"));
}

static vz_route r_audit = VZ_POST("/v1/admin/things", h_create, .flags = VZ_AUTH | VZ_AUDIT);
static vz_route r_audit_fail = VZ_POST("/v1/admin/things", h_commit_then_fail, .flags = VZ_AUTH | VZ_AUDIT);
static vz_route r_audit_open = VZ_POST("/v1/admin/things", h_leave_open, .flags = VZ_AUTH | VZ_AUDIT);
static vz_route r_audit_busy = VZ_POST("/v1/admin/things", h_busy_then_ok, .flags = VZ_AUTH | VZ_AUDIT);
static vz_route r_idem = VZ_POST("/v1/things", h_create, .flags = VZ_AUTH | VZ_IDEMPOTENT);
static vz_route r_idem2 = VZ_POST("/v1/other-things", h_create, .flags = VZ_AUTH | VZ_IDEMPOTENT);
static vz_route r_idem_fail = VZ_POST("/v1/things", h_commit_then_fail, .flags = VZ_AUTH | VZ_IDEMPOTENT);
static vz_route r_idem_slow = VZ_POST("/v1/things", h_slow, .flags = VZ_AUTH | VZ_IDEMPOTENT);

static int setup(vz_db *db) {
  char err[256];
  if (db_migrate(db, err, sizeof err) < 0) {
    fprintf(stderr, "  %s\n", err);
    return -1;
  }
  return db_exec(db, "CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT NOT NULL)");
}

/* Runs one request through the transaction and returns it (free with vz_req_free). */
static vz_req *run(vz_db *db, const vz_route *r, const char *body, const char *key, int64_t uid) {
  vz_req *q = mk(db, r, body, key, uid);
  vz_tx_run(q);
  return q;
}

static void audit_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(setup(db), 0);
  vz_hooks saved = vz_hook;
  int level = vz_log_level;
  vz_log_level = VZ_LOG_ERROR + 1; /* the unbalanced handler logs an error on purpose */
  vz_hook.audit = audit_hook;

  vz_req *q = run(db, &r_audit, "{\"name\":\"ok\"}", NULL, 7);
  CHECK_EQ_INT(q->status, 201);
  vz_req_free(q);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM audit_log WHERE action = 'POST /v1/admin/things' AND actor_id = 7"
                         " AND target_type = 'things' AND target_id = (SELECT id FROM things)"), 1);

  /* the handler committed its savepoint, then failed: its row goes, no audit row */
  q = run(db, &r_audit_fail, "{}", NULL, 7);
  CHECK_EQ_INT(q->status, 400);
  vz_req_free(q);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM audit_log"), 1);

  /* the audit row cannot be written: the change is undone and the answer says so */
  vz_hook.audit = failing_audit;
  q = run(db, &r_audit, "{\"name\":\"unaudited\"}", NULL, 7);
  CHECK_EQ_INT(q->status, 503);
  CHECK(res_header(q, "Location") == NULL);
  vz_req_free(q);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);

  /* a handler that leaves its savepoint open: 500, nothing kept, nothing left open */
  vz_hook.audit = audit_hook;
  q = run(db, &r_audit_open, NULL, NULL, 7);
  CHECK_EQ_INT(q->status, 500);
  vz_req_free(q);
  CHECK_EQ_INT(db_tx_depth(db), 0);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM audit_log"), 1);
  vz_hook = saved;
  vz_log_level = level;
}
TEST(tx_audit_row_commits_with_the_change) { dbt_each(vz_failed, audit_body); }

/* A request transaction that lost to another writer runs again, from scratch: once it
 * succeeds there is one row, one audit row and one copy of its headers; past 3 runs the
 * 503 (with Retry-After) stands and nothing is kept. */
static void busy_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(setup(db), 0);
  vz_hooks saved = vz_hook;
  vz_hook.audit = audit_hook;
  runs = 0;
  busy_left = 2;
  long long reruns = vz_tx_busy_reruns();
  vz_req *q = run(db, &r_audit_busy, NULL, NULL, 9);
  CHECK_EQ_INT(q->status, 201);
  CHECK_EQ_INT(runs, 3);
  CHECK_EQ_INT((int)(vz_tx_busy_reruns() - reruns), 2); /* counted for /metrics */
  int xrun = 0;
  for (int i = 0; i < q->nres_headers; i++) xrun += !strcmp(q->res_headers[i].name, "X-Run");
  CHECK_EQ_INT(xrun, 1);
  vz_req_free(q);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM audit_log WHERE actor_id = 9"), 1);
  runs = 0;
  busy_left = 5;
  q = run(db, &r_audit_busy, NULL, NULL, 9);
  CHECK_EQ_INT(q->status, 503);
  CHECK_EQ_INT(runs, 3);
  CHECK(res_header(q, "Retry-After") != NULL);
  vz_req_free(q);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  busy_left = 0;
  vz_hook = saved;
}
TEST(tx_busy_request_transaction_runs_again) { dbt_each(vz_failed, busy_body); }

static void idem_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(setup(db), 0);
  int level = vz_log_level;
  vz_log_level = VZ_LOG_ERROR;
  runs = 0;

  vz_req *a = run(db, &r_idem, "{\"name\":\"first\",\"n\":1}", "key-1", 7);
  CHECK_EQ_INT(a->status, 201);
  CHECK(res_header(a, "Idempotent-Replayed") == NULL);
  /* the same object with other spacing and key order is the same request */
  vz_req *b = run(db, &r_idem, "{ \"n\": 1, \"name\": \"first\" }", "key-1", 7);
  CHECK_EQ_INT(b->status, 201);
  CHECK_EQ_INT(runs, 1);
  CHECK_EQ_STR(res_header(b, "Idempotent-Replayed"), "true");
  CHECK_EQ_STR(res_header(b, "Location"), res_header(a, "Location"));
  CHECK_EQ_STR(b->res_type, "application/json");
  CHECK(a->res_len == b->res_len && memcmp(a->res_body, b->res_body, a->res_len) == 0);
  vz_req_free(b);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);

  /* another body under the key: 422, nothing run */
  b = run(db, &r_idem, "{\"name\":\"second\",\"n\":1}", "key-1", 7);
  CHECK_EQ_INT(b->status, 422);
  CHECK(strstr(b->res_body, "\"code\":\"idempotency_key_reused\""));
  CHECK(strstr(b->res_body, "\"field\":\"Idempotency-Key\""));
  vz_req_free(b);
  CHECK_EQ_INT(runs, 1);

  /* the scope is (user, route, key): another user or route with the same key runs */
  vz_req_free(run(db, &r_idem, "{\"name\":\"first\",\"n\":1}", "key-1", 8));
  vz_req_free(run(db, &r_idem2, "{\"name\":\"first\",\"n\":1}", "key-1", 7));
  CHECK_EQ_INT(runs, 3);
  /* no key: runs every time */
  vz_req_free(run(db, &r_idem, "{\"name\":\"first\",\"n\":1}", NULL, 7));
  CHECK_EQ_INT(runs, 4);

  /* an error is rolled back and not stored: the retry runs again */
  vz_req_free(run(db, &r_idem_fail, "{}", "key-2", 7));
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'key-2'"), 0);
  vz_req_free(run(db, &r_idem_fail, "{}", "key-2", 7));
  CHECK_EQ_INT(runs, 6);

  /* expired: as if never used (the new request is stored under the key instead) */
  CHECK_EQ_INT(db_run(db, NULL, "UPDATE idempotency_keys SET created_at = created_at - $1", "i", VZ_IDEM_TTL_MS), DB_DONE);
  b = run(db, &r_idem, "{\"name\":\"later\"}", "key-1", 7);
  CHECK_EQ_INT(b->status, 201);
  CHECK(res_header(b, "Idempotent-Replayed") == NULL);
  vz_req_free(b);
  CHECK_EQ_INT(runs, 7);
  b = run(db, &r_idem, "{\"name\":\"later\"}", "key-1", 7);
  CHECK_EQ_STR(res_header(b, "Idempotent-Replayed"), "true");
  vz_req_free(b);
  CHECK_EQ_INT(runs, 7);

  /* a deleted account's answers go with it, expired or not */
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys WHERE user_id = 8"), 1);
  CHECK_EQ_INT(vz_idem_forget_user(db, 8), 0);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys WHERE user_id = 8"), 0);
  vz_req_free(run(db, &r_idem, "{\"name\":\"first\",\"n\":1}", "key-1", 8)); /* 8 again, fresh */
  CHECK_EQ_INT(runs, 8);
  CHECK_EQ_INT(db_run(db, NULL, "UPDATE idempotency_keys SET created_at = created_at - $1 WHERE user_id = 8", "i",
                      VZ_IDEM_TTL_MS), DB_DONE);

  /* the sweep deletes what expired (the other user's and route's records, aged above)
   * and keeps the rest (key-1, stored again just now) */
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys"), 3);
  CHECK_EQ_INT(vz_idem_delete_expired(db, db_now_ms()) >= 0, 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'key-1' AND user_id = 7"), 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys"), 1);
  CHECK_EQ_INT(vz_idem_delete_expired(db, db_now_ms() + VZ_IDEM_TTL_MS + 1) >= 0, 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM idempotency_keys"), 0);
  vz_req_free(a);
  vz_log_level = level;
}
TEST(idempotency_key_replays_once_stored) { dbt_each(vz_failed, idem_body); }

typedef struct dup_req { const char *url; int status; int replayed; } dup_req;

static void *second_request(void *arg) {
  dup_req *d = arg;
  vz_db *db2;
  char err[256];
  if (db_open(d->url, &db2, err, sizeof err) < 0) return NULL;
  usleep(100 * 1000); /* the first is inside its handler by now */
  vz_req *q = run(db2, &r_idem_slow, "{\"name\":\"dup\"}", "key-dup", 7);
  d->status = q->status;
  d->replayed = res_header(q, "Idempotent-Replayed") != NULL;
  vz_req_free(q);
  db_close(db2);
  return NULL;
}

static void concurrent_body(vz_db *db, const char *url, int *vz_failed) {
  CHECK_EQ_INT(setup(db), 0);
  int level = vz_log_level;
  vz_log_level = VZ_LOG_ERROR;
  runs = 0;
  dup_req d = { url, 0, 0 };
  pthread_t t;
  CHECK_EQ_INT(pthread_create(&t, NULL, second_request, &d), 0);
  vz_req *q = run(db, &r_idem_slow, "{\"name\":\"dup\"}", "key-dup", 7);
  pthread_join(t, NULL);
  CHECK_EQ_INT(q->status, 201);
  vz_req_free(q);
  CHECK_EQ_INT(d.status, 201); /* it waited for the first and got its answer */
  CHECK_EQ_INT(d.replayed, 1);
  CHECK_EQ_INT(runs, 1);
  CHECK_EQ_INT(count(db, "SELECT count(*) FROM things"), 1);
  vz_log_level = level;
}
TEST(idempotency_duplicate_in_flight_waits_and_replays) { dbt_each(vz_failed, concurrent_body); }

TEST(idempotency_key_header_is_checked) {
  static vz_route r = VZ_POST("/v1/things", h_create, .flags = VZ_AUTH | VZ_IDEMPOTENT);
  char long_key[300];
  memset(long_key, 'k', sizeof long_key);
  long_key[255] = 0;
  struct { const char *key; int uid, want; } cases[] = {
    { NULL, 7, 0 }, { "a", 7, 0 }, { "8e03978e-40d5-43e8-bc93-6894a57f9324", 7, 0 }, { long_key, 7, 0 },
    { "", 7, 400 }, { "tab\there", 7, 400 }, { "caf\xc3\xa9", 7, 400 }, { "ok", 0, 400 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vz_req *q = mk(NULL, &r, NULL, cases[i].key, cases[i].uid);
    CHECK_EQ_INT(vz_idem_check_or_fail(q), cases[i].want);
    if (cases[i].want) CHECK(strstr(q->res_body, "\"field\":\"Idempotency-Key\""));
    vz_req_free(q);
  }
  long_key[255] = 'k';
  long_key[256] = 0;
  vz_req *q = mk(NULL, &r, NULL, long_key, 7);
  CHECK_EQ_INT(vz_idem_check_or_fail(q), 400);
  vz_req_free(q);
  q = mk(NULL, &r, NULL, "one", 7);
  q->headers[q->nheaders++] = (vz_header){ "idempotency-key", "two" };
  CHECK_EQ_INT(vz_idem_check_or_fail(q), 400);
  vz_req_free(q);
}

TEST(idempotency_request_hash_is_canonical) {
  static vz_route r = VZ_POST("/v1/things", h_create, .flags = VZ_AUTH | VZ_IDEMPOTENT);
  char h1[65], h2[65];
  vz_req *a = mk(NULL, &r, "{\"b\":1,\"a\":{\"y\":[1,2],\"x\":\"\\u00e9\"}}", "k", 7);
  vz_req *b = mk(NULL, &r, "{ \"a\" : { \"x\" : \"\xc3\xa9\", \"y\" : [1, 2] }, \"b\" : 1 }", "k", 7);
  CHECK_EQ_INT(vz_idem_request_hash(a, h1), 0);
  CHECK_EQ_INT(vz_idem_request_hash(b, h2), 0);
  CHECK_EQ_INT(strlen(h1), 64);
  CHECK_EQ_STR(h1, h2);
  b->query = "fields=id";
  CHECK_EQ_INT(vz_idem_request_hash(b, h2), 0);
  CHECK(strcmp(h1, h2) != 0);
  b->query = "";
  b->path = "/v1/things/2";
  CHECK_EQ_INT(vz_idem_request_hash(b, h2), 0);
  CHECK(strcmp(h1, h2) != 0);
  vz_req_free(a);
  vz_req_free(b);
}
