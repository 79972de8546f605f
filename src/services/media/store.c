/* media/store.c: one storage interface (internal.h media_store), two backends.
 *
 * local: flat files under DATA_DIR/media named by their keys. Keys are checked against
 * the shapes the server generates before any path is built (media_key_ok), so nothing a
 * client sends can name a file outside that directory. Writes go to a unique temporary
 * name, are fsync'd and renamed into place: a reader sees a whole file or none, never a
 * torn write ("nothing half-written is ever referenced").
 *
 * s3: integrations/s3.h on the integrations thread (retries, breaker "s3"). A PUT is one
 * request (the store writes it whole or not at all); large files go up as a multipart
 * upload that is completed only when every part arrived, and aborted otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "integrations/http.h"
#include "lib/clock.h"
#include "services/media/internal.h"

media_settings media_cfg = {
  .backend = "local", .upload_ttl_s = 3600, .max_pixels = 40000000, .max_dimension = 10000,
  .s3 = { .region = "us-east-1", .path_style = 1 },
};

static char root[512];
static unsigned char url_key[32];
static const media_store *active = &media_store_local;

const media_store *media_store_get(void) { return active; }

/* ---- keys ------------------------------------------------------------------------- */

static const struct { const char *ext, *type; } exts[] = {
  { "jpg", "image/jpeg" }, { "png", "image/png" }, { "webp", "image/webp" }, { "bin", "application/octet-stream" },
  { "mp4", "video/mp4" }, { "pdf", "application/pdf" }, { "m3u8", "application/vnd.apple.mpegurl" },
  { "ts", "video/mp2t" },
};

const char *media_ext(const char *type) {
  if (!type) return NULL;
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
    if (!strcmp(type, exts[i].type)) return exts[i].ext;
  return NULL;
}

const char *media_type_of(const char *key) {
  const char *dot = key ? strrchr(key, '.') : NULL;
  if (!dot) return NULL;
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
    if (!strcmp(dot + 1, exts[i].ext)) return exts[i].type;
  return NULL;
}

int media_key_ok(const char *key) {
  size_t n = key ? strlen(key) : 0;
  if (n < 5 || n > 100 || key[0] == '.' || key[0] == '-' || strstr(key, "..")) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return 0;
  }
  return media_type_of(key) != NULL;
}

int media_new_key(const char *prefix, const char *type, char *out, size_t cap) {
  unsigned char r[16];
  char hex[33];
  const char *ext = media_ext(type);
  if (!ext) return MEDIA_EINVAL;
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  int n = snprintf(out, cap, "%s-%s.%s", prefix, hex, ext);
  if (n < 0 || (size_t)n >= cap || !media_key_ok(out)) return MEDIA_EINVAL;
  return MEDIA_OK;
}

const char *media_sniff_image(const void *bytes, size_t len) {
  const unsigned char *b = bytes;
  if (!b) return NULL;
  if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "image/jpeg";
  if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "image/webp";
  return NULL;
}

/* ---- local ------------------------------------------------------------------------ */

int media_local_path(const char *key, char *out, size_t cap) {
  if (!root[0] || !media_key_ok(key)) return MEDIA_EINVAL;
  int n = snprintf(out, cap, "%s/%s", root, key);
  return n < 0 || (size_t)n >= cap ? MEDIA_EINVAL : MEDIA_OK;
}

/* Writes src (bytes, or a file when path is set) to a temporary file, then renames it. */
static int local_write(const char *key, const void *bytes, size_t len, const char *src_path) {
  char path[640], tmp[700], hex[17];
  unsigned char r[8];
  if (media_local_path(key, path, sizeof path)) return MEDIA_EINVAL;
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(tmp, sizeof tmp, "%s/.tmp-%s", root, hex);
  int in = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return MEDIA_EIO;
  char buf[65536];
  if (src_path && (in = open(src_path, O_RDONLY | O_CLOEXEC)) < 0) goto fail;
  for (;;) {
    const char *p = bytes;
    size_t left = len;
    if (in >= 0) {
      ssize_t got = read(in, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) goto fail;
      if (got == 0) break;
      p = buf, left = (size_t)got;
    }
    while (left) {
      ssize_t w = write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) goto fail;
      p += w, left -= (size_t)w;
    }
    if (in < 0) break;
  }
  if (in >= 0) close(in), in = -1;
  if (fsync(fd) != 0) goto fail;
  if (close(fd) != 0) { fd = -1; goto fail; }
  fd = -1;
  if (rename(tmp, path) != 0) goto fail;
  return MEDIA_OK;
