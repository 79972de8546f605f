/* integrations/stripe: see stripe.h. Requests are built here, sent by integrations/http
 * (retries, breaker, timeouts), and the answers are copied into fixed structs so callers
 * never hold jansson objects. */
#include "integrations/stripe.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "integrations/http.h"
#include "lib/clock.h"

/* The API version our parsing is written against; an account's default may be newer. */
#define STRIPE_API_VERSION "2024-06-20"
#define STRIPE_HEADER_MAX 4096

static struct {
  int set;
  char secret_key[256];
  char webhook_secret[256];
  char api_base[256];
  int timeout_ms;
} cfg;

int stripe_configure(const stripe_conf *c) {
  memset(&cfg, 0, sizeof cfg);
  if (!c) return -1;
  if (c->secret_key && strlen(c->secret_key) >= sizeof cfg.secret_key) return -1;
  if (c->webhook_secret && strlen(c->webhook_secret) >= sizeof cfg.webhook_secret) return -1;
  snprintf(cfg.secret_key, sizeof cfg.secret_key, "%s", c->secret_key ? c->secret_key : "");
  snprintf(cfg.webhook_secret, sizeof cfg.webhook_secret, "%s", c->webhook_secret ? c->webhook_secret : "");
  const char *base = c->api_base && *c->api_base ? c->api_base : "https://api.stripe.com";
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') bl--; /* "https://x/" and "https://x" alike */
  if (bl == 0 || bl >= sizeof cfg.api_base || !integ_base_url_ok(base, bl)) return -1;
  memcpy(cfg.api_base, base, bl);
  cfg.timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
  cfg.set = 1;
  /* 5 failed attempts in a row open it; a probe after 30 s. */
  return integ_register(&(integ_conf){ .name = "stripe", .failures = 5, .cooldown_ms = 30000 }) < 0 ? -1 : 0;
}

int stripe_configured(void) { return cfg.set && cfg.secret_key[0]; }

/* ---- form encoding ------------------------------------------------------------------ */

static int form_reserve(stripe_form *f, size_t more) {
  if (f->oom) return -1;
  if (f->len + more + 1 <= f->cap) return 0;
  size_t cap = f->cap ? f->cap : 256;
  while (cap < f->len + more + 1) cap *= 2;
  char *nb = realloc(f->buf, cap);
  if (!nb) { f->oom = 1; return -1; }
  f->buf = nb;
  f->cap = cap;
  return 0;
}

static void form_escape(stripe_form *f, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  if (form_reserve(f, n * 3) < 0) return;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      f->buf[f->len++] = (char)*p;
    } else {
      f->buf[f->len++] = '%';
      f->buf[f->len++] = hex[*p >> 4];
      f->buf[f->len++] = hex[*p & 15];
    }
  }
  f->buf[f->len] = 0;
}

void stripe_form_add(stripe_form *f, const char *key, const char *value) {
  if (!key || !value) { f->oom = 1; return; } /* a caller bug: make the form unusable */
  if (f->len && form_reserve(f, 1) == 0) f->buf[f->len++] = '&';
  form_escape(f, key);
  if (form_reserve(f, 1) == 0) f->buf[f->len++] = '=';
  form_escape(f, value);
}

void stripe_form_add_int(stripe_form *f, const char *key, int64_t value) {
  char num[24];
  snprintf(num, sizeof num, "%" PRId64, value);
  stripe_form_add(f, key, num);
}

void stripe_form_free(stripe_form *f) {
  free(f->buf);
  memset(f, 0, sizeof *f);
}

/* ---- helpers ------------------------------------------------------------------------ */

static void set_err(stripe_err *e, int status, const char *msg) {
  if (!e) return;
  memset(e, 0, sizeof *e);
  e->http_status = status;
  snprintf(e->message, sizeof e->message, "%s", msg);
}

/* Stripe ids in a URL path: letters, digits and '_' only, so an id from a webhook or a
 * row can never add a path segment or a query. */
static int id_ok(const char *id) {
  if (!id || !*id || strlen(id) > 90) return 0;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') return 0;
  return 1;
}

