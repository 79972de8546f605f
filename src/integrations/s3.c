/* integrations/s3: SigV4 and the S3 calls (s3.h). Signing is a handful of string
 * builders over fixed-size buffers; every call then goes through integ_call_sync (the
 * integrations thread: timeouts, retries with backoff on idempotent calls, the breaker
 * named "s3"). PUT, GET, HEAD, DELETE and the multipart steps with a fixed key are
 * idempotent (repeating them leaves the same state), so they are retried; creating a
 * multipart upload is not (a repeat makes a second, abandoned upload) and is not. */
#include "integrations/s3.h"

#include <ctype.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "integrations/http.h"
#include "lib/clock.h"

#define UNSIGNED "UNSIGNED-PAYLOAD"

void s3_amz_date(int64_t unix_s, char out[17]) {
  time_t t = (time_t)unix_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int s3_uri_encode(const char *s, int keep_slash, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char ch = *p;
    /* SigV4: "URI encode every byte except the unreserved characters: 'A'-'Z', 'a'-'z',
     * '0'-'9', '-', '.', '_', and '~'"; object key paths keep '/'. */
    if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || (keep_slash && ch == '/')) {
      if (o + 1 >= cap) return -1;
      out[o++] = (char)ch;
    } else {
      if (o + 3 >= cap) return -1;
      out[o++] = '%', out[o++] = hex[ch >> 4], out[o++] = hex[ch & 15];
    }
  }
  if (o >= cap) return -1;
  out[o] = 0;
  return (int)o;
}

/* SHA-256 fetched once: EVP_sha256() in HMAC() makes OpenSSL 3 look the algorithm up
 * in its provider tables on every call, which was a third of a presign's time. */
static EVP_MD *sha256_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static void md_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static void hex_of(const unsigned char *b, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) out[2 * i] = hex[b[i] >> 4], out[2 * i + 1] = hex[b[i] & 15];
  out[2 * n] = 0;
}

void s3_sha256_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[32];
  unsigned int ml = 32;
  pthread_once(&md_once, md_fetch);
  EVP_Digest(p, n, md, &ml, sha256_md ? sha256_md : EVP_sha256(), NULL);
  hex_of(md, 32, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
  unsigned int olen = 32;
  pthread_once(&md_once, md_fetch);
  HMAC(sha256_md ? sha256_md : EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen);
}

/* Splits endpoint into scheme ("http"/"https") and host[:port] (a default port dropped:
 * the Host header a client sends, and so the one signed, leaves it out). */
static int endpoint_parts(const char *ep, char *scheme, size_t scap, char *host, size_t hcap) {
  const char *p = strstr(ep, "://");
  if (!p || (size_t)(p - ep) >= scap) return -1;
  memcpy(scheme, ep, (size_t)(p - ep));
  scheme[p - ep] = 0;
  if (strcmp(scheme, "http") && strcmp(scheme, "https")) return -1;
  p += 3;
  size_t n = strcspn(p, "/?#");
  if (n == 0 || n >= hcap) return -1;
  memcpy(host, p, n);
  host[n] = 0;
  size_t hl = strlen(host);
  if (!strcmp(scheme, "http") && hl > 3 && !strcmp(host + hl - 3, ":80")) host[hl - 3] = 0;
  if (!strcmp(scheme, "https") && hl > 4 && !strcmp(host + hl - 4, ":443")) host[hl - 4] = 0;
  return 0;
}

int s3_object_url(const s3_conf *c, const char *key, char *host, size_t hcap, char *uri, size_t ucap, char *url,
                  size_t urlcap) {
  char scheme[8], ep_host[256], ekey[1024];
  if (endpoint_parts(c->endpoint, scheme, sizeof scheme, ep_host, sizeof ep_host)) return -1;
  if (s3_uri_encode(key ? key : "", 1, ekey, sizeof ekey) < 0) return -1;
  int n;
  if (c->path_style) {
    n = snprintf(host, hcap, "%s", ep_host);
    if (n < 0 || (size_t)n >= hcap) return -1;
    n = key ? snprintf(uri, ucap, "/%s/%s", c->bucket, ekey) : snprintf(uri, ucap, "/%s", c->bucket);
  } else {
    n = snprintf(host, hcap, "%s.%s", c->bucket, ep_host);
    if (n < 0 || (size_t)n >= hcap) return -1;
    n = snprintf(uri, ucap, "/%s", ekey);
  }
  if (n < 0 || (size_t)n >= ucap) return -1;
  n = snprintf(url, urlcap, "%s://%s%s", scheme, host, uri);
  return n < 0 || (size_t)n >= urlcap ? -1 : 0;
}

