/* media/cli.c: `vidzo media ...`.
 *   migrate --to s3   copies every object under DATA_DIR/media to the configured bucket
 *                     (--s3-* settings). Each copied key is recorded in media_migration,
 *                     so a run that stops (crash, store down) resumes where it was: a key
 *                     is recorded only after the store confirmed the whole object, and a
 *                     key copied but not recorded is simply copied again (same bytes).
 *                     Then restart with --media-backend s3.
 *   sign              prints a presigned URL and a header signature for fixed inputs
 *                     (--method --key --date --expires --content-type --payload): the
 *                     tests compare them with the npm aws4 package. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/config.h"
#include "db/db.h"
#include "integrations/http.h"
#include "lib/clock.h"
#include "services/media/internal.h"

static int cli_migrate(const char *to) {
  if (!to || strcmp(to, "s3")) {
    fprintf(stderr, "vidzo: media migrate needs --to s3\n");
    return 2;
  }
  char err[256];
  s3_conf *c = &media_cfg.s3;
  if (!c->endpoint[0] || !c->bucket[0] || !c->access_key[0] || !c->secret_key[0]) {
    fprintf(stderr, "vidzo: media migrate needs --s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key\n");
    return 2;
  }
  vz_db *db = NULL;
  if (db_open(vz_cfg.db_url, &db, err, sizeof err) < 0 || db_migrate(db, err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: database: %s\n", err);
    if (db) db_close(db);
    return 1;
  }
  if (media_open(vz_cfg.data_dir) < 0 || integ_start() < 0 || s3_register() < 0) {
    fprintf(stderr, "vidzo: cannot start\n");
    db_close(db);
    return 1;
  }
  int rc = s3_ensure_bucket(c);
  if (rc) {
    fprintf(stderr, "vidzo: bucket %s not reachable (%s)\n", c->bucket, rc == S3_EHTTP ? "refused" : integ_strerror(rc));
    integ_stop(1000);
    db_close(db);
    return 1;
  }
  char dir[600];
  media_local_path("x.jpg", dir, sizeof dir);
  *strrchr(dir, '/') = 0;
  DIR *d = opendir(dir);
  long copied = 0, skipped = 0, failed = 0;
  long long bytes = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    const char *key = e->d_name;
    char path[700];
    struct stat sb;
    if (!media_key_ok(key) || media_local_path(key, path, sizeof path) || stat(path, &sb) || !S_ISREG(sb.st_mode))
      continue; /* temporaries (.tmp-*), the URL secret, anything we did not name */
    vz_stmt *st = NULL;
    rc = db_run(db, &st, "SELECT size FROM media_migration WHERE object_key = $1 AND target = 's3'", "s", key);
    int done = rc == DB_ROW && db_col_int(st, 0) == (int64_t)sb.st_size;
    db_finalize(st);
    if (done) { skipped++; continue; }
    rc = media_store_s3.put_file(key, path, media_type_of(key));
    if (rc) {
      failed++;
      fprintf(stderr, "vidzo: %s: not copied (%d)\n", key, rc);
      if (rc == MEDIA_EUNAVAILABLE) break; /* the store is down: stop, the next run resumes */
      continue;
    }
    rc = db_run(db, NULL,
                "INSERT INTO media_migration (object_key, target, size, copied_at) VALUES ($1, 's3', $2, $3)"
                " ON CONFLICT (object_key, target) DO UPDATE SET size = excluded.size, copied_at = excluded.copied_at",
                "sii", key, (int64_t)sb.st_size, db_now_ms());
    if (rc < 0) { failed++; break; }
    copied++, bytes += sb.st_size;
  }
  if (d) closedir(d);
  integ_stop(1000);
  db_close(db);
  printf("{\"copied\":%ld,\"skipped\":%ld,\"failed\":%ld,\"bytes\":%lld}\n", copied, skipped, failed, bytes);
  return failed ? 1 : 0;
}

static int cli_sign(const char *method, const char *key, const char *date, int expires, const char *ctype,
                    const char *clen, const char *payload) {
  if (!method || !key || !date || strlen(date) != 16) {
    fprintf(stderr, "vidzo: media sign needs --method, --key and --date YYYYMMDDTHHMMSSZ\n");
    return 2;
  }
  s3_conf *c = &media_cfg.s3;
  char url[2048], host[320], uri[1200], full[1700], auth[700], phash[65];
  s3_hdr h[4];
  int n = 0;
  if (clen) h[n++] = (s3_hdr){ "content-length", clen };
  if (ctype) h[n++] = (s3_hdr){ "content-type", ctype };
  if (s3_presign(c, method, key, expires, h, n, date, url, sizeof url) ||
      s3_object_url(c, key, host, sizeof host, uri, sizeof uri, full, sizeof full))
    return fprintf(stderr, "vidzo: cannot sign\n"), 1;
  s3_sha256_hex(payload ? payload : "", payload ? strlen(payload) : 0, phash);
  s3_hdr hh[4] = { { "host", host }, { "x-amz-content-sha256", phash }, { "x-amz-date", date } };
  int nh = 3;
  if (ctype) hh[nh++] = (s3_hdr){ "content-type", ctype };
  if (s3_sign_header(c, method, uri, "", hh, nh, phash, date, auth, sizeof auth)) return 1;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "presigned", url, "authorization", auth, "host", host, "path", uri,
                        "payload_sha256", phash);
  char *s = json_dumps(o, JSON_COMPACT);
  printf("%s\n", s);
  free(s);
  json_decref(o);
  return 0;
}