/* Our order references (metadata values, search terms): [A-Za-z0-9_-], 1..63. */
static int ref_ok(const char *r) {
  if (!r || !*r || strlen(r) > 63) return 0;
  for (const char *p = r; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') return 0;
  return 1;
}

/* ISO 4217 alpha code, any case, into lower (Stripe's) or upper (ours). */
static int currency_norm(const char *in, char out[4], int upper) {
  if (!in || strlen(in) != 3) return -1;
  for (int i = 0; i < 3; i++) {
    if (!isalpha((unsigned char)in[i])) return -1;
    out[i] = (char)(upper ? toupper((unsigned char)in[i]) : tolower((unsigned char)in[i]));
  }
  out[3] = 0;
  return 0;
}

/* Copies a JSON string into dst; -1 when it is missing/not a string (if required) or
 * would not fit (never a truncated id). */
static int jcopy(char *dst, size_t cap, const json_t *v, int required) {
  dst[0] = 0;
  /* optional: absent or null is "", another type is not Stripe's answer */
  if (!json_is_string(v)) return required || (v && !json_is_null(v)) ? -1 : 0;
  size_t n = json_string_length(v);
  if (n >= cap) return -1;
  memcpy(dst, json_string_value(v), n + 1);
  return 0;
}

static int64_t jint(const json_t *v) { return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0; }

/* One request: method + path (+ form body for POST, or a query for GET). On success
 * *out holds the decoded JSON object. */
static int stripe_call(const char *method, const char *path, const stripe_form *form,
                       const char *idem_key, json_t **out, stripe_err *err) {
  *out = NULL;
  set_err(err, 0, "");
  if (!stripe_configured()) { set_err(err, 0, "stripe is not configured"); return STRIPE_EINVAL; }
  int post = strcmp(method, "POST") == 0;
  if (form && form->oom) { set_err(err, 0, "out of memory"); return STRIPE_EINVAL; }
  /* Every POST carries a key: a retry of a call whose answer was lost is then answered
   * with the first result instead of charging twice. */
  if (post && (!idem_key || !*idem_key || strlen(idem_key) > 255)) {
    set_err(err, 0, "an Idempotency-Key is required");
    return STRIPE_EINVAL;
  }
  size_t qlen = !post && form && form->len ? form->len + 1 : 0;
  size_t ulen = strlen(cfg.api_base) + strlen(path) + qlen + 1;
  char *url = malloc(ulen);
  if (!url) { set_err(err, 0, "out of memory"); return STRIPE_EINVAL; }
  snprintf(url, ulen, "%s%s%s%s", cfg.api_base, path, qlen ? "?" : "", qlen ? form->buf : "");
  char auth[300], idem[300];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg.secret_key);
  snprintf(idem, sizeof idem, "Idempotency-Key: %s", post ? idem_key : "");
  const char *hdrs[] = { auth, "Stripe-Version: " STRIPE_API_VERSION,
                         "Content-Type: application/x-www-form-urlencoded",
                         post ? idem : NULL, NULL };
  integ_response res;
  integ_request rq = { .integration = "stripe", .method = method, .url = url, .headers = hdrs,
                       .body = post && form ? form->buf : NULL,
                       .body_len = post && form ? form->len : 0,
                       .timeout_ms = cfg.timeout_ms, .deadline_ms = cfg.timeout_ms * 3,
                       .max_retries = 2,
                       /* GETs are safe to repeat; a POST is because of its key */
                       .idempotent = 1, .max_response = 1 << 20 };
  int rc = integ_call_sync(&rq, &res);
  sodium_memzero(auth, sizeof auth);
  free(url);
  int ret = STRIPE_OK;
  if (rc != INTEG_OK) {
    set_err(err, 0, integ_strerror(rc));
    if (err) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
    if (rc == INTEG_EINVAL || rc == INTEG_ENOMEM) ret = STRIPE_EINVAL;
    /* Known to have had no effect: a GET, or a POST none of whose attempts left (breaker
     * open, connection refused). Otherwise it may have reached Stripe. */
    else if (!post || !res.sent) ret = STRIPE_EUNAVAILABLE;
    else ret = STRIPE_EUNKNOWN;
    goto done;
  }
  json_t *j = res.body_len ? vz_json_loadb(res.body, res.body_len, 0, NULL, NULL) : NULL;
  if (res.status >= 200 && res.status < 300) {
    if (!json_is_object(j)) { json_decref(j); set_err(err, (int)res.status, "unreadable answer"); ret = STRIPE_EPROTO; goto done; }
    *out = j;
    goto done;
  }
  const json_t *e = json_object_get(json_object_get(j, "error"), "message");
  set_err(err, (int)res.status, json_is_string(e) ? json_string_value(e) : "stripe refused the call");
  if (err) {
    jcopy(err->type, sizeof err->type, json_object_get(json_object_get(j, "error"), "type"), 0);
    jcopy(err->code, sizeof err->code, json_object_get(json_object_get(j, "error"), "code"), 0);
  }
  json_decref(j);
  if (res.status == 401 || res.status == 403) ret = STRIPE_EAUTH;
  else if (res.status == 404) ret = STRIPE_ENOTFOUND;
  else if (res.status == 429 || res.status >= 500) {
    ret = STRIPE_EUNAVAILABLE;
    if (err) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
  } else ret = STRIPE_EREFUSED;
done:
  integ_response_clear(&res);
  return ret;
}