static int cmp_hdr(const void *a, const void *b) {
  return strcmp(((const s3_hdr *)a)->name, ((const s3_hdr *)b)->name);
}

/* Appends fmt to buf at *o; -1 once it does not fit. */
static int app(char *buf, size_t cap, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int app(char *buf, size_t cap, size_t *o, const char *fmt, ...) {
  va_list ap;
  if (*o >= cap) return -1;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *o, cap - *o, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap - *o) return -1;
  *o += (size_t)n;
  return 0;
}

/* Canonical headers and the signed-header list ("host;x-amz-date") of hdrs, sorted by
 * name. Values are trimmed ("Trim any leading or trailing spaces"). */
static int canon_headers(const s3_hdr *hdrs, int n, char *ch, size_t chcap, char *sh, size_t shcap) {
  s3_hdr sorted[16];
  if (n > 16) return -1;
  if (n > 0) memcpy(sorted, hdrs, sizeof *hdrs * (size_t)n);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_hdr);
  size_t o = 0, s = 0;
  ch[0] = sh[0] = 0;
  for (int i = 0; i < n; i++) {
    const char *v = sorted[i].value;
    while (*v == ' ') v++;
    size_t vl = strlen(v);
    while (vl && v[vl - 1] == ' ') vl--;
    if (app(ch, chcap, &o, "%s:%.*s\n", sorted[i].name, (int)vl, v) ||
        app(sh, shcap, &s, "%s%s", i ? ";" : "", sorted[i].name))
      return -1;
  }
  return 0;
}

/* The signature (hex) of a canonical request: string to sign, then the derived key. */
static int signature(const s3_conf *c, const char *canon_req, const char *amz_date, char sig[65]) {
  char date8[9], scope[160], creq_hash[65], sts[512], ksecret[160];
  unsigned char k1[32], k2[32], k3[32], k4[32], out[32];
  memcpy(date8, amz_date, 8);
  date8[8] = 0;
  int n = snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", date8, c->region);
  if (n < 0 || (size_t)n >= sizeof scope) return -1;
  s3_sha256_hex(canon_req, strlen(canon_req), creq_hash);
  n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
  if (n < 0 || (size_t)n >= sizeof sts) return -1;
  /* The signing key depends only on the secret, the day and the region (SigV4: "you can
   * cache the signing key"): four HMACs saved per signature while those stay the same.
   * Per thread, so no lock; the secret is compared by a keyed hash, never kept twice. */
  static _Thread_local struct { char date8[9], region[64]; unsigned char who[32], key[32]; int ok; } cache;
  unsigned char who[32];
  unsigned int wl = 32;
  pthread_once(&md_once, md_fetch);
  EVP_Digest(c->secret_key, strlen(c->secret_key), who, &wl, sha256_md ? sha256_md : EVP_sha256(), NULL);
  if (cache.ok && !strcmp(cache.date8, date8) && !strcmp(cache.region, c->region) && !CRYPTO_memcmp(cache.who, who, 32)) {
    memcpy(k4, cache.key, 32);
  } else {
    n = snprintf(ksecret, sizeof ksecret, "AWS4%s", c->secret_key);
    if (n < 0 || (size_t)n >= sizeof ksecret) return -1;
    hmac(ksecret, (size_t)n, date8, k1);
    hmac(k1, 32, c->region, k2);
    hmac(k2, 32, "s3", k3);
    hmac(k3, 32, "aws4_request", k4);
    OPENSSL_cleanse(ksecret, sizeof ksecret);
    if (strlen(c->region) < sizeof cache.region) {
      snprintf(cache.date8, sizeof cache.date8, "%s", date8);
      snprintf(cache.region, sizeof cache.region, "%s", c->region);
      memcpy(cache.who, who, 32), memcpy(cache.key, k4, 32);
      cache.ok = 1;
    }
  }
  hmac(k4, 32, sts, out);
  hex_of(out, 32, sig);
  OPENSSL_cleanse(k4, sizeof k4);
  return 0;
}

