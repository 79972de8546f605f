/* sandbox.c: the `sandbox` payment provider, the default (what `make run` uses). It
 * behaves like a remote processor without a network: it keeps its own books
 * (sandbox_payments, sandbox_ops) on its own database connection, as a processor keeps
 * its own, so its answers survive a restart of ours (the crash drill) and it never writes
 * inside our transactions; every call is idempotent by the caller's key. A payment is
 * settled by POST /v1/sandbox/payments/:id/settle {"outcome":"succeed"|"fail"}, which produces a
 * webhook delivery signed like Stripe's (Sandbox-Signature: t=<unix s>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>) and feeds it through the same verify-and-apply path
 * as POST /v1/payments/webhooks/sandbox; the reply carries the delivery, so a client (or a
 * test) can replay it there and see it applied once.
 *
 * Outbound failure is simulated with the fault injector's `call` kind (debug builds): the
 * next call answers PAY_EUNAVAILABLE, as an open breaker would. */
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config.h"
#include "core/fault.h"
#include "core/log.h"
#include "services/payments/internal.h"

static pthread_mutex_t sb_lock = PTHREAD_MUTEX_INITIALIZER;
static vz_db *sb_db;

int sandbox_start(void) {
  char err[160];
  if (db_open(vz_cfg.db_url, &sb_db, err, sizeof err) < 0) {
    vz_log_error("sandbox provider: could not open its database connection", "error", err);
    return -1;
  }
  return 0;
}

void sandbox_stop(void) {
  if (sb_db) db_close(sb_db);
  sb_db = NULL;
}

static int sb_ready(void) { return 1; }

/* The fault injector's `call` event: the processor cannot be reached. */
static int unreachable(pay_err *e) {
  if (!vz_fault_hit(VZ_FAULT_CALL)) return 0;
  snprintf(e->message, sizeof e->message, "sandbox processor unreachable (injected)");
  e->retry_after_s = 5;
  return 1;
}

static int db_fail(pay_err *e) {
  snprintf(e->message, sizeof e->message, "sandbox processor storage error");
  e->retry_after_s = 1;
  return PAY_EUNAVAILABLE;
}

