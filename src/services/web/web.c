/* web: the built web app (web/, `make` puts it in build/web) served at / by the binary, so
 * `make run` shows a product, not a JSON 404. The same files deploy unchanged on any CDN
 * (web/public/config.js names the API there).
 *
 * The whole root is read into memory at start: a few hundred KB of hashed assets, served
 * from the io loop with no disk access and no path ever built from a request. A request
 * can only name a file by matching a key of this table exactly, so `..`, symlinks and
 * encoded slashes cannot reach anything else (the router also refuses dot segments).
 * Compressible files are gzipped once, here, at level 9.
 *
 * Caching: Vite's hashed files under /assets/ never change under their name, so they are
 * `immutable` for a year; everything else (index.html, config.js, icons) is `no-cache` and
 * revalidated with its ETag (304). Paths with no file that look like app routes (no dot in
 * the last segment) get index.html: the SPA fallback. The API's own namespaces never do:
 * an unknown /v1/... still answers the JSON 404 an API client expects.
 *
 * The route is VZ_FALLBACK (core/http.h): the router offers it only a path no other route
 * knows and outside every route's first segment (/v1, /socket.io, /metrics...), whatever
 * the order of the service list. A changed build needs a restart. */
#include "services/web/web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "core/service.h"

#define WEB_MAX_FILES 4000
#define WEB_MAX_BYTES (64u << 20) /* the whole app; a root pointed at the wrong folder stops here */
#define WEB_MAX_DEPTH 8

typedef struct web_file {
  char *path;          /* "/assets/index-3f9a1c.js" */
  const char *type;
  char *body, *gz;     /* gz: NULL when gzip does not pay */
  size_t len, gz_len;
  char etag[24];       /* "\"<16 hex>\"" of the content */
  int immutable;
} web_file;

static char web_root[512] = "build/web";
static web_file *files;
static int nfiles;
static size_t total_bytes;
static const web_file *index_file;

static const vz_opt web_opts[] = {
  VZ_OPT("web-root", "VIDZO_WEB_ROOT", VZ_OPT_STR, web_root, 0, 0,
         "folder of the built web app served at / (build/web; empty: none)"),
  { 0 },
};

static const struct { const char *ext, *type; int gzip; } types[] = {
  { ".html", "text/html; charset=utf-8", 1 },
  { ".js", "text/javascript; charset=utf-8", 1 },
  { ".mjs", "text/javascript; charset=utf-8", 1 },
  { ".css", "text/css; charset=utf-8", 1 },
  { ".json", "application/json", 1 },
  { ".map", "application/json", 1 },
  { ".webmanifest", "application/manifest+json", 1 },
  { ".svg", "image/svg+xml", 1 },
  { ".txt", "text/plain; charset=utf-8", 1 },
  { ".png", "image/png", 0 },
  { ".jpg", "image/jpeg", 0 },
  { ".webp", "image/webp", 0 },
  { ".ico", "image/x-icon", 1 },
  { ".woff2", "font/woff2", 0 },
  { ".wasm", "application/wasm", 1 },
  { NULL, NULL, 0 },
};

static int type_of(const char *path, const char **type) {
  const char *dot = strrchr(path, '.');
  for (int i = 0; dot && types[i].ext; i++)
    if (!strcmp(dot, types[i].ext)) return *type = types[i].type, types[i].gzip;
  *type = "application/octet-stream";
  return 0;
}

static char *read_all(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > WEB_MAX_BYTES) { close(fd); return NULL; }
  size_t n = (size_t)sb.st_size, got = 0;
  char *buf = malloc(n ? n : 1);
  while (buf && got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != n) { free(buf); return NULL; }
  *len = n;
  return buf;
}

/* gzip at level 9 (once per file, at start); kept only when it saves a tenth or more. */
static void web_gzip(web_file *f) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (f->len < 256 || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return;
  uLong cap = deflateBound(&z, (uLong)f->len);
  char *out = malloc(cap);
  if (out) {
    z.next_in = (Bytef *)f->body, z.avail_in = (uInt)f->len;
    z.next_out = (Bytef *)out, z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < f->len - f->len / 10) {
      f->gz = out, f->gz_len = z.total_out;
      out = NULL;
    }
  }
  free(out);
  deflateEnd(&z);
}

/* Adds one regular file; rel is its URL path ("/assets/x.js"). */
static int web_add(const char *full, const char *rel) {
  if (nfiles >= WEB_MAX_FILES) return vz_log(VZ_LOG_ERROR, "web root has too many files", "root", web_root, (char *)0), -1;
  web_file f;
  memset(&f, 0, sizeof f);
  if (!(f.body = read_all(full, &f.len))) return 0; /* vanished or not regular: skipped */
  if (total_bytes + f.len > WEB_MAX_BYTES) {
    free(f.body);
    return vz_log(VZ_LOG_ERROR, "web root is over 64 MB", "root", web_root, (char *)0), -1;
  }
  total_bytes += f.len;
  f.path = strdup(rel);
  int gz = type_of(rel, &f.type);
  unsigned char h[8];
  crypto_generichash(h, sizeof h, (const unsigned char *)f.body, f.len, NULL, 0);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(f.etag, sizeof f.etag, "\"%s\"", hex);
  f.immutable = !strncmp(rel, "/assets/", 8);
  if (gz) web_gzip(&f);
  files[nfiles++] = f;
  return 0;
}