int s3_sign_header(const s3_conf *c, const char *method, const char *uri, const char *query, const s3_hdr *hdrs,
                   int nhdrs, const char *payload_sha256, const char *amz_date, char *auth, size_t cap) {
  char ch[2048], sh[512], creq[4096], sig[65];
  size_t o = 0;
  if (canon_headers(hdrs, nhdrs, ch, sizeof ch, sh, sizeof sh) ||
      app(creq, sizeof creq, &o, "%s\n%s\n%s\n%s\n%s\n%s", method, uri, query ? query : "", ch, sh, payload_sha256) ||
      signature(c, creq, amz_date, sig))
    return -1;
  int n = snprintf(auth, cap, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/s3/aws4_request, SignedHeaders=%s, Signature=%s",
                   c->access_key, amz_date, c->region, sh, sig);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int s3_presign(const s3_conf *c, const char *method, const char *key, int expires_s, const s3_hdr *hdrs, int nhdrs,
               const char *amz_date, char *url, size_t cap) {
  char host[320], uri[1200], base[1600], ch[2048], sh[512], esh[600], cred[300], ecred[400], q[1200], creq[4096],
      sig[65];
  s3_hdr all[16];
  if (nhdrs > 15 || expires_s < 1 || expires_s > 604800) return -1; /* SigV4 presigns last 7 days at most */
  if (s3_object_url(c, key, host, sizeof host, uri, sizeof uri, base, sizeof base)) return -1;
  all[0] = (s3_hdr){ "host", host };
  if (nhdrs > 0) memcpy(all + 1, hdrs, sizeof *hdrs * (size_t)nhdrs);
  if (canon_headers(all, nhdrs + 1, ch, sizeof ch, sh, sizeof sh)) return -1;
  int n = snprintf(cred, sizeof cred, "%s/%.8s/%s/s3/aws4_request", c->access_key, amz_date, c->region);
  if (n < 0 || (size_t)n >= sizeof cred || s3_uri_encode(cred, 0, ecred, sizeof ecred) < 0 ||
      s3_uri_encode(sh, 0, esh, sizeof esh) < 0)
    return -1;
  /* the query parameters, already in sorted order (canonical query string) */
  n = snprintf(q, sizeof q,
               "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%d"
               "&X-Amz-SignedHeaders=%s",
               ecred, amz_date, expires_s, esh);
  if (n < 0 || (size_t)n >= sizeof q) return -1;
  size_t o = 0;
  if (app(creq, sizeof creq, &o, "%s\n%s\n%s\n%s\n%s\n%s", method, uri, q, ch, sh, UNSIGNED) ||
      signature(c, creq, amz_date, sig))
    return -1;
  n = snprintf(url, cap, "%s?%s&X-Amz-Signature=%s", base, q, sig);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int s3_xml_value(const char *xml, size_t len, const char *tag, char *out, size_t cap) {
  char open[72], close[72];
  size_t tl = strlen(tag);
  if (!xml || tl == 0 || tl > 64 || cap == 0) return -1;
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = memmem(xml, len, open, tl + 2);
  if (!a) return -1;
  a += tl + 2;
  const char *end = xml + len, *b = memmem(a, (size_t)(end - a), close, tl + 3);
  if (!b) return -1;
  size_t o = 0;
  for (const char *p = a; p < b;) {
    char ch = *p;
    if (ch == '&') {
      static const struct { const char *ent; char ch; } ents[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' } };
      size_t k = 0;
      for (; k < sizeof ents / sizeof *ents; k++) {
        size_t el = strlen(ents[k].ent);
        if ((size_t)(b - p) >= el && !memcmp(p, ents[k].ent, el)) { ch = ents[k].ch, p += el; break; }
      }
      if (k == sizeof ents / sizeof *ents) p++; /* an entity we do not decode stays as '&' */
    } else {
      p++;
    }
    if (o + 1 >= cap) return -1;
    out[o++] = ch;
  }
  out[o] = 0;
  return (int)o;
}

/* ---- calls ------------------------------------------------------------------------- */

int s3_register(void) {
  /* A store that times out five times in a row is down: uploads answer 503 at once for
   * 15 s instead of holding workers for 30 s each. */
  return integ_register(&(integ_conf){ .name = "s3", .failures = 5, .cooldown_ms = 15000 });
}

typedef struct call {
  const char *method, *key, *query; /* query canonical (sorted, encoded) or NULL */
  const void *body;
  size_t body_len;
  const char *content_type, *cache_control, *range;
  size_t max_response;
  int idempotent;
  int timeout_ms; /* 0: the conf's */
} call;

static int do_call(const s3_conf *c, const call *k, integ_response *res) {
  char host[320], uri[1200], url[1700], full[2900], date[17], phash[65], auth[700];
  char h_host[340], h_date[40], h_sha[100], h_auth[720], h_ct[160], h_cc[160], h_range[100];
  memset(res, 0, sizeof *res);
  if (s3_object_url(c, k->key, host, sizeof host, uri, sizeof uri, url, sizeof url)) return INTEG_EINVAL;
  s3_amz_date(vz_wall_ms() / 1000, date);
  s3_sha256_hex(k->body ? k->body : "", k->body ? k->body_len : 0, phash);
  s3_hdr sh[5] = { { "host", host }, { "x-amz-content-sha256", phash }, { "x-amz-date", date } };
  int nsh = 3;
  if (k->content_type) sh[nsh++] = (s3_hdr){ "content-type", k->content_type };
  if (k->cache_control) sh[nsh++] = (s3_hdr){ "cache-control", k->cache_control };
  if (s3_sign_header(c, k->method, uri, k->query, sh, nsh, phash, date, auth, sizeof auth)) return INTEG_EINVAL;
  snprintf(full, sizeof full, "%s%s%s", url, k->query && *k->query ? "?" : "", k->query ? k->query : "");
  const char *hv[10];
  int nh = 0;
  snprintf(h_host, sizeof h_host, "Host: %s", host);
  snprintf(h_date, sizeof h_date, "x-amz-date: %s", date);
  snprintf(h_sha, sizeof h_sha, "x-amz-content-sha256: %s", phash);
  snprintf(h_auth, sizeof h_auth, "Authorization: %s", auth);
  hv[nh++] = h_host, hv[nh++] = h_date, hv[nh++] = h_sha, hv[nh++] = h_auth;
  if (k->content_type) snprintf(h_ct, sizeof h_ct, "Content-Type: %s", k->content_type), hv[nh++] = h_ct;
  if (k->cache_control) snprintf(h_cc, sizeof h_cc, "Cache-Control: %s", k->cache_control), hv[nh++] = h_cc;
  if (k->range) snprintf(h_range, sizeof h_range, "Range: %s", k->range), hv[nh++] = h_range;
  hv[nh++] = "Expect:"; /* no 100-continue round trip: the body is in memory already */
  hv[nh] = NULL;
  int tmo = k->timeout_ms > 0 ? k->timeout_ms : c->timeout_ms > 0 ? c->timeout_ms : 30000;
  integ_request rq = { .integration = "s3", .method = k->method, .url = full, .headers = hv, .body = k->body,
                       .body_len = k->body_len, .timeout_ms = tmo, .deadline_ms = tmo * 3,
                       .max_retries = k->idempotent ? (c->max_retries > 0 ? c->max_retries : 2) : 0,
                       .idempotent = k->idempotent, .backoff_ms = 200,
                       .max_response = k->max_response ? k->max_response : (1u << 20) };
  return integ_call_sync(&rq, res);
}

/* 0 for a 2xx, S3_ENOTFOUND for 404, S3_EHTTP otherwise; or the transport error. */
static int outcome(int rc, const integ_response *res) {
  if (rc < 0) return rc;
  if (res->status >= 200 && res->status < 300) return 0;
  return res->status == 404 ? S3_ENOTFOUND : S3_EHTTP;
}

int s3_put(const s3_conf *c, const char *key, const void *body, size_t len, const char *content_type,
           const char *cache_control) {
  integ_response res;
  int rc = do_call(c, &(call){ .method = "PUT", .key = key, .body = body, .body_len = len,
                               .content_type = content_type, .cache_control = cache_control, .idempotent = 1 }, &res);
  rc = outcome(rc, &res);
  integ_response_clear(&res);
  return rc;
}

int s3_get(const s3_conf *c, const char *key, const char *range, size_t max, char **out, size_t *len) {
  integ_response res;
  *out = NULL, *len = 0;
  /* a ranged read is a request's (confirm's sniff): it must not hold a worker for long */
  int rc = do_call(c, &(call){ .method = "GET", .key = key, .range = range, .max_response = max, .idempotent = 1,
                               .timeout_ms = range ? 5000 : 0 }, &res);
  rc = outcome(rc, &res);
  if (rc == 0) {
    *out = res.body, *len = res.body_len;
    res.body = NULL;
  }
  integ_response_clear(&res);
  return rc;
}

int s3_head(const s3_conf *c, const char *key, int64_t *size, char *content_type, size_t ctcap) {
  integ_response res;
  int rc = do_call(c, &(call){ .method = "HEAD", .key = key, .idempotent = 1, .timeout_ms = 5000 }, &res);
  rc = outcome(rc, &res);
  if (rc == 0) {
    char v[64];
    if (size) *size = integ_response_header(&res, "Content-Length", v, sizeof v) > 0 ? strtoll(v, NULL, 10) : -1;
    if (content_type && ctcap && integ_response_header(&res, "Content-Type", content_type, ctcap) < 0)
      content_type[0] = 0;
  }
  integ_response_clear(&res);
  return rc;
}

int s3_delete(const s3_conf *c, const char *key) {
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "DELETE", .key = key, .idempotent = 1 }, &res), &res);
  integ_response_clear(&res);
  return rc == S3_ENOTFOUND ? 0 : rc; /* gone already is gone */
}