/* The result id stored under key, into out; 1 found, 0 not, <0. Lock held. */
static int op_get(const char *key, char *out, size_t n) {
  vz_stmt *st = NULL;
  int rc = db_run(sb_db, &st, "SELECT result_id FROM sandbox_ops WHERE idem_key = $1", "s", key);
  if (rc == DB_ROW) snprintf(out, n, "%s", db_col_text(st, 0));
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

static int op_put(const char *key, const char *id) {
  int rc = db_run(sb_db, NULL, "INSERT INTO sandbox_ops (idem_key, result_id, created_at) VALUES ($1, $2, $3)", "ssi", key, id,
                  db_now_ms());
  return rc < 0 ? rc : 0;
}

/* Ends the sandbox's own transaction: commit when rc says so, and roll back on any
 * failure, a failed COMMIT included (db.h: it leaves the transaction open, which would
 * keep SQLite's write lock for every later writer). Lock held. */
static int sb_end(int rc) {
  if (rc >= 0 && (rc = db_commit(sb_db)) >= 0) return rc;
  db_rollback(sb_db);
  return rc;
}

static pay_status status_of(const char *s) {
  if (!strcmp(s, "succeeded")) return PAY_ST_SUCCEEDED;
  if (!strcmp(s, "failed")) return PAY_ST_FAILED;
  return PAY_ST_PENDING;
}

static int sb_create(const pay_create_req *in, pay_create_res *out, pay_err *e) {
  memset(out, 0, sizeof *out);
  if (unreachable(e)) return PAY_EUNAVAILABLE;
  if (in->amount <= 0 || !in->idempotency_key || !in->payment_ref) {
    snprintf(e->message, sizeof e->message, "amount must be positive; key and reference are required");
    return PAY_EINVAL;
  }
  pthread_mutex_lock(&sb_lock);
  char id[PAY_ID_MAX];
  int rc = op_get(in->idempotency_key, id, sizeof id);
  if (rc == 0) {
    snprintf(id, sizeof id, "sbx_pi_%s", in->payment_ref);
    rc = db_begin(sb_db);
    if (rc >= 0) rc = db_run(sb_db, NULL, "INSERT INTO sandbox_payments (provider_payment_id, payment_ref, amount, currency,"
                             " status, created_at) VALUES ($1, $2, $3, $4, 'pending', $5)", "ssisi", id, in->payment_ref,
                             in->amount, in->currency, db_now_ms());
    if (rc >= 0) rc = op_put(in->idempotency_key, id);
    rc = sb_end(rc);
  }
  pthread_mutex_unlock(&sb_lock);
  if (rc < 0) return db_fail(e);
  snprintf(out->provider_payment_id, sizeof out->provider_payment_id, "%s", id);
  snprintf(out->client_secret, sizeof out->client_secret, "%s_secret_sandbox", id);
  out->status = PAY_ST_PENDING;
  return PAY_OK;
}

static int sb_lookup(const char *pid, pay_lookup_res *out, pay_err *e) {
  memset(out, 0, sizeof *out);
  if (unreachable(e)) return PAY_EUNAVAILABLE;
  pthread_mutex_lock(&sb_lock);
  vz_stmt *st = NULL;
  int rc = db_run(sb_db, &st, "SELECT payment_ref, amount, currency, status, refunded FROM sandbox_payments"
                  " WHERE provider_payment_id = $1", "s", pid);
  if (rc == DB_ROW) {
    snprintf(out->payment_ref, sizeof out->payment_ref, "%s", db_col_text(st, 0));
    out->amount = db_col_int(st, 1);
    snprintf(out->currency, sizeof out->currency, "%s", db_col_text(st, 2));
    out->status = status_of(db_col_text(st, 3));
    out->amount_captured = out->status == PAY_ST_SUCCEEDED ? out->amount : 0;
    out->amount_refunded = db_col_int(st, 4);
    snprintf(out->provider_charge_id, sizeof out->provider_charge_id, "%s", pid);
  }
  db_finalize(st);
  pthread_mutex_unlock(&sb_lock);
  if (rc < 0) return db_fail(e);
  return rc == DB_ROW ? PAY_OK : PAY_ENOTFOUND;
}

static int sb_refund(const pay_refund_req *in, pay_refund_res *out, pay_err *e) {
  memset(out, 0, sizeof *out);
  if (unreachable(e)) return PAY_EUNAVAILABLE;
  pthread_mutex_lock(&sb_lock);
  char id[PAY_ID_MAX];
  int rc = op_get(in->idempotency_key, id, sizeof id), refused = 0;
  if (rc == 0) {
    snprintf(id, sizeof id, "sbx_re_%s", in->refund_ref ? in->refund_ref : in->idempotency_key);
    rc = db_begin(sb_db);
    vz_stmt *st = NULL;
    if (rc >= 0) rc = db_run(sb_db, &st, "UPDATE sandbox_payments SET refunded = refunded + $2 WHERE provider_payment_id = $1"
                             " AND status = 'succeeded' AND refunded + $2 <= amount", "si", in->provider_payment_id, in->amount);
    refused = rc >= 0 && db_changes(st) == 0;
    db_finalize(st);
    if (rc >= 0 && !refused) rc = op_put(in->idempotency_key, id);
    rc = refused ? (db_rollback(sb_db), rc) : sb_end(rc);
  }
  pthread_mutex_unlock(&sb_lock);
  if (rc < 0) return db_fail(e);
  if (refused) {
    snprintf(e->message, sizeof e->message, "nothing left to refund on that payment");
    return PAY_EINVAL;
  }
  snprintf(out->provider_refund_id, sizeof out->provider_refund_id, "%s", id);
  out->status = PAY_ST_SUCCEEDED;
  return PAY_OK;
}

static int sb_payout(const pay_payout_req *in, pay_payout_res *out, pay_err *e) {
  memset(out, 0, sizeof *out);
  if (unreachable(e)) return PAY_EUNAVAILABLE;
  pthread_mutex_lock(&sb_lock);
  char id[PAY_ID_MAX];
  int rc = op_get(in->idempotency_key, id, sizeof id);
  if (rc == 0) {
    snprintf(id, sizeof id, "sbx_po_%s", in->payout_ref ? in->payout_ref : in->idempotency_key);
    rc = op_put(in->idempotency_key, id);
  }
  pthread_mutex_unlock(&sb_lock);
  if (rc < 0) return db_fail(e);
  snprintf(out->provider_payout_id, sizeof out->provider_payout_id, "%s", id);
  out->status = PAY_ST_SUCCEEDED;
  return PAY_OK;
}

/* ---- webhook signature ------------------------------------------------------------------ */

static void sign(const char *t, const char *body, size_t len, char hex[65]) {
  unsigned char mac[32];
  unsigned int ml = 0;
  /* "<t>.<body>" without copying the body: HMAC over the two parts in turn */
  EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
  OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end() };
  size_t outl = 0;
  if (c && EVP_MAC_init(c, (const unsigned char *)pay_sandbox_secret, strlen(pay_sandbox_secret), p) &&
      EVP_MAC_update(c, (const unsigned char *)t, strlen(t)) && EVP_MAC_update(c, (const unsigned char *)".", 1) &&
      EVP_MAC_update(c, (const unsigned char *)body, len) && EVP_MAC_final(c, mac, &outl, sizeof mac))
    ml = (unsigned int)outl;
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", i < ml ? mac[i] : 0);
  hex[64] = 0;
}

