/* integrations/paypal: see paypal.h. */
#include "integrations/paypal.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/json.h"
#include "core/log.h"
#include "integrations/http.h"
#include "lib/base64.h"
#include "lib/clock.h"

#define CERT_CACHE 8
#define CERT_MAX_BYTES (64 * 1024)
/* Certificate fetches per minute, all URLs together. PayPal rotates its signing
 * certificate rarely; without a cap, anyone could make us fetch once per forged
 * delivery by naming a new certificate on an allowed host. Past it: 503, and PayPal's
 * own deliveries are retried later. */
#define CERT_FETCHES_PER_MIN 10
#define STR_(x) #x
#define STR(x) STR_(x)

static struct {
  int set;
  char client_id[256], client_secret[256], webhook_id[128];
  char api_base[256], cert_hosts[512], cert_ca[512];
  int timeout_ms;
} cfg;

/* The shared access token. The lock is held across a token fetch so that a burst of
 * calls after expiry makes one fetch, not one each. */
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static char tok[2048];
static int64_t tok_expires_ms;

typedef struct cert_entry {
  char url[512];
  X509 *cert;
  uint64_t used;
} cert_entry;
static pthread_mutex_t cert_mu = PTHREAD_MUTEX_INITIALIZER;
static cert_entry certs[CERT_CACHE];
static uint64_t cert_clock;
static uint64_t fetch_window_ms;
static int fetches_in_window;
static _Atomic long long cap_logged;

static int copy_setting(char *dst, size_t cap, const char *src) {
  if (!src) src = "";
  if (strlen(src) >= cap) return -1;
  snprintf(dst, cap, "%s", src);
  return 0;
}

int paypal_configure(const paypal_conf *c) {
  paypal_reset();
  memset(&cfg, 0, sizeof cfg);
  if (!c) return -1;
  const char *base = c->api_base && *c->api_base ? c->api_base : "https://api-m.paypal.com";
  if (copy_setting(cfg.client_id, sizeof cfg.client_id, c->client_id) ||
      copy_setting(cfg.client_secret, sizeof cfg.client_secret, c->client_secret) ||
      copy_setting(cfg.webhook_id, sizeof cfg.webhook_id, c->webhook_id) ||
      copy_setting(cfg.api_base, sizeof cfg.api_base, base) ||
      copy_setting(cfg.cert_hosts, sizeof cfg.cert_hosts, c->cert_hosts) ||
      copy_setting(cfg.cert_ca, sizeof cfg.cert_ca, c->cert_ca))
    return -1;
  size_t bl = strlen(cfg.api_base);
  while (bl > 0 && cfg.api_base[bl - 1] == '/') cfg.api_base[--bl] = 0;
  if (!integ_base_url_ok(cfg.api_base, bl)) { memset(&cfg, 0, sizeof cfg); return -1; }
  cfg.timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
  cfg.set = 1;
  if (integ_register(&(integ_conf){ .name = "paypal", .failures = 5, .cooldown_ms = 30000 }) < 0 ||
      integ_register(&(integ_conf){ .name = "paypal_certs", .failures = 3, .cooldown_ms = 60000 }) < 0)
    return -1;
  return 0;
}

int paypal_configured(void) { return cfg.set && cfg.client_id[0] && cfg.client_secret[0]; }

void paypal_reset(void) {
  pthread_mutex_lock(&tok_mu);
  sodium_memzero(tok, sizeof tok);
  tok_expires_ms = 0;
  pthread_mutex_unlock(&tok_mu);
  pthread_mutex_lock(&cert_mu);
  for (int i = 0; i < CERT_CACHE; i++) {
    X509_free(certs[i].cert);
    memset(&certs[i], 0, sizeof certs[i]);
  }
  pthread_mutex_unlock(&cert_mu);
}

/* ---- amounts ------------------------------------------------------------------------ */

/* PayPal's currencies without decimals; the rest it supports have two. */
static int currency_decimals(const char *c, char up[4]) {
  static const char *const two[] = { "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD",
                                     "ILS", "MYR", "MXN", "NZD", "NOK", "PHP", "PLN", "GBP",
                                     "SGD", "SEK", "CHF", "THB", "USD", NULL };
  static const char *const zero[] = { "HUF", "JPY", "TWD", NULL };
  if (!c || strlen(c) != 3) return -1;
  for (int i = 0; i < 3; i++) up[i] = (char)toupper((unsigned char)c[i]);
  up[3] = 0;
  for (int i = 0; two[i]; i++) if (!strcmp(up, two[i])) return 2;
  for (int i = 0; zero[i]; i++) if (!strcmp(up, zero[i])) return 0;
  return -1;
}