int s3_ensure_bucket(const s3_conf *c) {
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "HEAD", .idempotent = 1 }, &res), &res);
  integ_response_clear(&res);
  if (rc != S3_ENOTFOUND) return rc;
  rc = outcome(do_call(c, &(call){ .method = "PUT", .idempotent = 1 }, &res), &res);
  integ_response_clear(&res);
  return rc;
}

int s3_mpu_create(const s3_conf *c, const char *key, const char *content_type, char *upload_id, size_t cap) {
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "POST", .key = key, .query = "uploads=",
                                       .content_type = content_type }, &res), &res);
  if (rc == 0 && s3_xml_value(res.body, res.body_len, "UploadId", upload_id, cap) <= 0) rc = S3_EXML;
  integ_response_clear(&res);
  return rc;
}

int s3_mpu_part(const s3_conf *c, const char *key, const char *upload_id, int part, const void *body, size_t len,
                char *etag, size_t etcap) {
  char q[600], eid[500];
  if (s3_uri_encode(upload_id, 0, eid, sizeof eid) < 0) return INTEG_EINVAL;
  snprintf(q, sizeof q, "partNumber=%d&uploadId=%s", part, eid);
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "PUT", .key = key, .query = q, .body = body, .body_len = len,
                                       .idempotent = 1 }, &res), &res);
  if (rc == 0 && integ_response_header(&res, "ETag", etag, etcap) <= 0) rc = S3_EXML;
  integ_response_clear(&res);
  return rc;
}