/* `vidzo media bench --what presign|image [--file F] [--n N]`: one figure per process, so
 * the peak RSS (ru_maxrss) is this measurement's own. */
static int cli_bench(const char *what, const char *file, int n) {
  struct rusage ru0, ru;
  getrusage(RUSAGE_SELF, &ru0);
  uint64_t t0 = vz_mono_ns();
  long long out_bytes = 0;
  if (what && !strcmp(what, "presign")) {
    s3_conf c = { .endpoint = "https://s3.eu-west-1.amazonaws.com", .region = "eu-west-1", .bucket = "vidzo-bench",
                  .access_key = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
    char url[1500], date[17];
    s3_hdr h[2] = { { "content-length", "559083" }, { "content-type", "image/jpeg" } };
    for (int i = 0; i < n; i++) {
      s3_amz_date(vz_wall_ms() / 1000, date);
      if (s3_presign(&c, "PUT", "up-0123456789abcdef0123456789abcdef.bin", 3600, h, 2, date, url, sizeof url)) return 1;
      out_bytes += (long long)strlen(url);
    }
  } else if (what && !strcmp(what, "image") && file) {
    FILE *f = fopen(file, "rb");
    if (!f) return fprintf(stderr, "vidzo: cannot open %s\n", file), 1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) { fclose(f); free(b); return 1; }
    fclose(f);
    if (media_image_init() < 0) { free(b); return 1; }
    getrusage(RUSAGE_SELF, &ru0);
    t0 = vz_mono_ns();
    char err[160];
    for (int i = 0; i < n; i++) {
      size_t ob = 0;
      if (media_image_bench(b, (size_t)len, &ob, err, sizeof err)) { fprintf(stderr, "vidzo: %s\n", err); free(b); return 1; }
      out_bytes += (long long)ob;
    }
    free(b);
  } else {
    fprintf(stderr, "vidzo: media bench --what presign|image [--file F] [--n N]\n");
    return 2;
  }
  double s = (double)(vz_mono_ns() - t0) / 1e9;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"what\":\"%s\",\"n\":%d,\"seconds\":%.3f,\"per_second\":%.1f,\"out_bytes\":%lld,"
         "\"maxrss_kb\":%ld,\"maxrss_before_kb\":%ld}\n",
         what, n, s, n / (s > 0 ? s : 1e-9), out_bytes, ru.ru_maxrss, ru0.ru_maxrss);
  return 0;
}

int media_cli(int argc, char **argv, int (*load_config)(int, char **)) {
  if (argc < 1) {
    fprintf(stderr, "vidzo: expected 'media migrate --to s3' or 'media sign ...'\n");
    return 2;
  }
  const char *sub = argv[0], *to = NULL, *method = NULL, *key = NULL, *date = NULL, *ctype = NULL, *clen = NULL,
             *payload = NULL, *what = NULL, *file = NULL;
  int expires = 900, n = 1;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  if (!rest) return 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OWN(flag, var) if (!strcmp(a, flag) && v) { var = v; i++; continue; }
    OWN("--to", to) OWN("--method", method) OWN("--key", key) OWN("--date", date) OWN("--content-type", ctype)
    OWN("--content-length", clen) OWN("--payload", payload) OWN("--what", what) OWN("--file", file)
#undef OWN
    if (!strcmp(a, "--expires") && v) { expires = (int)strtol(v, NULL, 10); i++; continue; }
    if (!strcmp(a, "--n") && v) { n = (int)strtol(v, NULL, 10); i++; continue; }
    rest[nrest++] = argv[i];
  }
  int rc = load_config(nrest, rest);
  free(rest);
  if (rc) return rc;
  if (!strcmp(sub, "migrate")) return cli_migrate(to);
  if (!strcmp(sub, "bench")) return cli_bench(what, file, n > 0 ? n : 1);
  if (!strcmp(sub, "sign")) return cli_sign(method, key, date, expires, ctype, clen, payload);
  fprintf(stderr, "vidzo: unknown media command '%s'\n", sub);
  return 2;
}