int paypal_amount_format(int64_t minor, const char *currency, char *out, size_t cap) {
  char up[4];
  int d = currency_decimals(currency, up);
  if (d < 0 || minor < 0) return -1;
  int n = d ? snprintf(out, cap, "%" PRId64 ".%02" PRId64, minor / 100, minor % 100)
            : snprintf(out, cap, "%" PRId64, minor);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int paypal_amount_parse(const char *v, const char *currency, int64_t *minor) {
  char up[4];
  int d = currency_decimals(currency, up);
  if (d < 0 || !v || !*v) return -1;
  int64_t whole = 0, frac = 0;
  int nd = 0, nf = -1;
  for (const char *p = v; *p; p++) {
    if (*p == '.') {
      if (nf >= 0 || nd == 0) return -1;
      nf = 0;
    } else if (*p >= '0' && *p <= '9') {
      if (nf >= 0) { if (++nf > d) return -1; frac = frac * 10 + (*p - '0'); }
      else { if (++nd > 15) return -1; whole = whole * 10 + (*p - '0'); }
    } else return -1;
  }
  if (nd == 0 || nf == 0) return -1; /* "", ".5", "5." */
  if (nf < 0) nf = 0;
  for (int k = nf; k < d; k++) frac *= 10;
  int64_t scale = d ? 100 : 1;
  *minor = whole * scale + frac;
  return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void set_err(paypal_err *e, int status, const char *msg) {
  if (!e) return;
  memset(e, 0, sizeof *e);
  e->http_status = status;
  snprintf(e->message, sizeof e->message, "%s", msg);
}

/* PayPal ids in a path: [A-Z0-9-] (orders 17 chars, captures 17). */
static int id_ok(const char *id) {
  if (!id || !*id || strlen(id) > 60) return 0;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return 0;
  return 1;
}

static int ref_ok(const char *r) { return id_ok(r); }

static int jcopy(char *dst, size_t cap, const json_t *v, int required) {
  dst[0] = 0;
  if (!json_is_string(v)) return required || (v && !json_is_null(v)) ? -1 : 0;
  size_t n = json_string_length(v);
  if (n >= cap) return -1;
  memcpy(dst, json_string_value(v), n + 1);
  return 0;
}

static int map_status(long status, int default_rc) {
  if (status == 401 || status == 403) return PAYPAL_EAUTH;
  if (status == 404) return PAYPAL_ENOTFOUND;
  if (status == 429 || status >= 500) return PAYPAL_EUNAVAILABLE;
  return default_rc;
}

/* Fetches a token when the cached one is missing or within a minute of expiry; copies
 * it into out. Under tok_mu. */
static int token_locked(char *out, size_t cap, paypal_err *err) {
  int64_t now = vz_wall_ms();
  if (tok[0] && now < tok_expires_ms) {
    snprintf(out, cap, "%s", tok);
    return PAYPAL_OK;
  }
  char cred[520], b64[720], auth[760], url[300];
  snprintf(cred, sizeof cred, "%s:%s", cfg.client_id, cfg.client_secret);
  if (vz_b64_encode(cred, strlen(cred), b64, sizeof b64, VZ_B64_STD) < 0) { set_err(err, 0, "credentials too long"); return PAYPAL_EINVAL; }
  snprintf(auth, sizeof auth, "Authorization: Basic %s", b64);
  snprintf(url, sizeof url, "%s/v1/oauth2/token", cfg.api_base);
  const char *hdrs[] = { auth, "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL };
  static const char body[] = "grant_type=client_credentials";
  integ_response res;
  int rc = integ_call_sync(&(integ_request){ .integration = "paypal", .method = "POST", .url = url,
      .headers = hdrs, .body = body, .body_len = sizeof body - 1, .timeout_ms = cfg.timeout_ms,
      .deadline_ms = cfg.timeout_ms * 3, .max_retries = 2,
      .idempotent = 1 /* asking for a token twice is harmless */ }, &res);
  sodium_memzero(cred, sizeof cred);
  sodium_memzero(b64, sizeof b64);
  sodium_memzero(auth, sizeof auth);
  int ret = PAYPAL_OK;
  json_t *j = NULL;
  if (rc != INTEG_OK) {
    set_err(err, 0, integ_strerror(rc));
    if (err) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
    ret = PAYPAL_EUNAVAILABLE;
    goto done;
  }
  if (res.status != 200) {
    set_err(err, (int)res.status, "token refused");
    /* a 400/401 here means the client credentials are wrong */
    ret = res.status == 429 || res.status >= 500 ? PAYPAL_EUNAVAILABLE : PAYPAL_EAUTH;
    if (err && ret == PAYPAL_EUNAVAILABLE) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
    goto done;
  }
  j = vz_json_loadb(res.body, res.body_len, 0, NULL, NULL);
  const json_t *at = json_object_get(j, "access_token"), *ex = json_object_get(j, "expires_in");
  if (!json_is_string(at) || json_string_length(at) == 0 || json_string_length(at) >= sizeof tok ||
      !json_is_integer(ex) || json_integer_value(ex) <= 0) {
    set_err(err, 200, "unreadable token answer");
    ret = PAYPAL_EPROTO;
    goto done;
  }
  snprintf(tok, sizeof tok, "%s", json_string_value(at));
  /* a minute early, so a token never expires between our check and PayPal's */
  int64_t life = (int64_t)json_integer_value(ex) * 1000;
  tok_expires_ms = now + (life > 120000 ? life - 60000 : life / 2);
  snprintf(out, cap, "%s", tok);
done:
  json_decref(j);
  integ_response_clear(&res);
  return ret;
}

/* One API call with a JSON body (or none). *out gets the decoded object on 2xx. */
static int paypal_call(const char *method, const char *path, const char *body, const char *request_id,
                       json_t **out, paypal_err *err) {
  *out = NULL;
  set_err(err, 0, "");
  if (!paypal_configured()) { set_err(err, 0, "paypal is not configured"); return PAYPAL_EINVAL; }
  int post = strcmp(method, "POST") == 0;
  if (post && (!request_id || !*request_id || strlen(request_id) > 100)) {
    set_err(err, 0, "a PayPal-Request-Id is required");
    return PAYPAL_EINVAL;
  }
  char url[400], bearer[2100], reqid[140], token[2048];
  if ((size_t)snprintf(url, sizeof url, "%s%s", cfg.api_base, path) >= sizeof url) { set_err(err, 0, "url too long"); return PAYPAL_EINVAL; }
  snprintf(reqid, sizeof reqid, "PayPal-Request-Id: %s", post ? request_id : "");
  int ret = PAYPAL_OK;
  for (int attempt = 0; attempt < 2; attempt++) {
    pthread_mutex_lock(&tok_mu);
    ret = token_locked(token, sizeof token, err);
    pthread_mutex_unlock(&tok_mu);
    if (ret) break;
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    const char *hdrs[] = { bearer, "Content-Type: application/json", "Accept: application/json",
                           "Prefer: return=representation", post ? reqid : NULL, NULL };
    integ_response res;
    int rc = integ_call_sync(&(integ_request){ .integration = "paypal", .method = method, .url = url,
        .headers = hdrs, .body = body, .body_len = body ? strlen(body) : 0,
        .timeout_ms = cfg.timeout_ms, .deadline_ms = cfg.timeout_ms * 3, .max_retries = 2,
        .idempotent = 1 /* GET, or a POST with its PayPal-Request-Id */ }, &res);
    sodium_memzero(bearer, sizeof bearer);
    if (rc != INTEG_OK) {
      set_err(err, 0, integ_strerror(rc));
      if (err) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
      if (rc == INTEG_EINVAL || rc == INTEG_ENOMEM) ret = PAYPAL_EINVAL;
      /* no effect for sure: a GET, or a POST none of whose attempts left */
      else if (!post || !res.sent) ret = PAYPAL_EUNAVAILABLE;
      else ret = PAYPAL_EUNKNOWN;
      integ_response_clear(&res);
      break;
    }
    if (res.status == 401 && attempt == 0) {
      /* the token expired early or was revoked: drop it, fetch a new one, once */
      pthread_mutex_lock(&tok_mu);
      if (!strcmp(tok, token)) { sodium_memzero(tok, sizeof tok); tok_expires_ms = 0; }
      pthread_mutex_unlock(&tok_mu);
      integ_response_clear(&res);
      continue;
    }
    json_t *j = res.body_len ? vz_json_loadb(res.body, res.body_len, 0, NULL, NULL) : NULL;
    if (res.status >= 200 && res.status < 300) {
      if (json_is_object(j)) *out = j;
      else { json_decref(j); set_err(err, (int)res.status, "unreadable answer"); ret = PAYPAL_EPROTO; }
    } else {
      const json_t *m = json_object_get(j, "message");
      set_err(err, (int)res.status, json_is_string(m) ? json_string_value(m) : "paypal refused the call");
      if (err) {
        jcopy(err->name, sizeof err->name, json_object_get(j, "name"), 0);
        jcopy(err->issue, sizeof err->issue, json_object_get(json_array_get(json_object_get(j, "details"), 0), "issue"), 0);
        if (res.status == 429 || res.status >= 500) err->retry_after_s = res.retry_after_s > 0 ? res.retry_after_s : 5;
      }
      json_decref(j);
      ret = map_status(res.status, PAYPAL_EREFUSED);
    }
    integ_response_clear(&res);
    break;
  }
  sodium_memzero(token, sizeof token);
  return ret;
}

static int order_from_json(const json_t *o, paypal_order *po, paypal_err *err) {
  memset(po, 0, sizeof *po);
  const json_t *pu = json_array_get(json_object_get(o, "purchase_units"), 0);
  const json_t *amt = json_object_get(pu, "amount");
  const json_t *cap = json_array_get(json_object_get(json_object_get(pu, "payments"), "captures"), 0);
  if (jcopy(po->id, sizeof po->id, json_object_get(o, "id"), 1) < 0 ||
      jcopy(po->status, sizeof po->status, json_object_get(o, "status"), 1) < 0 ||
      jcopy(po->order_ref, sizeof po->order_ref, json_object_get(pu, "custom_id"), 0) < 0 ||
      jcopy(po->capture_id, sizeof po->capture_id, json_object_get(cap, "id"), 0) < 0 ||
      jcopy(po->capture_status, sizeof po->capture_status, json_object_get(cap, "status"), 0) < 0)
    goto bad;
  if (!amt) amt = json_object_get(cap, "amount");
  const json_t *fee = json_object_get(json_object_get(cap, "seller_receivable_breakdown"), "paypal_fee");
  const char *cc = json_string_value(json_object_get(amt, "currency_code"));
  const char *val = json_string_value(json_object_get(amt, "value"));
  if (cc && val) {
    if (paypal_amount_parse(val, cc, &po->amount) < 0) goto bad;
    for (int i = 0; i < 3; i++) po->currency[i] = cc[i];
    const char *fv = json_string_value(json_object_get(fee, "value"));
    if (fv && paypal_amount_parse(fv, cc, &po->fee) < 0) po->fee = 0;
  }
  const json_t *links = json_object_get(o, "links");
  for (size_t i = 0; i < json_array_size(links); i++) {
    const char *rel = json_string_value(json_object_get(json_array_get(links, i), "rel"));
    if (rel && (!strcmp(rel, "approve") || !strcmp(rel, "payer-action")))
      jcopy(po->approve_url, sizeof po->approve_url, json_object_get(json_array_get(links, i), "href"), 0);
  }
  return PAYPAL_OK;
bad:
  set_err(err, 200, "unreadable order");
  return PAYPAL_EPROTO;
}

int paypal_order_create(int64_t amount, const char *currency, const char *payment_ref,
                        const char *return_url, const char *cancel_url,
                        const char *request_id, paypal_order *out, paypal_err *err) {
  char value[32], up[4];
  if (amount <= 0 || currency_decimals(currency, up) < 0 || paypal_amount_format(amount, up, value, sizeof value) < 0 ||
      !ref_ok(payment_ref)) {
    set_err(err, 0, "bad amount, currency or payment reference");
    return PAYPAL_EINVAL;
  }
  json_t *b = json_pack("{s:s, s:[{s:s, s:s, s:{s:s, s:s}}]}", "intent", "CAPTURE", "purchase_units",
                        "reference_id", "default", "custom_id", payment_ref,
                        "amount", "currency_code", up, "value", value);
  if (b && ((return_url && *return_url) || (cancel_url && *cancel_url))) {
    json_t *ctx = json_object();
    if (return_url && *return_url) json_object_set_new(ctx, "return_url", json_string(return_url));
    if (cancel_url && *cancel_url) json_object_set_new(ctx, "cancel_url", json_string(cancel_url));
    json_object_set_new(b, "application_context", ctx);
  }
  char *body = b ? vz_json_dumps(b, NULL) : NULL;
  json_decref(b);
  if (!body) { set_err(err, 0, "out of memory"); return PAYPAL_EINVAL; }
  json_t *j;
  int rc = paypal_call("POST", "/v2/checkout/orders", body, request_id, &j, err);
  free(body);
  if (rc == PAYPAL_OK) { rc = order_from_json(j, out, err); json_decref(j); }
  return rc;
}

int paypal_order_capture(const char *order_id, const char *request_id, paypal_order *out, paypal_err *err) {
  if (!id_ok(order_id)) { set_err(err, 0, "bad order id"); return PAYPAL_EINVAL; }
  char path[128];
  snprintf(path, sizeof path, "/v2/checkout/orders/%s/capture", order_id);
  json_t *j;
  int rc = paypal_call("POST", path, "{}", request_id, &j, err);
  if (rc == PAYPAL_OK) { rc = order_from_json(j, out, err); json_decref(j); }
  return rc;
}

int paypal_order_get(const char *order_id, paypal_order *out, paypal_err *err) {
  if (!id_ok(order_id)) { set_err(err, 0, "bad order id"); return PAYPAL_EINVAL; }
  char path[128];
  snprintf(path, sizeof path, "/v2/checkout/orders/%s", order_id);
  json_t *j;
  int rc = paypal_call("GET", path, NULL, NULL, &j, err);
  if (rc == PAYPAL_OK) { rc = order_from_json(j, out, err); json_decref(j); }
  return rc;
}

int paypal_refund(const char *capture_id, int64_t amount, const char *currency, const char *request_id,
                  paypal_refund_res *out, paypal_err *err) {
  memset(out, 0, sizeof *out);
  char value[32], up[4];
  if (!id_ok(capture_id) || amount <= 0 || currency_decimals(currency, up) < 0 ||
      paypal_amount_format(amount, up, value, sizeof value) < 0) {
    set_err(err, 0, "bad capture id, amount or currency");
    return PAYPAL_EINVAL;
  }
  char path[128];
  snprintf(path, sizeof path, "/v2/payments/captures/%s/refund", capture_id);
  json_t *b = json_pack("{s:{s:s, s:s}}", "amount", "value", value, "currency_code", up);
  char *body = b ? vz_json_dumps(b, NULL) : NULL;
  json_decref(b);
  if (!body) { set_err(err, 0, "out of memory"); return PAYPAL_EINVAL; }
  json_t *j;
  int rc = paypal_call("POST", path, body, request_id, &j, err);
  free(body);
  if (rc == PAYPAL_OK) {
    if (jcopy(out->id, sizeof out->id, json_object_get(j, "id"), 1) < 0 ||
        jcopy(out->status, sizeof out->status, json_object_get(j, "status"), 0) < 0) {
      set_err(err, 200, "unreadable refund");
      rc = PAYPAL_EPROTO;
    }
    json_decref(j);
  }
  return rc;
}

/* ---- webhooks ----------------------------------------------------------------------- */

const char *paypal_wh_strerror(int rc) {
  switch (rc) {
  case PAYPAL_WH_OK: return "ok";
  case PAYPAL_WH_EHEADER: return "missing or malformed PayPal transmission headers";
  case PAYPAL_WH_ECERTURL: return "certificate URL not allowed";
  case PAYPAL_WH_ECERT: return "certificate not usable";
  case PAYPAL_WH_EMISMATCH: return "signature does not verify";
  case PAYPAL_WH_ENOCONFIG: return "no webhook id configured";
  case PAYPAL_WH_EUNAVAILABLE: return "certificate host unreachable";
  }
  return "unknown";
}

long paypal_webhook_message(const char *tid, const char *ttime, const char *webhook_id,
                            const void *body, size_t blen, char *out, size_t cap) {
  /* zlib's crc32 takes a uInt length: feed long bodies in pieces */
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *p = body;
  for (size_t left = blen; left > 0;) {
    uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  int n = snprintf(out, cap, "%s|%s|%s|%lu", tid, ttime, webhook_id, (unsigned long)(crc & 0xffffffffUL));
  return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* host[:port] of an absolute URL into out (lower case); its scheme into *https. -1 when
 * the URL is not http(s), has user info, or an empty or over-long host. */
static int url_host(const char *url, char *out, size_t cap, int *https) {
  const char *p;
  if (!strncmp(url, "https://", 8)) { *https = 1; p = url + 8; }
  else if (!strncmp(url, "http://", 7)) { *https = 0; p = url + 7; }
  else return -1;
  size_t n = strcspn(p, "/?#");
  if (n == 0 || n >= cap) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    /* '@' would make what precedes it user info: "https://api.paypal.com@evil.example" */
    if (!(isalnum(c) || c == '.' || c == '-' || c == ':')) return -1;
    out[i] = (char)tolower(c);
  }
  out[n] = 0;
  return 0;
}

static int host_in_list(const char *host, const char *list) {
  size_t hl = strlen(host);
  while (list && *list) {
    size_t n = strcspn(list, ", ");
    if (n == hl && !strncasecmp(list, host, n)) return 1;
    list += n;
    while (*list == ',' || *list == ' ') list++;
  }
  return 0;
}

int paypal_cert_url_allowed(const char *url, const char *api_base, const char *extra_hosts) {
  char host[256], api[256];
  int https, api_https;
  if (!url || url_host(url, host, sizeof host, &https) < 0) return 0;
  if (extra_hosts && host_in_list(host, extra_hosts)) return 1; /* the tests' fake, http allowed */
  if (!https) return 0;
  if (api_base && url_host(api_base, api, sizeof api, &api_https) == 0 && api_https && !strcmp(api, host)) return 1;
  /* *.paypal.com on the default port: at least one label before the suffix */
  const char *suf = ".paypal.com";
  size_t hl = strlen(host), sl = strlen(suf);
  if (strchr(host, ':')) {
    if (hl < 4 || strcmp(host + hl - 4, ":443") != 0) return 0;
    hl -= 4;
  }
  return hl > sl && !strncmp(host + hl - sl, suf, sl) && host[0] != '.';
}

/* Reads a PEM bundle: the first certificate is the signer, the rest its chain. */
static X509 *pem_load(const char *pem, size_t len, STACK_OF(X509) **chain) {
  *chain = NULL;
  if (len == 0 || len > CERT_MAX_BYTES) return NULL;
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  if (leaf) {
    *chain = sk_X509_new_null();
    X509 *c;
    while (*chain && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
      if (!sk_X509_push(*chain, c)) { X509_free(c); break; }
  }
  BIO_free(bio);
  return leaf;
}

/* Within notBefore..notAfter now: checked at every use, not only when cached. */
static int cert_current(X509 *x) {
  return X509_cmp_current_time(X509_get0_notBefore(x)) < 0 && X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
}

/* Chain to a trusted root (VIDZO_PAYPAL_CERT_CA, else the system store). */
static int cert_trusted(X509 *leaf, STACK_OF(X509) *chain) {
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  int ok = 0;
  if (!store || !ctx) goto done;
  if (cfg.cert_ca[0] ? X509_STORE_load_file(store, cfg.cert_ca) != 1 : X509_STORE_set_default_paths(store) != 1) goto done;
  if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) goto done;
  ok = X509_verify_cert(ctx) == 1;
done:
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

static int verify_with(X509 *cert, const paypal_wh_headers *h, const char *webhook_id, const void *body, size_t blen) {
  if (!cert_current(cert)) return PAYPAL_WH_ECERT;
  unsigned char sig[1024];
  size_t sl = strlen(h->transmission_sig);
  long n = vz_b64_decode(h->transmission_sig, sl, sig, sizeof sig, VZ_B64_STD);
  if (n <= 0) return PAYPAL_WH_EHEADER;
  size_t mcap = strlen(h->transmission_id) + strlen(h->transmission_time) + strlen(webhook_id) + 16;
  char *msg = malloc(mcap);
  long ml = msg ? paypal_webhook_message(h->transmission_id, h->transmission_time, webhook_id, body, blen, msg, mcap) : -1;
  int rc = PAYPAL_WH_EMISMATCH;
  EVP_PKEY *pk = X509_get0_pubkey(cert);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (ml < 0 || !pk || !md) rc = PAYPAL_WH_ECERT;
  else if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < 2048) rc = PAYPAL_WH_ECERT;
  else if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
           EVP_DigestVerify(md, sig, (size_t)n, (const unsigned char *)msg, (size_t)ml) == 1)
    rc = PAYPAL_WH_OK;
  EVP_MD_CTX_free(md);
  free(msg);
  return rc;
}

static int headers_ok(const paypal_wh_headers *h) {
  if (!h || !h->transmission_id || !*h->transmission_id || strlen(h->transmission_id) > 128 ||
      !h->transmission_time || !*h->transmission_time || strlen(h->transmission_time) > 64 ||
      !h->transmission_sig || !*h->transmission_sig || strlen(h->transmission_sig) > 1400 ||
      !h->cert_url || !*h->cert_url || strlen(h->cert_url) >= sizeof certs[0].url)
    return 0;
  /* '|' would shift the fields of the signed message */
  if (strchr(h->transmission_id, '|') || strchr(h->transmission_time, '|')) return 0;
  return !h->auth_algo || !*h->auth_algo || !strcmp(h->auth_algo, "SHA256withRSA");
}

int paypal_webhook_verify_pem(const paypal_wh_headers *h, const char *webhook_id,
                              const void *body, size_t blen, const char *pem, size_t pemlen) {
  if (!headers_ok(h)) return PAYPAL_WH_EHEADER;
  if (!webhook_id || !*webhook_id) return PAYPAL_WH_ENOCONFIG;
  STACK_OF(X509) *chain;
  X509 *x = pem_load(pem, pemlen, &chain);
  int rc = x ? verify_with(x, h, webhook_id, body, blen) : PAYPAL_WH_ECERT;
  X509_free(x);
  sk_X509_pop_free(chain, X509_free);
  return rc;
}

/* The certificate for url, from the cache or fetched; a new reference, or NULL with *rc. */
static X509 *cert_get(const char *url, int *rc) {
  pthread_mutex_lock(&cert_mu);
  for (int i = 0; i < CERT_CACHE; i++) {
    if (certs[i].cert && !strcmp(certs[i].url, url)) {
      X509 *x = certs[i].cert;
      X509_up_ref(x);
      certs[i].used = ++cert_clock;
      pthread_mutex_unlock(&cert_mu);
      return x;
    }
  }
  uint64_t now = vz_mono_ms();
  if (now - fetch_window_ms >= 60000 || fetch_window_ms == 0) fetch_window_ms = now, fetches_in_window = 0;
  int allowed = fetches_in_window < CERT_FETCHES_PER_MIN;
  if (allowed) fetches_in_window++;
  pthread_mutex_unlock(&cert_mu);
  if (!allowed) {
    *rc = PAYPAL_WH_EUNAVAILABLE;
    if (vz_log_allow(&cap_logged, 60000)) vz_log_warn("paypal certificate fetches capped", "per_minute", STR(CERT_FETCHES_PER_MIN));
    return NULL;
  }
  /* Fetched outside the lock: two threads may fetch the same URL once, which is cheaper
   * than every webhook waiting on one slow fetch. */
  int https = strncmp(url, "https://", 8) == 0;
  integ_response res;
  int r = integ_call_sync(&(integ_request){ .integration = "paypal_certs", .url = url,
      .timeout_ms = cfg.timeout_ms, .max_retries = 1, .idempotent = 1,
      .max_response = CERT_MAX_BYTES, .protocols = https ? "https" : "http" }, &res);
  X509 *x = NULL;
  STACK_OF(X509) *chain = NULL;
  if (r != INTEG_OK) {
    *rc = r == INTEG_ETOOBIG ? PAYPAL_WH_ECERT : PAYPAL_WH_EUNAVAILABLE;
    vz_log_warn("paypal certificate fetch failed", "error", integ_strerror(r));
    goto done;
  }
  if (res.status != 200 || !(x = pem_load(res.body, res.body_len, &chain))) {
    *rc = res.status >= 500 ? PAYPAL_WH_EUNAVAILABLE : PAYPAL_WH_ECERT;
    goto done;
  }
  if (!cert_current(x) || !cert_trusted(x, chain)) {
    vz_log_warn("paypal certificate not trusted or not current");
    X509_free(x);
    x = NULL;
    *rc = PAYPAL_WH_ECERT;
    goto done;
  }
  pthread_mutex_lock(&cert_mu);
  int slot = 0;
  for (int i = 0; i < CERT_CACHE; i++) {
    if (!certs[i].cert) { slot = i; break; }
    if (certs[i].used < certs[slot].used) slot = i;
  }
  X509_free(certs[slot].cert);
  snprintf(certs[slot].url, sizeof certs[slot].url, "%s", url);
  X509_up_ref(x);
  certs[slot].cert = x;
  certs[slot].used = ++cert_clock;
  pthread_mutex_unlock(&cert_mu);
done:
  sk_X509_pop_free(chain, X509_free);
  integ_response_clear(&res);
  return x;
}

int paypal_webhook_verify(const paypal_wh_headers *h, const void *body, size_t blen) {
  if (!headers_ok(h)) return PAYPAL_WH_EHEADER;
  if (!cfg.set || !cfg.webhook_id[0]) return PAYPAL_WH_ENOCONFIG;
  if (!paypal_cert_url_allowed(h->cert_url, cfg.api_base, cfg.cert_hosts)) return PAYPAL_WH_ECERTURL;
  int rc = PAYPAL_WH_ECERT;
  X509 *x = cert_get(h->cert_url, &rc);
  if (!x) return rc;
  rc = verify_with(x, h, cfg.webhook_id, body, blen);
  X509_free(x);
  return rc;
}

/* "2026-12-03T16:25:49Z" or with ".123" / "+00:00" (UTC only): ms, or 0. */
static int64_t iso_ms(const char *s) {
  int y, mo, d, h, mi, sec, n = 0;
  if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) return 0;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
  int ms = 0;
  const char *p = s + 19;
  if (*p == '.') {
    int k = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, k++) if (k < 3) ms = ms * 10 + (*p - '0');
    for (; k < 3; k++) ms *= 10;
  }
  if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0) return 0;
  /* days from the civil date (Howard Hinnant's algorithm): no timegm, no TZ */
  int yy = mo <= 2 ? y - 1 : y;
  int era = yy / 400, yoe = yy - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = (int64_t)era * 146097 + doe - 719468;
  return ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000) + ms;
}