int s3_mpu_complete(const s3_conf *c, const char *key, const char *upload_id, char *const *etags, int nparts) {
  char q[600], eid[500];
  if (s3_uri_encode(upload_id, 0, eid, sizeof eid) < 0) return INTEG_EINVAL;
  snprintf(q, sizeof q, "uploadId=%s", eid);
  size_t cap = 128 + (size_t)nparts * 200, o = 0;
  char *xml = malloc(cap);
  if (!xml) return INTEG_ENOMEM;
  int bad = app(xml, cap, &o, "<CompleteMultipartUpload>");
  for (int i = 0; i < nparts && !bad; i++)
    bad = app(xml, cap, &o, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1, etags[i]);
  if (bad || app(xml, cap, &o, "</CompleteMultipartUpload>")) { free(xml); return INTEG_EINVAL; }
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "POST", .key = key, .query = q, .body = xml, .body_len = o,
                                       .content_type = "application/xml", .idempotent = 1 }, &res), &res);
  free(xml);
  char code[64];
  /* "a 200 OK response can contain either a success or an error" (CompleteMultipartUpload) */
  if (rc == 0 && s3_xml_value(res.body, res.body_len, "Code", code, sizeof code) > 0) rc = S3_EHTTP;
  integ_response_clear(&res);
  return rc;
}

int s3_mpu_abort(const s3_conf *c, const char *key, const char *upload_id) {
  char q[600], eid[500];
  if (s3_uri_encode(upload_id, 0, eid, sizeof eid) < 0) return INTEG_EINVAL;
  snprintf(q, sizeof q, "uploadId=%s", eid);
  integ_response res;
  int rc = outcome(do_call(c, &(call){ .method = "DELETE", .key = key, .query = q, .idempotent = 1 }, &res), &res);
  integ_response_clear(&res);
  return rc == S3_ENOTFOUND ? 0 : rc;
}