int sandbox_sign_header(const char *body, size_t len, int64_t now_ms, char *out, size_t n) {
  char t[24], hex[65];
  snprintf(t, sizeof t, "%lld", (long long)(now_ms / 1000));
  sign(t, body, len, hex);
  int k = snprintf(out, n, "t=%s,v1=%s", t, hex);
  return k < 0 || (size_t)k >= n ? -1 : 0;
}

static const char *header(const vz_header *h, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcasecmp(h[i].name, name)) return h[i].value;
  return NULL;
}

static int sb_webhook(const vz_header *h, int nh, const char *body, size_t len, int64_t now_ms, pay_event *ev, pay_err *e) {
  memset(ev, 0, sizeof *ev);
  const char *sig = header(h, nh, "Sandbox-Signature");
  char t[24] = "", v1[65] = "";
  /* t=<digits>,v1=<64 hex> in that order, nothing else */
  if (!sig || sscanf(sig, "t=%20[0-9],v1=%64[0-9a-f]", t, v1) != 2 || strlen(v1) != 64) {
    snprintf(e->message, sizeof e->message, "missing or malformed Sandbox-Signature");
    return PAY_ESIGNATURE;
  }
  long long ts = strtoll(t, NULL, 10);
  if (llabs(now_ms / 1000 - ts) > 300) {
    snprintf(e->message, sizeof e->message, "signature timestamp outside the 300 s tolerance");
    return PAY_ESIGNATURE;
  }
  char want[65];
  sign(t, body, len, want);
  if (CRYPTO_memcmp(want, v1, 64) != 0) { /* constant time */
    snprintf(e->message, sizeof e->message, "signature does not match");
    return PAY_ESIGNATURE;
  }
  json_error_t jerr;
  json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  const char *id = json_string_value(json_object_get(j, "id")), *type = json_string_value(json_object_get(j, "type"));
  json_t *d = json_object_get(j, "data");
  const char *pid = json_string_value(json_object_get(d, "payment_id")), *ref = json_string_value(json_object_get(d, "payment_ref"));
  const char *cur = json_string_value(json_object_get(d, "currency"));
  json_t *amt = json_object_get(d, "amount");
  int rc = PAY_OK;
  if (!id || !type || !pid || !cur || strlen(cur) != 3 || !json_is_integer(amt) || json_integer_value(amt) < 0 ||
      strlen(id) >= PAY_ID_MAX || strlen(pid) >= PAY_ID_MAX) {
    snprintf(e->message, sizeof e->message, "event is missing id, type or payment data");
    rc = PAY_EINVAL;
  } else {
    snprintf(ev->event_id, sizeof ev->event_id, "%s", id);
    snprintf(ev->provider_payment_id, sizeof ev->provider_payment_id, "%s", pid);
    snprintf(ev->provider_charge_id, sizeof ev->provider_charge_id, "%s", pid);
    snprintf(ev->payment_ref, sizeof ev->payment_ref, "%s", ref ? ref : "");
    snprintf(ev->currency, sizeof ev->currency, "%s", cur);
    ev->amount = json_integer_value(amt);
    ev->created_ms = json_integer_value(json_object_get(j, "created"));
    if (!strcmp(type, "payment.succeeded")) ev->type = PAY_EV_SUCCEEDED;
    else if (!strcmp(type, "payment.failed")) ev->type = PAY_EV_FAILED;
    else rc = PAY_EIGNORED;
  }
  json_decref(j);
  return rc;
}

const pay_provider pay_sandbox_provider = {
  .name = "sandbox", .ready = sb_ready, .create = sb_create, .refund = sb_refund, .lookup = sb_lookup,
  .webhook = sb_webhook, .payout = sb_payout,
};