int paypal_event_parse(const char *body, size_t len, paypal_event *ev) {
  memset(ev, 0, sizeof *ev);
  json_t *j = vz_json_loadb(body, len, 0, NULL, NULL);
  const json_t *r = json_object_get(j, "resource");
  int rc = -1;
  if (!json_is_object(j) || !json_is_object(r)) goto done;
  if (jcopy(ev->id, sizeof ev->id, json_object_get(j, "id"), 1) < 0 || !ev->id[0] ||
      jcopy(ev->event_type, sizeof ev->event_type, json_object_get(j, "event_type"), 1) < 0 || !ev->event_type[0] ||
      jcopy(ev->resource_type, sizeof ev->resource_type, json_object_get(j, "resource_type"), 0) < 0 ||
      jcopy(ev->resource_id, sizeof ev->resource_id, json_object_get(r, "id"), 1) < 0 ||
      jcopy(ev->status, sizeof ev->status, json_object_get(r, "status"), 0) < 0)
    goto done;
  const json_t *amt = json_object_get(r, "amount"), *custom = json_object_get(r, "custom_id");
  if (!strncmp(ev->event_type, "CHECKOUT.ORDER.", 15)) {
    /* the resource is the order: its id, and the first purchase unit's reference */
    const json_t *pu = json_array_get(json_object_get(r, "purchase_units"), 0);
    snprintf(ev->paypal_order_id, sizeof ev->paypal_order_id, "%s", ev->resource_id);
    custom = json_object_get(pu, "custom_id");
    amt = json_object_get(pu, "amount");
  } else if (!strncmp(ev->event_type, "PAYMENT.CAPTURE.", 16) && strcmp(ev->event_type, "PAYMENT.CAPTURE.REFUNDED") &&
             strcmp(ev->event_type, "PAYMENT.CAPTURE.REVERSED")) {
    snprintf(ev->capture_id, sizeof ev->capture_id, "%s", ev->resource_id);
    const json_t *rel = json_object_get(json_object_get(json_object_get(r, "supplementary_data"), "related_ids"), "order_id");
    if (jcopy(ev->paypal_order_id, sizeof ev->paypal_order_id, rel, 0) < 0) goto done;
  } else {
    /* a refund (or reversal): the capture is the "up" link's last segment */
    const json_t *links = json_object_get(r, "links");
    for (size_t i = 0; i < json_array_size(links); i++) {
      const json_t *l = json_array_get(links, i);
      const char *rel = json_string_value(json_object_get(l, "rel"));
      const char *href = json_string_value(json_object_get(l, "href"));
      if (!rel || !href || strcmp(rel, "up") != 0 || !strstr(href, "/captures/")) continue;
      const char *last = strrchr(href, '/');
      if (last && strlen(last + 1) < sizeof ev->capture_id) snprintf(ev->capture_id, sizeof ev->capture_id, "%s", last + 1);
    }
  }
  if (jcopy(ev->order_ref, sizeof ev->order_ref, custom, 0) < 0) goto done;
  if (amt) {
    const char *cc = json_string_value(json_object_get(amt, "currency_code"));
    const char *val = json_string_value(json_object_get(amt, "value"));
    if (!cc || !val || paypal_amount_parse(val, cc, &ev->amount) < 0) goto done;
    for (int i = 0; i < 3; i++) ev->currency[i] = (char)toupper((unsigned char)cc[i]);
    const json_t *fee = json_object_get(json_object_get(r, "seller_receivable_breakdown"), "paypal_fee");
    const char *fv = json_string_value(json_object_get(fee, "value"));
    if (fv && paypal_amount_parse(fv, cc, &ev->fee) < 0) goto done;
  }
  ev->created_ms = iso_ms(json_string_value(json_object_get(j, "create_time")));
  rc = 0;
done:
  json_decref(j);
  if (rc) memset(ev, 0, sizeof *ev);
  return rc;
}