static int pi_from_json(const json_t *o, stripe_pi *pi, stripe_err *err) {
  memset(pi, 0, sizeof *pi);
  const json_t *md = json_object_get(o, "metadata");
  const json_t *cur = json_object_get(o, "currency");
  const json_t *lc = json_object_get(o, "latest_charge");
  if (jcopy(pi->id, sizeof pi->id, json_object_get(o, "id"), 1) < 0 ||
      jcopy(pi->status, sizeof pi->status, json_object_get(o, "status"), 1) < 0 ||
      !json_is_integer(json_object_get(o, "amount")) ||
      !json_is_string(cur) || currency_norm(json_string_value(cur), pi->currency, 1) < 0 ||
      jcopy(pi->client_secret, sizeof pi->client_secret, json_object_get(o, "client_secret"), 0) < 0 ||
      jcopy(pi->payment_ref, sizeof pi->payment_ref, json_object_get(md, "payment_ref"), 0) < 0 ||
      /* latest_charge is an id, or an object when expanded */
      jcopy(pi->latest_charge, sizeof pi->latest_charge, json_is_object(lc) ? json_object_get(lc, "id") : lc, 0) < 0) {
    set_err(err, 200, "unreadable PaymentIntent");
    return STRIPE_EPROTO;
  }
  pi->amount = jint(json_object_get(o, "amount"));
  pi->amount_received = jint(json_object_get(o, "amount_received"));
  pi->created = jint(json_object_get(o, "created"));
  pi->amount_refunded = json_is_object(lc) ? jint(json_object_get(lc, "amount_refunded")) : 0;
  const json_t *bt = json_is_object(lc) ? json_object_get(lc, "balance_transaction") : NULL;
  pi->fee = json_is_object(bt) && jint(json_object_get(bt, "fee")) > 0 ? jint(json_object_get(bt, "fee")) : 0;
  pi->has_error = json_is_object(json_object_get(o, "last_payment_error"));
  return STRIPE_OK;
}

/* ---- calls -------------------------------------------------------------------------- */

int stripe_pi_create(int64_t amount, const char *currency, const char *payment_ref, const char *order_ref,
                     const char *description, const char *idem_key, stripe_pi *out, stripe_err *err) {
  char cur[4];
  /* Stripe caps metadata values at 500 characters and descriptions at 1000 */
  if (amount <= 0 || currency_norm(currency, cur, 0) < 0 || !ref_ok(payment_ref) ||
      (order_ref && strlen(order_ref) > 500) || (description && strlen(description) > 1000)) {
    set_err(err, 0, "bad amount, currency or reference");
    return STRIPE_EINVAL;
  }
  stripe_form f = { 0 };
  stripe_form_add_int(&f, "amount", amount);
  stripe_form_add(&f, "currency", cur);
  stripe_form_add(&f, "metadata[payment_ref]", payment_ref);
  if (order_ref && *order_ref) stripe_form_add(&f, "metadata[order_id]", order_ref);
  stripe_form_add(&f, "automatic_payment_methods[enabled]", "true");
  if (description && *description) stripe_form_add(&f, "description", description);
  json_t *j;
  int rc = stripe_call("POST", "/v1/payment_intents", &f, idem_key, &j, err);
  stripe_form_free(&f);
  if (rc == STRIPE_OK) { rc = pi_from_json(j, out, err); json_decref(j); }
  return rc;
}

int stripe_pi_get(const char *pi_id, stripe_pi *out, stripe_err *err) {
  if (!id_ok(pi_id)) { set_err(err, 0, "bad PaymentIntent id"); return STRIPE_EINVAL; }
  char path[128];
  snprintf(path, sizeof path, "/v1/payment_intents/%s", pi_id);
  stripe_form q = { 0 };
  /* expanding the nested path expands latest_charge too */
  stripe_form_add(&q, "expand[]", "latest_charge.balance_transaction");
  json_t *j;
  int rc = stripe_call("GET", path, &q, NULL, &j, err);
  stripe_form_free(&q);
  if (rc == STRIPE_OK) { rc = pi_from_json(j, out, err); json_decref(j); }
  return rc;
}