/* ---- POST /v1/sandbox/payments/:id/settle -------------------------------------------------------- */

int sandbox_h_settle(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  const char *outcome = json_string_value(json_object_get(req->json, "outcome"));
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT buyer_id, provider, provider_payment_id, status, amount, currency FROM payments"
                  " WHERE id = $1", "i", id);
  int mine = rc == DB_ROW && (db_col_int(st, 0) == req->user_id || req->role == VZ_R_ADMIN);
  char provider[32] = "", pid[PAY_ID_MAX] = "", status[20] = "", cur[4] = "";
  int64_t amount = 0;
  if (mine) {
    snprintf(provider, sizeof provider, "%s", db_col_text(st, 1));
    snprintf(pid, sizeof pid, "%s", db_col_is_null(st, 2) ? "" : db_col_text(st, 2));
    snprintf(status, sizeof status, "%s", db_col_text(st, 3));
    amount = db_col_int(st, 4);
    snprintf(cur, sizeof cur, "%s", db_col_text(st, 5));
  }
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!mine) return vz_fail(req, 404, "not_found", "id", "no such payment");
  if (strcmp(provider, "sandbox")) return vz_fail(req, 409, "invalid_state", "provider", "only sandbox payments settle here");
  if (strcmp(status, "pending") || !pid[0])
    return vz_fail(req, 409, "invalid_state", "status", "the payment is %s, not pending", status);
  int ok = !strcmp(outcome, "succeed");
  /* 1. the processor's side: its books say succeeded / failed */
  pthread_mutex_lock(&sb_lock);
  rc = db_run(sb_db, &st, "UPDATE sandbox_payments SET status = $2 WHERE provider_payment_id = $1 AND status = 'pending'", "ss",
              pid, ok ? "succeeded" : "failed");
  db_finalize(st);
  pthread_mutex_unlock(&sb_lock);
  if (rc < 0) return vz_fail(req, 503, "unavailable", NULL, "sandbox processor storage error");
#ifdef VZ_DEBUG
  /* The crash drill (tests/e2e/payments): die here, after the processor's success and
   * before our commit, as kill -9 would; reconciliation must apply it after a restart. */
  const char *crash = getenv("VIDZO_CRASH_AT");
  if (crash && !strcmp(crash, "sandbox_settled")) _exit(137);
#endif
  /* 2. the delivery the processor would POST to us */
  char evid[48], sig[100];
  unsigned char rnd[8];
  FILE *ur = fopen("/dev/urandom", "rb");
  size_t got = ur ? fread(rnd, 1, sizeof rnd, ur) : 0;
  if (ur) fclose(ur);
  if (got != sizeof rnd) return vz_fail(req, 503, "unavailable", NULL, "no randomness");
  snprintf(evid, sizeof evid, "evt_sbx_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  int64_t now = db_now_ms();
  json_t *evj = json_pack("{s:s,s:s,s:I,s:{s:s,s:s,s:I,s:s}}", "id", evid, "type", ok ? "payment.succeeded" : "payment.failed",
                          "created", (json_int_t)now, "data", "payment_id", pid, "payment_ref",
                          vz_arena_printf(req->arena, "%lld", (long long)id), "amount", (json_int_t)amount, "currency", cur);
  char *body = evj ? json_dumps(evj, JSON_COMPACT) : NULL;
  json_decref(evj);
  if (!body) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  sandbox_sign_header(body, strlen(body), now, sig, sizeof sig);
  /* 3. through the webhook path: verify, parse, apply once */
  vz_header hs[1] = { { "Sandbox-Signature", sig } };
  pay_event ev;
  pay_err e = { 0 };
  rc = pay_sandbox_provider.webhook(hs, 1, body, strlen(body), now, &ev, &e);
  int dup = 0;
  if (rc == PAY_OK) rc = pay_event_apply(req->db, "sandbox", &ev, ok ? "payment.succeeded" : "payment.failed", &dup);
  json_t *delivery = json_pack("{s:s,s:s}", "body", body, "signature", sig);
  free(body);
  if (rc < 0) { json_decref(delivery); return vz_fail_db(req, rc); }
  rc = db_run(req->db, &st, "SELECT status FROM payments WHERE id = $1", "i", id);
  json_t *o = json_pack("{s:o,s:s,s:o}", "id", vz_json_id(id), "status", rc == DB_ROW ? db_col_text(st, 0) : status, "delivery",
                        delivery);
  db_finalize(st);
  return vz_reply_item(req, 200, o);
}
