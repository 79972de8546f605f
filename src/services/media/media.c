/* media.c: the local-disk backend and GET /v1/media/:key. Files sit flat in
 * DATA_DIR/media under their keys; keys are validated against the one shape the server
 * generates before any path is built, so no request can name a file outside that
 * directory. Writes go to a unique temporary name and are renamed into place, so a
 * reader sees the whole old file or the whole new one, never a torn write. */
#include "services/media/media.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/http.h"

#define MEDIA_MAX_FILE (16u << 20) /* never read more than this into memory */

static char root[512];

const char *media_sniff_image(const void *bytes, size_t len) {
  const unsigned char *b = bytes;
  if (!b) return NULL;
  if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "image/jpeg";
  if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "image/webp";
  return NULL;
}

const char *media_ext(const char *type) {
  if (!type) return NULL;
  if (!strcmp(type, "image/jpeg")) return "jpg";
  if (!strcmp(type, "image/png")) return "png";
  if (!strcmp(type, "image/webp")) return "webp";
  return NULL;
}

const char *media_type_of(const char *key) {
  const char *dot = key ? strrchr(key, '.') : NULL;
  if (!dot) return NULL;
  if (!strcmp(dot, ".jpg")) return "image/jpeg";
  if (!strcmp(dot, ".png")) return "image/png";
  if (!strcmp(dot, ".webp")) return "image/webp";
  return NULL;
}

int media_key_ok(const char *key) {
  size_t n = key ? strlen(key) : 0;
  if (n < 5 || n > 100 || key[0] == '.' || strstr(key, "..")) return 0;
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

static int path_of(const char *key, char *out, size_t cap) {
  if (!root[0] || !media_key_ok(key)) return MEDIA_EINVAL;
  int n = snprintf(out, cap, "%s/%s", root, key);
  return n < 0 || (size_t)n >= cap ? MEDIA_EINVAL : MEDIA_OK;
}

int media_put(const char *key, const void *bytes, size_t len, const char *type) {
  char path[640], tmp[700];
  unsigned char r[8];
  char hex[17];
  if (path_of(key, path, sizeof path) || !type || !media_type_of(key) || strcmp(media_type_of(key), type))
    return MEDIA_EINVAL;
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(tmp, sizeof tmp, "%s/.tmp-%s", root, hex);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return MEDIA_EIO;
  const char *p = bytes;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) goto fail;
    p += w, left -= (size_t)w;
  }
  if (fsync(fd) != 0) goto fail;
  if (close(fd) != 0) { fd = -1; goto fail; }
  fd = -1;
  if (rename(tmp, path) != 0) goto fail;
  return MEDIA_OK;
fail:
  if (fd >= 0) close(fd);
  unlink(tmp);
  return MEDIA_EIO;
}

int media_get(const char *key, void **out, size_t *len, const char **type) {
  char path[640];
  struct stat sb;
  *out = NULL, *len = 0;
  if (path_of(key, path, sizeof path)) return MEDIA_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? MEDIA_ENOTFOUND : MEDIA_EIO;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > MEDIA_MAX_FILE) { close(fd); return MEDIA_EIO; }
  size_t n = (size_t)sb.st_size, got = 0;
  char *buf = malloc(n ? n : 1);
  if (!buf) { close(fd); return MEDIA_EIO; }
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (got != n) { free(buf); return MEDIA_EIO; }
  *out = buf, *len = n;
  if (type) *type = media_type_of(key);
  return MEDIA_OK;
}

int media_delete(const char *key) {
  char path[640];
  if (path_of(key, path, sizeof path)) return MEDIA_EINVAL;
  if (unlink(path) != 0) return errno == ENOENT ? MEDIA_ENOTFOUND : MEDIA_EIO;
  return MEDIA_OK;
}

/* ---- GET /v1/media/:key ------------------------------------------------------------- */

/* 1 when If-None-Match lists etag (or is "*"); RFC 9110 13.1.2 uses weak comparison. */
static int etag_matches(const char *inm, const char *etag) {
  if (!inm) return 0;
  return !strcmp(inm, "*") || strstr(inm, etag) != NULL;
}

static int media_h_get(vz_req *req) {
  const char *key = vz_req_param(req, "key");
  if (!media_key_ok(key)) return vz_fail(req, 404, "not_found", "key", "no such media");
  char *etag = vz_arena_printf(req->arena, "\"%s\"", key); /* keys are immutable: the key is the version */
  vz_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
  vz_add_header(req, "ETag", etag);
  /* X-Content-Type-Options: nosniff comes with every reply from the core */
  void *bytes = NULL;
  size_t len = 0;
  const char *type = NULL;
  int rc = media_get(key, &bytes, &len, &type);
  if (rc == MEDIA_ENOTFOUND || rc == MEDIA_EINVAL) {
    req->nres_headers = 0; /* a 404 must not be cached for a year */
    return vz_fail(req, 404, "not_found", "key", "no such media");
  }
  if (rc) return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  if (etag_matches(vz_req_header(req, "If-None-Match"), etag)) {
    free(bytes);
    return vz_reply_empty(req, 304);
  }
  rc = vz_reply_bytes(req, 200, type, bytes, len);
  free(bytes);
  return rc;
}

/* the contract's description of a key (media_key_ok checks it, answering 404) */
static const vz_field key_param[] = { { "key", VZ_STR, VZ_REQUIRED, 5, 100, 0 }, { 0 } };

vz_route media_routes[] = {
  /* reads the file on the pool */
  VZ_GET("/v1/media/:key", media_h_get, .op = "getMedia",
         .summary = "A stored file (immutable; ETag, 304 on If-None-Match)", .res = "=File", .res_type = "image/*",
         .errors = "304", .params = key_param),
  { 0 } };

int media_open(const char *data_dir) {
  int n = snprintf(root, sizeof root, "%s/media", data_dir && *data_dir ? data_dir : ".");
  if (n < 0 || (size_t)n >= sizeof root) return -1;
  if (mkdir(root, 0750) != 0 && errno != EEXIST) return -1;
  return 0;
}