int stripe_pi_find_by_ref(const char *payment_ref, stripe_pi *out, stripe_err *err) {
  if (!ref_ok(payment_ref)) { set_err(err, 0, "bad payment reference"); return STRIPE_EINVAL; }
  char q[128];
  /* ref_ok keeps quotes and backslashes out of the search expression */
  snprintf(q, sizeof q, "metadata['payment_ref']:'%s'", payment_ref);
  stripe_form f = { 0 };
  stripe_form_add(&f, "query", q);
  stripe_form_add(&f, "limit", "10");
  json_t *j;
  int rc = stripe_call("GET", "/v1/payment_intents/search", &f, NULL, &j, err);
  stripe_form_free(&f);
  if (rc != STRIPE_OK) return rc;
  const json_t *data = json_object_get(j, "data");
  if (!json_is_array(data)) { json_decref(j); set_err(err, 200, "unreadable search answer"); return STRIPE_EPROTO; }
  /* Several intents for one order can exist (a retried checkout): a succeeded one wins,
   * else the newest. */
  int best = -1;
  int64_t best_created = -1;
  int best_ok = 0;
  for (size_t i = 0; i < json_array_size(data); i++) {
    const json_t *o = json_array_get(data, i);
    const char *st = json_string_value(json_object_get(o, "status"));
    int ok = st && strcmp(st, "succeeded") == 0;
    int64_t c = jint(json_object_get(o, "created"));
    if (best < 0 || (ok && !best_ok) || (ok == best_ok && c > best_created)) {
      best = (int)i; best_created = c; best_ok = ok;
    }
  }
  if (best < 0) rc = STRIPE_ENOTFOUND, set_err(err, 200, "no PaymentIntent for this reference");
  else rc = pi_from_json(json_array_get(data, (size_t)best), out, err);
  json_decref(j);
  return rc;
}

int stripe_pi_cancel(const char *pi_id, const char *idem_key, stripe_pi *out, stripe_err *err) {
  if (!id_ok(pi_id)) { set_err(err, 0, "bad PaymentIntent id"); return STRIPE_EINVAL; }
  char path[140];
  snprintf(path, sizeof path, "/v1/payment_intents/%s/cancel", pi_id);
  stripe_form f = { 0 };
  stripe_form_add(&f, "cancellation_reason", "abandoned");
  json_t *j;
  int rc = stripe_call("POST", path, &f, idem_key, &j, err);
  stripe_form_free(&f);
  if (rc == STRIPE_OK) { rc = pi_from_json(j, out, err); json_decref(j); }
  return rc;
}

static int obj_answer(json_t *j, stripe_obj *out, stripe_err *err) {
  memset(out, 0, sizeof *out);
  int rc = jcopy(out->id, sizeof out->id, json_object_get(j, "id"), 1) < 0 ||
                   jcopy(out->status, sizeof out->status, json_object_get(j, "status"), 0) < 0
               ? STRIPE_EPROTO : STRIPE_OK;
  if (rc) set_err(err, 200, "unreadable answer");
  json_decref(j);
  return rc;
}

int stripe_refund_create(const char *pi_id, int64_t amount, const char *refund_ref,
                         const char *idem_key, stripe_obj *out, stripe_err *err) {
  if (!id_ok(pi_id) || amount <= 0 || (refund_ref && *refund_ref && !ref_ok(refund_ref))) {
    set_err(err, 0, "bad PaymentIntent id, amount or reference");
    return STRIPE_EINVAL;
  }
  stripe_form f = { 0 };
  stripe_form_add(&f, "payment_intent", pi_id);
  stripe_form_add_int(&f, "amount", amount);
  if (refund_ref && *refund_ref) stripe_form_add(&f, "metadata[refund_ref]", refund_ref);
  json_t *j;
  int rc = stripe_call("POST", "/v1/refunds", &f, idem_key, &j, err);
  stripe_form_free(&f);
  return rc == STRIPE_OK ? obj_answer(j, out, err) : rc;
}