/* Walks dir (depth-limited); dot files and symlinks are skipped, so nothing outside the
 * root and nothing hidden (.git, .env) is ever loaded. */
static int web_walk(const char *dir, const char *rel, int depth) {
  if (depth > WEB_MAX_DEPTH) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char full[1024], r[1024];
    int n1 = snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
    int n2 = snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof full || (size_t)n2 >= sizeof r) continue;
    struct stat sb;
    if (lstat(full, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) rc = web_walk(full, r, depth + 1);
    else if (S_ISREG(sb.st_mode)) rc = web_add(full, r);
  }
  closedir(d);
  return rc;
}

static int cmp_file(const void *a, const void *b) {
  return strcmp(((const web_file *)a)->path, ((const web_file *)b)->path);
}

static const web_file *web_find(const char *path) {
  int lo = 0, hi = nfiles - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(path, files[mid].path);
    if (!c) return &files[mid];
    if (c < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return NULL;
}

/* The API's and operators' namespaces: never the app, whatever is in the web root. The
 * router already keeps every namespace a route uses away from the fallback; this list
 * also covers those whose service is switched off or not built in. */
static int web_reserved(const char *p) {
  static const char *const ns[] = { "/v1", "/socket.io", "/docs", "/metrics", "/healthz", "/readyz", NULL };
  for (int i = 0; ns[i]; i++) {
    size_t n = strlen(ns[i]);
    if (!strncmp(p, ns[i], n) && (p[n] == 0 || p[n] == '/' || p[n] == '.')) return 1;
  }
  return 0;
}

/* 1 when If-None-Match names etag (or is "*"); RFC 9110 13.1.2: weak comparison. */
static int web_etag_matches(const char *inm, const char *etag) {
  return inm && (!strcmp(inm, "*") || strstr(inm, etag) != NULL);
}

static int web_send(vz_req *req, const web_file *f) {
  vz_add_header(req, "Cache-Control", f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  vz_add_header(req, "ETag", f->etag);
  if (f == index_file) {
    /* scripts only from here: an injected <script> or inline handler does not run. The API,
     * HLS and images may live on other origins (CDN deploys), hence the wider rest. */
    vz_add_header(req, "Content-Security-Policy",
                  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                  "img-src * data: blob:; media-src * blob:; connect-src *; worker-src 'self' blob:; "
                  "object-src 'none'; base-uri 'self'; frame-ancestors 'none'");
    vz_add_header(req, "Referrer-Policy", "strict-origin-when-cross-origin");
  }
  if (f->gz) vz_add_header(req, "Vary", "Accept-Encoding");
  if (web_etag_matches(vz_req_header(req, "If-None-Match"), f->etag)) return vz_reply_empty(req, 304);
  if (f->gz && req->accepts_gzip) {
    vz_add_header(req, "Content-Encoding", "gzip");
    return vz_reply_bytes(req, 200, f->type, f->gz, f->gz_len);
  }
  return vz_reply_bytes(req, 200, f->type, f->body, f->len);
}

static int web_h_get(vz_req *req) {
  const char *p = req->path;
  if (!nfiles || web_reserved(p)) return vz_fail(req, 404, "not_found", NULL, "no such endpoint");
  const web_file *f = web_find(strcmp(p, "/") ? p : "/index.html");
  if (f) return web_send(req, f);
  /* A missing file (a dot in the last segment, or anything under /assets/) is a 404: an
   * old page asking for a replaced bundle must fail loudly, not get HTML as JavaScript. */
  const char *last = strrchr(p, '/');
  if (!index_file || !strncmp(p, "/assets/", 8) || (last && strchr(last, '.')))
    return vz_fail(req, 404, "not_found", NULL, "no such file");
  return web_send(req, index_file);
}

static vz_route web_routes[] = {
  /* answered from memory on the loop; offered only what no other route matches */
  VZ_GET("/", web_h_get, .flags = VZ_ON_LOOP | VZ_PREFIX | VZ_FALLBACK | VZ_UNLISTED),
  { 0 },
};

int web_load(const char *root) {
  web_unload();
  if (!root || !*root) return 0;
  struct stat sb;
  if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    vz_log(VZ_LOG_WARN, "no web app: web root not found (run make)", "root", root, (char *)0);
    return 0;
  }
  files = calloc(WEB_MAX_FILES, sizeof *files);
  if (!files) return -1;
  if (web_walk(root, "", 0) < 0) { web_unload(); return -1; }
  qsort(files, (size_t)nfiles, sizeof *files, cmp_file);
  index_file = web_find("/index.html");
  char n[16];
  snprintf(n, sizeof n, "%d", nfiles);
  vz_log(VZ_LOG_INFO, "web app loaded", "root", root, "files", n, (char *)0);
  return 0;
}

void web_unload(void) {
  for (int i = 0; i < nfiles; i++) free(files[i].path), free(files[i].body), free(files[i].gz);
  free(files);
  files = NULL, nfiles = 0, total_bytes = 0, index_file = NULL;
}

static int web_start(void) { return web_load(web_root); }

const vz_service web_service = {
  .name = "web", .opts = web_opts, .routes = web_routes, .start = web_start, .stop = web_unload };
