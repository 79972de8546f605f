/* payouts.c: paying sellers what the ledger says they are owed. A run (the scheduled job
 * every --payout-interval-seconds, or POST /v1/admin/payouts/run) looks at each seller's
 * balance per currency; a seller is paid when the balance reaches --payout-minimum, a
 * payout account is set, and nothing may still take money back (no pending refund, no open
 * refund request: the hold). The payout row and its ledger transaction (seller_payable
 * debited, cash credited) commit first; then the provider is called with the key
 * "vidzo-payout-<id>", so a run that dies in between is finished by the next with the same
 * key. At most one pending payout per seller and currency (partial unique index). A
 * refused payout books the reversal, and the money is owed again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "services/payments/internal.h"

int payout_settled(vz_db *db, int64_t payout_id, const char *provider_payout_id, int ok, const char *why) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE payouts SET status = $2, provider_payout_id = coalesce($3, provider_payout_id),"
                  " failure = $4, updated_at = $5 WHERE id = $1 AND status = 'pending' RETURNING seller_id, amount, currency",
                  "isssi", payout_id, ok ? "paid" : "failed", provider_payout_id && *provider_payout_id ? provider_payout_id : NULL,
                  ok ? NULL : why, db_now_ms());
  int64_t seller = rc == DB_ROW ? db_col_int(st, 0) : 0, amt = rc == DB_ROW ? db_col_int(st, 1) : 0;
  char cur[4] = "";
  if (rc == DB_ROW) snprintf(cur, sizeof cur, "%s", db_col_text(st, 2));
  db_finalize(st);
  if (rc < 0 || !seller || ok) return rc < 0 ? rc : 0;
  char key[48];
  snprintf(key, sizeof key, "payout_reversal:%lld", (long long)payout_id);
  ledger_line l[] = { { "seller_payable", seller, 0, -amt }, { "cash", 0, 0, amt } };
  rc = ledger_book(db, key, "payout_reversal", cur, l, 2);
  vz_log_warn("payout refused by the provider; the balance is owed again", "reason", why ? why : "");
  return rc < 0 ? rc : 0;
}

typedef struct po_ctx {
  int64_t seller, id, amount;
  char cur[4], provider[32], dest[128], ppid_buf[PAY_ID_MAX];
  int made;
  /* settle */
  const char *ppid, *why;
  int ok, pending;
} po_ctx;

/* Creates the payout for one seller and currency when everything allows it. */
static int create_tx(vz_db *db, void *ctx) {
  po_ctx *c = ctx;
  c->made = 0;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT (SELECT count(*) FROM refunds WHERE seller_id = $1 AND status = 'pending')"
                  " + (SELECT count(*) FROM orders WHERE seller_id = $1 AND status = 'refund_requested')"
                  " + (SELECT count(*) FROM payouts WHERE seller_id = $1 AND currency = $2 AND status = 'pending')", "is", c->seller, c->cur);
  int64_t holds = rc == DB_ROW ? db_col_int(st, 0) : 1;
  db_finalize(st);
  if (rc < 0 || holds) return rc < 0 ? rc : 0;
  rc = db_run(db, &st, "SELECT provider, destination FROM payout_accounts WHERE seller_id = $1", "i", c->seller);
  if (rc == DB_ROW) {
    snprintf(c->provider, sizeof c->provider, "%s", db_col_text(st, 0));
    snprintf(c->dest, sizeof c->dest, "%s", db_col_text(st, 1));
  }
  db_finalize(st);
  if (rc != DB_ROW) return rc < 0 ? rc : 0;
  if ((rc = ledger_seller_balance(db, c->seller, c->cur, &c->amount)) < 0) return rc;
  if (c->amount < pay_payout_minimum || c->amount <= 0) return 0;
  c->id = db_id_new();
  int64_t now = db_now_ms();
  rc = db_run(db, NULL, "INSERT INTO payouts (id, seller_id, amount, currency, status, provider, destination, created_at, updated_at)"
              " VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)", "iiisssi", c->id, c->seller, c->amount, c->cur, c->provider,
              c->dest, now);
  if (rc < 0) return rc;
  char key[48];
  snprintf(key, sizeof key, "payout:%lld", (long long)c->id);
  ledger_line l[] = { { "seller_payable", c->seller, 0, c->amount }, { "cash", 0, 0, -c->amount } };
  if ((rc = ledger_book(db, key, "payout", c->cur, l, 2)) < 0) return rc;
  c->made = 1;
  return 0;
}

static int settle_tx(vz_db *db, void *ctx) {
  po_ctx *c = ctx;
  if (c->pending)
    return db_run(db, NULL, "UPDATE payouts SET provider_payout_id = $2 WHERE id = $1", "is", c->id, c->ppid) < 0 ? DB_ERROR : 0;
  return payout_settled(db, c->id, c->ppid, c->ok, c->why);
}

/* Calls the provider for a pending payout (new, or left by a run that stopped). */
static void send(vz_db *db, po_ctx *c) {
  const pay_provider *p = pay_provider_find(c->provider);
  if (!p || !p->payout || !p->ready()) return;
  char key[48], ref[24];
  snprintf(key, sizeof key, "vidzo-payout-%lld", (long long)c->id);
  snprintf(ref, sizeof ref, "%lld", (long long)c->id);
  pay_payout_req in = { .destination = c->dest, .amount = c->amount, .currency = c->cur, .idempotency_key = key, .payout_ref = ref };
  pay_payout_res res;
  pay_err e = { 0 };
  int rc = p->payout(&in, &res, &e);
  snprintf(c->ppid_buf, sizeof c->ppid_buf, "%s", res.provider_payout_id);
  c->ppid = c->ppid_buf;
  if (rc == PAY_OK) {
    c->ok = res.status == PAY_ST_SUCCEEDED, c->pending = res.status == PAY_ST_PENDING, c->why = "provider reported failure";
  } else if (rc == PAY_EINVAL || rc == PAY_ECONFIG) {
    c->ok = 0, c->pending = 0, c->why = e.message;
  } else {
    return; /* unknown or unavailable: the next run asks again with the same key */
  }
  if (db_tx(db, settle_tx, c) < 0) vz_log_warn("payout settled at the provider but not stored; the next run finishes it");
}