int stripe_transfer_create(int64_t amount, const char *currency, const char *destination,
                           const char *payout_ref, const char *idem_key, stripe_obj *out, stripe_err *err) {
  char cur[4];
  if (amount <= 0 || currency_norm(currency, cur, 0) < 0 || !id_ok(destination) ||
      strncmp(destination, "acct_", 5) != 0 || (payout_ref && *payout_ref && !ref_ok(payout_ref))) {
    set_err(err, 0, "bad amount, currency, destination or reference");
    return STRIPE_EINVAL;
  }
  stripe_form f = { 0 };
  stripe_form_add_int(&f, "amount", amount);
  stripe_form_add(&f, "currency", cur);
  stripe_form_add(&f, "destination", destination);
  if (payout_ref && *payout_ref) {
    stripe_form_add(&f, "metadata[payout_ref]", payout_ref);
    stripe_form_add(&f, "transfer_group", payout_ref);
  }
  json_t *j;
  int rc = stripe_call("POST", "/v1/transfers", &f, idem_key, &j, err);
  stripe_form_free(&f);
  return rc == STRIPE_OK ? obj_answer(j, out, err) : rc;
}

/* ---- webhooks ----------------------------------------------------------------------- */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int stripe_sig_parse(const char *h, size_t len, stripe_sig *out) {
  memset(out, 0, sizeof *out);
  out->t = -1;
  if (!h || len == 0 || len > STRIPE_HEADER_MAX) return STRIPE_SIG_EHEADER;
  size_t i = 0;
  while (i < len) {
    size_t s = i;
    while (i < len && h[i] != ',') i++;
    size_t e = i++; /* [s, e) is one "key=value" item; skip the comma */
    while (s < e && (h[s] == ' ' || h[s] == '\t')) s++;
    while (e > s && (h[e - 1] == ' ' || h[e - 1] == '\t')) e--;
    const char *eq = memchr(h + s, '=', e - s);
    if (!eq) continue; /* an item without '=' names nothing we use */
    size_t kl = (size_t)(eq - (h + s)), vl = e - s - kl - 1;
    const char *v = eq + 1;
    if (kl == 1 && h[s] == 't') {
      if (out->t >= 0 || vl == 0 || vl > 12) return STRIPE_SIG_EHEADER; /* one t, 12 digits at most */
      int64_t t = 0;
      for (size_t k = 0; k < vl; k++) {
        if (v[k] < '0' || v[k] > '9') return STRIPE_SIG_EHEADER;
        t = t * 10 + (v[k] - '0');
      }
      out->t = t;
    } else if (kl == 2 && h[s] == 'v' && h[s + 1] == '1') {
      /* A v1 that is not 64 hex digits can never match: counted, not fatal, as a
       * well-formed one next to it may still be the right one. */
      int ok = vl == 64;
      unsigned char b[32];
      for (size_t k = 0; ok && k < 32; k++) {
        int hi = hexval((unsigned char)v[2 * k]), lo = hexval((unsigned char)v[2 * k + 1]);
        if (hi < 0 || lo < 0) ok = 0;
        else b[k] = (unsigned char)(hi << 4 | lo);
      }
      if (!ok) out->bad_v1++;
      else if (out->nv1 < STRIPE_SIG_MAX_V1) memcpy(out->v1[out->nv1++], b, 32);
    }
    /* v0 (test-mode legacy) and unknown schemes are ignored, as Stripe's libraries do */
  }
  if (out->t < 0 || out->nv1 == 0) return STRIPE_SIG_EHEADER;
  return STRIPE_SIG_OK;
}

int stripe_sig_verify(const char *header, size_t hlen, const void *body, size_t blen,
                      const char *secret, int64_t now_s, int tolerance_s) {
  if (!secret || !*secret) return STRIPE_SIG_ENOSECRET;
  stripe_sig sig;
  if (stripe_sig_parse(header, hlen, &sig) < 0) return STRIPE_SIG_EHEADER;
  char ts[24];
  int tl = snprintf(ts, sizeof ts, "%" PRId64 ".", sig.t);
  unsigned char mac[32];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tl);
  crypto_auth_hmacsha256_update(&st, body, (unsigned long long)blen);
  crypto_auth_hmacsha256_final(&st, mac);
  /* Every candidate is compared, all in constant time: the answer does not tell which
   * one matched, nor how much of any did. */
  int match = 0;
  for (int k = 0; k < sig.nv1; k++) match |= CRYPTO_memcmp(mac, sig.v1[k], 32) == 0;
  sodium_memzero(mac, sizeof mac);
  if (!match) return STRIPE_SIG_EMISMATCH;
  /* Both directions: a t far in the future is as suspect as an old one. */
  int64_t age = now_s - sig.t;
  if (tolerance_s > 0 && (age > tolerance_s || age < -tolerance_s)) return STRIPE_SIG_ESTALE;
  return STRIPE_SIG_OK;
}