fail:
  if (in >= 0) close(in);
  if (fd >= 0) close(fd);
  unlink(tmp);
  return MEDIA_EIO;
}

static int local_put(const char *key, const void *b, size_t n, const char *type, const char *cc) {
  (void)type, (void)cc;
  return local_write(key, b, n, NULL);
}

static int local_put_file(const char *key, const char *path, const char *type) {
  (void)type;
  return local_write(key, NULL, 0, path);
}

static int local_get(const char *key, const char *range, size_t max, char **out, size_t *len) {
  char path[640];
  struct stat sb;
  *out = NULL, *len = 0;
  if (media_local_path(key, path, sizeof path)) return MEDIA_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? MEDIA_ENOTFOUND : MEDIA_EIO;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) { close(fd); return MEDIA_EIO; }
  int64_t start = 0, end = (int64_t)sb.st_size - 1;
  if (range && media_parse_range(range, sb.st_size, &start, &end) < 0) { close(fd); return MEDIA_EINVAL; }
  size_t n = (size_t)(end - start + 1), got = 0;
  if (sb.st_size == 0) n = 0;
  if (n > max) { close(fd); return MEDIA_ETOOBIG; }
  char *buf = malloc(n + 1);
  if (!buf) { close(fd); return MEDIA_EIO; }
  while (got < n) {
    ssize_t r = pread(fd, buf + got, n - got, (off_t)(start + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (got != n) { free(buf); return MEDIA_EIO; }
  buf[n] = 0;
  *out = buf, *len = n;
  return MEDIA_OK;
}

static int local_head(const char *key, int64_t *size) {
  char path[640];
  struct stat sb;
  if (media_local_path(key, path, sizeof path)) return MEDIA_EINVAL;
  if (stat(path, &sb) != 0) return errno == ENOENT ? MEDIA_ENOTFOUND : MEDIA_EIO;
  if (size) *size = sb.st_size;
  return MEDIA_OK;
}

static int local_del(const char *key) {
  char path[640];
  if (media_local_path(key, path, sizeof path)) return MEDIA_EINVAL;
  if (unlink(path) != 0) return errno == ENOENT ? MEDIA_ENOTFOUND : MEDIA_EIO;
  return MEDIA_OK;
}

const media_store media_store_local = { "local", local_put, local_put_file, local_get, local_head, local_del };

/* ---- s3 --------------------------------------------------------------------------- */

static int s3_err(int rc) {
  if (rc == 0) return MEDIA_OK;
  if (rc == S3_ENOTFOUND) return MEDIA_ENOTFOUND;
  if (rc == INTEG_ETOOBIG) return MEDIA_ETOOBIG;
  if (rc == INTEG_EOPEN || rc == INTEG_ECONNECT || rc == INTEG_ETIMEDOUT || rc == INTEG_ESTOPPED)
    return MEDIA_EUNAVAILABLE;
  return MEDIA_EIO;
}

static int s3b_put(const char *key, const void *b, size_t n, const char *type, const char *cc) {
  return s3_err(s3_put(&media_cfg.s3, key, b, n, type, cc));
}

#define PART (8u << 20) /* S3 wants parts of 5 MiB at least (but the last) */

static int s3b_put_file(const char *key, const char *path, const char *type) {
  struct stat sb;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MEDIA_EIO;
  if (fstat(fd, &sb) != 0) { close(fd); return MEDIA_EIO; }
  char *buf = malloc(PART);
  if (!buf) { close(fd); return MEDIA_EIO; }
  int rc = MEDIA_EIO;
  if ((size_t)sb.st_size <= PART) { /* small: one PUT */
    ssize_t got = read(fd, buf, PART);
    rc = got == sb.st_size ? s3b_put(key, buf, (size_t)got, type, NULL) : MEDIA_EIO;
    goto out;
  }
  char upload_id[512];
  int nparts = (int)(((size_t)sb.st_size + PART - 1) / PART);
  if (nparts > 10000) goto out;
  char **etags = calloc((size_t)nparts, sizeof *etags);
  if (!etags) goto out;
  int e = s3_mpu_create(&media_cfg.s3, key, type, upload_id, sizeof upload_id);
  if (e) { rc = s3_err(e); free(etags); goto out; }
  for (int i = 0; i < nparts && !e; i++) {
    size_t want = i == nparts - 1 ? (size_t)sb.st_size - (size_t)i * PART : PART, got = 0;
    while (got < want) {
      ssize_t r = pread(fd, buf + got, want - got, (off_t)((size_t)i * PART + got));
      if (r <= 0 && !(r < 0 && errno == EINTR)) break;
      if (r > 0) got += (size_t)r;
    }
    if (got != want || !(etags[i] = malloc(256))) { e = INTEG_EINVAL; break; }
    e = s3_mpu_part(&media_cfg.s3, key, upload_id, i + 1, buf, want, etags[i], 256);
  }
  if (!e) e = s3_mpu_complete(&media_cfg.s3, key, upload_id, etags, nparts);
  if (e) s3_mpu_abort(&media_cfg.s3, key, upload_id); /* the parts must not linger (they are billed) */
  rc = s3_err(e);
  for (int i = 0; i < nparts; i++) free(etags[i]);
  free(etags);
out:
  free(buf);
  close(fd);
  return rc;
}

static int s3b_get(const char *key, const char *range, size_t max, char **out, size_t *len) {
  return s3_err(s3_get(&media_cfg.s3, key, range, max, out, len));
}

static int s3b_head(const char *key, int64_t *size) { return s3_err(s3_head(&media_cfg.s3, key, size, NULL, 0)); }

static int s3b_del(const char *key) { return s3_err(s3_delete(&media_cfg.s3, key)); }

const media_store media_store_s3 = { "s3", s3b_put, s3b_put_file, s3b_get, s3b_head, s3b_del };

int media_store_down(int *retry_after_s) {
  if (active != &media_store_s3) return 0;
  return integ_breaker_state("s3", retry_after_s) == INTEG_OPEN;
}

/* ---- the old key API and URLs ------------------------------------------------------ */

int media_put(const char *key, const void *bytes, size_t len, const char *type) {
  if (!type || !media_type_of(key) || strcmp(media_type_of(key), type)) return MEDIA_EINVAL;
  return active->put(key, bytes, len, type, "public, max-age=31536000, immutable");
}

int media_get(const char *key, void **out, size_t *len, const char **type) {
  char *b = NULL;
  int rc = active->get(key, NULL, 64u << 20, &b, len);
  *out = b;
  if (rc == 0 && type) *type = media_type_of(key);
  return rc;
}

int media_delete(const char *key) { return active->del(key); }

int media_public_url(const char *key, char *out, size_t cap) {
  int n;
  if (media_cfg.cdn_url[0]) {
    size_t bl = strlen(media_cfg.cdn_url);
    n = snprintf(out, cap, "%.*s/%s", (int)(bl && media_cfg.cdn_url[bl - 1] == '/' ? bl - 1 : bl), media_cfg.cdn_url,
                 key);
  } else if (active == &media_store_s3) {
    char host[320], uri[1200];
    return s3_object_url(&media_cfg.s3, key, host, sizeof host, uri, sizeof uri, out, cap) ? MEDIA_EINVAL : 0;
  } else {
    n = snprintf(out, cap, "/v1/media/%s", key);
  }
  return n < 0 || (size_t)n >= cap ? MEDIA_EINVAL : 0;
}

int media_presign_put(const char *key, int64_t size, const char *type, int ttl_s, char *url, size_t cap) {
  char date[17], len[24];
  s3_amz_date(vz_wall_ms() / 1000, date);
  snprintf(len, sizeof len, "%lld", (long long)size);
  s3_hdr h[2] = { { "content-length", len }, { "content-type", type } };
  return s3_presign(&media_cfg.s3, "PUT", key, ttl_s, h, 2, date, url, cap) ? MEDIA_EINVAL : 0;
}

static void local_sig(const char *key, int64_t exp, char out[65]) {
  char msg[160];
  unsigned char md[32];
  unsigned int ml = 32;
  int n = snprintf(msg, sizeof msg, "%s\n%lld", key, (long long)exp);
  HMAC(EVP_sha256(), url_key, sizeof url_key, (unsigned char *)msg, (size_t)n, md, &ml);
  sodium_bin2hex(out, 65, md, 32);
}

int media_local_sig_ok(const char *key, const char *exp, const char *sig) {
  char want[65], *end = NULL;
  if (!exp || !sig || strlen(sig) != 64) return 0;
  long long e = strtoll(exp, &end, 10);
  if (!end || *end || e < vz_wall_ms() / 1000) return 0;
  local_sig(key, e, want);
  return sodium_memcmp(want, sig, 64) == 0; /* constant time */
}

int media_presign_get(const char *key, int ttl_s, char *url, size_t cap) {
  if (ttl_s <= 0) ttl_s = 900;
  if (active == &media_store_s3) {
    char date[17];
    s3_amz_date(vz_wall_ms() / 1000, date);
    return s3_presign(&media_cfg.s3, "GET", key, ttl_s, NULL, 0, date, url, cap) ? MEDIA_EINVAL : 0;
  }
  char sig[65];
  int64_t exp = vz_wall_ms() / 1000 + ttl_s;
  local_sig(key, exp, sig);
  int n = snprintf(url, cap, "/v1/media/%s?exp=%lld&sig=%s", key, (long long)exp, sig);
  return n < 0 || (size_t)n >= cap ? MEDIA_EINVAL : 0;
}

/* ---- Range ------------------------------------------------------------------------ */

static int parse_num(const char **p, int64_t *out) {
  const char *s = *p;
  int64_t v = 0;
  if (*s < '0' || *s > '9') return -1;
  while (*s >= '0' && *s <= '9') {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s++ - '0');
  }
  *p = s, *out = v;
  return 0;
}

int media_parse_range(const char *h, int64_t len, int64_t *start, int64_t *end) {
  /* RFC 9110 14.1.2: ranges-specifier = "bytes=" 1#range-spec; "A server MAY ignore the
   * Range header field": we serve one range, and ignore lists and other units. */
  if (!h || strncmp(h, "bytes=", 6)) return 0;
  const char *p = h + 6;
  while (*p == ' ') p++;
  if (strchr(p, ',')) return 0;
  int64_t a = -1, b = -1;
  if (*p == '-') { /* suffix: the last N bytes */
    p++;
    if (parse_num(&p, &b)) return 0;
    while (*p == ' ') p++;
    if (*p) return 0;
    if (b == 0 || len == 0) return -1;
    *start = b >= len ? 0 : len - b, *end = len - 1;
    return 1;
  }
  if (parse_num(&p, &a) || *p++ != '-') return 0;
  if (*p >= '0' && *p <= '9' && parse_num(&p, &b)) return 0;
  while (*p == ' ') p++;
  if (*p) return 0;
  if (b >= 0 && b < a) return 0; /* invalid: ignored, the whole representation is sent */
  if (a >= len) return -1;       /* unsatisfiable: 416 */
  *start = a, *end = (b < 0 || b >= len) ? len - 1 : b;
  return 1;
}

/* ---- start ------------------------------------------------------------------------ */

int media_open(const char *data_dir) {
  int n = snprintf(root, sizeof root, "%s/media", data_dir && *data_dir ? data_dir : ".");
  if (n < 0 || (size_t)n >= sizeof root) return -1;
  if (mkdir(root, 0750) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* The local URL key: from --media-url-secret, else a random one kept beside the files. */
static int url_key_load(void) {
  if (media_cfg.url_secret[0]) {
    crypto_generichash(url_key, sizeof url_key, (const unsigned char *)media_cfg.url_secret,
                       strlen(media_cfg.url_secret), NULL, 0);
    return 0;
  }
  char path[600];
  snprintf(path, sizeof path, "%s/.secret", root);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t r = read(fd, url_key, sizeof url_key);
    close(fd);
    if (r == (ssize_t)sizeof url_key) return 0;
  }
  randombytes_buf(url_key, sizeof url_key);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  ssize_t w = write(fd, url_key, sizeof url_key);
  close(fd);
  return w == (ssize_t)sizeof url_key ? 0 : -1;
}

int media_store_init(char *err, size_t errlen) {
  if (!strcmp(media_cfg.backend, "local")) {
    active = &media_store_local;
  } else if (!strcmp(media_cfg.backend, "s3")) {
    s3_conf *c = &media_cfg.s3;
    if (!c->endpoint[0] || !c->bucket[0] || !c->access_key[0] || !c->secret_key[0]) {
      snprintf(err, errlen, "--media-backend s3 needs --s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key");
      return -1;
    }
    if (strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8)) {
      snprintf(err, errlen, "--s3-endpoint must be an http(s) URL");
      return -1;
    }
    if (s3_register() < 0) {
      snprintf(err, errlen, "cannot register the s3 integration");
      return -1;
    }
    active = &media_store_s3;
  } else {
    snprintf(err, errlen, "--media-backend must be local or s3");
    return -1;
  }
  return 0;
}

int media_store_start(void);
int media_store_start(void) {
  if (url_key_load() < 0) return -1;
  if (active == &media_store_s3) {
    /* A missing bucket is made (MinIO, s3rver, first start); a store that is down only
     * warns: uploads answer 503 until it is back, the rest of the server works. */
    int rc = s3_ensure_bucket(&media_cfg.s3);
    if (rc) vz_log_warn("s3 bucket not reachable at start", "error", rc == S3_EHTTP ? "refused" : integ_strerror(rc));
  }
  return 0;
}