int payout_run(vz_db *db, int *made) {
  *made = 0;
  /* first the pending ones a previous run left */
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT id, seller_id, amount, currency, provider, destination FROM payouts WHERE status = 'pending'"
                  " ORDER BY id LIMIT 100", "");
  po_ctx *todo = calloc(100, sizeof *todo);
  int n = 0;
  while (todo && rc == DB_ROW && n < 100) {
    po_ctx *c = &todo[n++];
    c->id = db_col_int(st, 0), c->seller = db_col_int(st, 1), c->amount = db_col_int(st, 2);
    snprintf(c->cur, sizeof c->cur, "%s", db_col_text(st, 3));
    snprintf(c->provider, sizeof c->provider, "%s", db_col_text(st, 4));
    snprintf(c->dest, sizeof c->dest, "%s", db_col_text(st, 5));
    rc = db_step(st);
  }
  db_finalize(st);
  if (!todo) return DB_ERROR;
  for (int i = 0; i < n; i++) send(db, &todo[i]);
  /* then every balance that reached the minimum */
  n = 0;
  rc = db_run(db, &st, "SELECT seller_id, currency FROM ledger_entries WHERE account = 'seller_payable' GROUP BY seller_id, currency"
              " HAVING -sum(amount) >= $1 ORDER BY seller_id LIMIT 100", "i", (int64_t)(pay_payout_minimum > 0 ? pay_payout_minimum : 1));
  while (rc == DB_ROW && n < 100) {
    memset(&todo[n], 0, sizeof todo[n]);
    todo[n].seller = db_col_int(st, 0);
    snprintf(todo[n].cur, sizeof todo[n].cur, "%s", db_col_text(st, 1));
    n++;
    rc = db_step(st);
  }
  db_finalize(st);
  for (int i = 0; rc >= 0 && i < n; i++) {
    int r = db_tx(db, create_tx, &todo[i]);
    if (r < 0) { rc = r; break; }
    if (todo[i].made) (*made)++, send(db, &todo[i]);
  }
  free(todo);
  return rc < 0 ? rc : 0;
}

int payout_h_run(vz_req *req) {
  int made = 0;
  int rc = payout_run(req->db, &made);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 200, json_pack("{s:i}", "created", made));
}

int payout_job_run(vz_db *db, const jobs_job *job, char *err, size_t errlen) {
  (void)job;
  int made = 0;
  int rc = payout_run(db, &made);
  char key[48];
  int64_t slot = db_now_ms() / 1000 / pay_payout_interval + 1;
  snprintf(key, sizeof key, "payouts-%lld", (long long)slot);
  jobs_enqueue(db, "payments.payouts", "{}", slot * pay_payout_interval * 1000, key, NULL);
  if (rc < 0) { snprintf(err, errlen, "db error %d", rc); return -1; }
  return 0;
}

int payout_h_account(vz_req *req) {
  const char *prov = json_string_value(json_object_get(req->json, "provider"));
  const char *dest = json_string_value(json_object_get(req->json, "destination"));
  const pay_provider *p = pay_provider_find(prov);
  if (!p || !p->payout) return vz_fail(req, 400, "invalid_argument", "provider", "that provider makes no payouts");
  int rc = db_run(req->db, NULL, "INSERT INTO payout_accounts (seller_id, provider, destination, updated_at) VALUES ($1, $2, $3, $4)"
                  " ON CONFLICT (seller_id) DO UPDATE SET provider = excluded.provider, destination = excluded.destination,"
                  " updated_at = excluded.updated_at", "issi", req->user_id, prov, dest, db_now_ms());
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 200, json_pack("{s:s,s:s}", "provider", prov, "destination", dest));
}

static const vz_col payout_cols[] = {
  { "id", "id", VZ_COL_ID }, { "amount", "amount", VZ_COL_INT }, { "currency", "currency", VZ_COL_TEXT },
  { "status", "status", VZ_COL_TEXT }, { "provider", "provider", VZ_COL_TEXT },
  { "provider_payout_id", "provider_payout_id", VZ_COL_TEXT | VZ_COL_NULL }, { "failure", "failure", VZ_COL_TEXT | VZ_COL_NULL },
  { "created_at", "created_at", VZ_COL_TIME }, { "updated_at", "updated_at", VZ_COL_TIME }, { 0 },
};

int payout_h_list(vz_req *req) {
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return req->status;
  const char *sql = vz_arena_printf(req->arena, "SELECT %s FROM payouts WHERE seller_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                                    vz_cols_select(req->arena, payout_cols));
  vz_stmt *st = NULL;
  int rc = sql ? db_run(req->db_read, &st, sql, "iii", req->user_id, pg.id, (int64_t)pg.limit + 1) : DB_ERROR;
  while (rc == DB_ROW && vz_page_take(&pg, 0, db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, payout_cols));
    rc = db_step(st);
  }
  db_finalize(st);
  return rc < 0 ? vz_fail_db(req, rc) : vz_page_reply(req, &pg);
}