int stripe_webhook_verify(const char *header, size_t hlen, const void *body, size_t blen) {
  return stripe_sig_verify(header, hlen, body, blen, cfg.webhook_secret, vz_wall_ms() / 1000,
                           STRIPE_SIG_TOLERANCE_S);
}

const char *stripe_sig_strerror(int rc) {
  switch (rc) {
  case STRIPE_SIG_OK: return "ok";
  case STRIPE_SIG_EHEADER: return "malformed Stripe-Signature header";
  case STRIPE_SIG_EMISMATCH: return "no signature matches";
  case STRIPE_SIG_ESTALE: return "timestamp outside the tolerance";
  case STRIPE_SIG_ENOSECRET: return "no webhook secret configured";
  }
  return "unknown";
}

int stripe_event_parse(const char *body, size_t len, stripe_event *ev) {
  memset(ev, 0, sizeof *ev);
  json_t *j = vz_json_loadb(body, len, 0, NULL, NULL);
  const json_t *o = json_object_get(json_object_get(j, "data"), "object");
  int rc = -1;
  if (!json_is_object(j) || !json_is_object(o)) goto done;
  if (jcopy(ev->id, sizeof ev->id, json_object_get(j, "id"), 1) < 0 || !ev->id[0] ||
      jcopy(ev->type, sizeof ev->type, json_object_get(j, "type"), 1) < 0 || !ev->type[0] ||
      jcopy(ev->object, sizeof ev->object, json_object_get(o, "object"), 1) < 0 ||
      jcopy(ev->object_id, sizeof ev->object_id, json_object_get(o, "id"), 1) < 0 ||
      jcopy(ev->status, sizeof ev->status, json_object_get(o, "status"), 0) < 0 ||
      jcopy(ev->payment_ref, sizeof ev->payment_ref, json_object_get(json_object_get(o, "metadata"), "payment_ref"), 0) < 0 ||
      jcopy(ev->refund_ref, sizeof ev->refund_ref, json_object_get(json_object_get(o, "metadata"), "refund_ref"), 0) < 0 ||
      jcopy(ev->payout_ref, sizeof ev->payout_ref, json_object_get(json_object_get(o, "metadata"), "payout_ref"), 0) < 0)
    goto done;
  ev->created = jint(json_object_get(j, "created"));
  ev->livemode = json_is_true(json_object_get(j, "livemode"));
  const json_t *cur = json_object_get(o, "currency");
  if (json_is_string(cur) && currency_norm(json_string_value(cur), ev->currency, 1) < 0) goto done;
  const json_t *pi = NULL, *ch = NULL, *amt = json_object_get(o, "amount");
  if (!strcmp(ev->object, "payment_intent")) {
    pi = json_object_get(o, "id");
    ch = json_object_get(o, "latest_charge");
    if (json_is_object(ch)) ch = json_object_get(ch, "id");
    const json_t *rcv = json_object_get(o, "amount_received");
    if (json_is_integer(rcv) && json_integer_value(rcv) > 0) amt = rcv;
    const json_t *lpe = json_object_get(o, "last_payment_error");
    jcopy(ev->failure, sizeof ev->failure, json_object_get(lpe, "message"), 0); /* truncation: "" */
  } else if (!strcmp(ev->object, "charge")) {
    pi = json_object_get(o, "payment_intent");
    ch = json_object_get(o, "id");
    if (!strncmp(ev->type, "charge.refund", 13)) amt = json_object_get(o, "amount_refunded");
    jcopy(ev->failure, sizeof ev->failure, json_object_get(o, "failure_message"), 0);
  } else if (!strcmp(ev->object, "refund")) {
    pi = json_object_get(o, "payment_intent");
    ch = json_object_get(o, "charge");
  }
  if (pi && jcopy(ev->payment_intent, sizeof ev->payment_intent, pi, 0) < 0) goto done;
  if (ch && jcopy(ev->charge, sizeof ev->charge, ch, 0) < 0) goto done;
  if (amt && !json_is_null(amt)) {
    /* amounts are integers in minor units; anything else is not Stripe's */
    if (!json_is_integer(amt) || json_integer_value(amt) < 0) goto done;
    ev->amount = (int64_t)json_integer_value(amt);
  }
  rc = 0;
done:
  json_decref(j);
  if (rc) memset(ev, 0, sizeof *ev);
  return rc;
}
