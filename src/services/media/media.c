/* media.c: the HTTP side of media. Direct uploads (POST /v1/uploads, the local one-time
 * PUT, confirm, status) and serving stored objects (GET /v1/media/:key: ETag, Range,
 * 304 on the local backend; a redirect to the bucket or CDN on S3).
 *
 * Why direct uploads: the bytes go from the client to the store (a presigned PUT on S3)
 * without passing through our io loops, and nothing is used before the server has looked
 * at what arrived: size against the declared one, magic bytes against the declared type,
 * then the image job decodes it. An upload that is never confirmed is deleted by a job
 * queued with it (media.expire at expires_at). */
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http.h"
#include "core/log.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "lib/clock.h"
#include "services/media/internal.h"

#define IMMUTABLE "public, max-age=31536000, immutable"

atomic_ullong media_uploads_created, media_uploads_refused; /* /metrics (jobs.c) */

/* ---- GET /v1/media/:key ------------------------------------------------------------ */

/* 1 when If-None-Match lists etag (or is "*"); RFC 9110 13.1.2 uses weak comparison. */
static int etag_matches(const char *inm, const char *etag) {
  if (!inm) return 0;
  return !strcmp(inm, "*") || strstr(inm, etag) != NULL;
}

static int media_h_get(vz_req *req) {
  const char *key = vz_req_param(req, "key");
  /* originals ("up-") keep what the image job strips (EXIF, GPS): never served */
  if (!media_key_ok(key) || !strncmp(key, "up-", 3)) return vz_fail(req, 404, "not_found", "key", "no such media");
  int private_ = !strncmp(key, "p-", 2);
  if (private_ && !media_local_sig_ok(key, vz_req_query(req, "exp"), vz_req_query(req, "sig")))
    return vz_fail(req, 404, "not_found", "key", "no such media");
  if (media_store_get() != &media_store_local) { /* the store serves it; we only point there */
    char url[2048];
    if ((private_ ? media_presign_get(key, 300, url, sizeof url) : media_public_url(key, url, sizeof url)))
      return vz_fail(req, 404, "not_found", "key", "no such media");
    vz_add_header(req, "Location", url);
    vz_add_header(req, "Cache-Control", private_ ? "private, no-store" : "public, max-age=3600");
    return vz_reply_empty(req, private_ ? 307 : 301);
  }
  int64_t size = 0;
  int rc = media_store_local.head(key, &size);
  if (rc == MEDIA_ENOTFOUND || rc == MEDIA_EINVAL) return vz_fail(req, 404, "not_found", "key", "no such media");
  if (rc) return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  char *etag = vz_arena_printf(req->arena, "\"%s\"", key); /* keys are immutable: the key is the version */
  vz_add_header(req, "Cache-Control", private_ ? "private, max-age=300" : IMMUTABLE);
  vz_add_header(req, "ETag", etag);
  vz_add_header(req, "Accept-Ranges", "bytes");
  /* X-Content-Type-Options: nosniff comes with every reply from the core */
  if (etag_matches(vz_req_header(req, "If-None-Match"), etag)) return vz_reply_empty(req, 304);
  const char *range = vz_req_header(req, "Range");
  const char *ifr = vz_req_header(req, "If-Range");
  int64_t start = 0, end = size - 1;
  int r = ifr && strcmp(ifr, etag) ? 0 : media_parse_range(range, size, &start, &end);
  if (r < 0) {
    vz_add_header(req, "Content-Range", vz_arena_printf(req->arena, "bytes */%lld", (long long)size));
    return vz_fail(req, 416, "range_not_satisfiable", "range", "the range starts past the end");
  }
  char *bytes = NULL;
  size_t len = 0;
  char *rs = r > 0 ? vz_arena_printf(req->arena, "bytes=%lld-%lld", (long long)start, (long long)end) : NULL;
  rc = media_store_local.get(key, rs, 64u << 20, &bytes, &len);
  if (rc == MEDIA_ENOTFOUND) {
    req->nres_headers = 0; /* a 404 must not be cached for a year */
    return vz_fail(req, 404, "not_found", "key", "no such media");
  }
  if (rc == MEDIA_ETOOBIG) return vz_fail(req, 416, "range_not_satisfiable", "range", "ask for at most 64 MB at a time");
  if (rc) return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  if (r > 0)
    vz_add_header(req, "Content-Range",
                  vz_arena_printf(req->arena, "bytes %lld-%lld/%lld", (long long)start, (long long)end, (long long)size));
  rc = vz_reply_bytes(req, r > 0 ? 206 : 200, media_type_of(key), bytes, len);
  free(bytes);
  return rc;
}

/* ---- POST /v1/uploads ------------------------------------------------------------- */

static const char *const image_types[] = { "image/jpeg", "image/png", "image/webp", NULL };

static int type_allowed(const char *t) {
  for (int i = 0; image_types[i]; i++)
    if (!strcmp(image_types[i], t)) return 1;
  return 0;
}

typedef struct up_ctx {
  vz_req *req;
  int64_t id, size, expires_at;
  const char *purpose, *type, *key, *token_hash;
  int private_;
} up_ctx;

static int upload_tx(vz_db *db, void *arg) {
  up_ctx *u = arg;
  int64_t now = db_now_ms();
  int rc = db_run(db, NULL,
                  "INSERT INTO media (id, owner_id, purpose, state, private, declared_type, declared_size, token_hash,"
                  " upload_key, expires_at, created_at, updated_at)"
                  " VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $10)",
                  "iisisissii", u->id, u->req->user_id, u->purpose, (int64_t)u->private_, u->type, u->size,
                  u->token_hash, u->key, u->expires_at, now);
  if (rc < 0) return rc;
  /* the sweep of this upload if it is never confirmed, queued with it (outbox); a while
   * after the URL dies (a tenth of its life, at most a minute), so a PUT in flight at
   * expiry is swept too */
  char payload[48], ikey[48];
  snprintf(payload, sizeof payload, "{\"id\":%lld}", (long long)u->id);
  snprintf(ikey, sizeof ikey, "expire-%lld", (long long)u->id);
  int64_t margin = (int64_t)media_cfg.upload_ttl_s * 100;
  rc = jobs_enqueue(db, "media.expire", payload, u->expires_at + (margin < 60000 ? margin : 60000), ikey, NULL);
  return rc < 0 ? rc : 0;
}

static int uploads_create(vz_req *req) {
  json_t *in = req->json;
  const char *purpose = json_string_value(json_object_get(in, "purpose"));
  const char *type = json_string_value(json_object_get(in, "content_type"));
  int64_t size = json_integer_value(json_object_get(in, "size"));
  const media_purpose *p = media_purpose_find(purpose);
  if (!p || !p->client_upload) return vz_fail(req, 400, "invalid_argument", "purpose", "unknown purpose");
  if (!type_allowed(type)) /* SVG carries scripts; GIF, HEIC, TIFF are not accepted either */
    return vz_fail(req, 415, "unsupported_media_type", "content_type", "send image/jpeg, image/png or image/webp");
  if (size > p->max_bytes)
    return vz_fail(req, 413, "payload_too_large", "size", "%s files are at most %lld MB", p->name,
                   (long long)(p->max_bytes >> 20));
  int retry = 0;
  if (media_store_down(&retry)) {
    vz_add_header(req, "Retry-After", vz_arena_printf(req->arena, "%d", retry > 0 ? retry : 1));
    return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  }
  unsigned char r[16], tok[32], th[32];
  char hex[33], token[65], token_hash[65];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  up_ctx u = { req, db_id_new(), size, vz_wall_ms() + (int64_t)media_cfg.upload_ttl_s * 1000, purpose, type, NULL,
               NULL, p->private_ };
  u.key = vz_arena_printf(req->arena, "up-%s.bin", hex);
  int local = media_store_get() == &media_store_local;
  if (local) {
    randombytes_buf(tok, sizeof tok);
    sodium_bin2hex(token, sizeof token, tok, sizeof tok);
    crypto_hash_sha256(th, (unsigned char *)token, 64);
    sodium_bin2hex(token_hash, sizeof token_hash, th, sizeof th);
    u.token_hash = token_hash;
  }
  char url[2048];
  if (local) snprintf(url, sizeof url, "/v1/uploads/%lld/content?token=%s", (long long)u.id, token);
  else if (media_presign_put(u.key, size, type, media_cfg.upload_ttl_s, url, sizeof url))
    return vz_fail(req, 500, "internal", NULL, "could not sign the upload");
  if (vz_tx_or_fail(req, upload_tx, &u) < 0) return req->status;
  atomic_fetch_add_explicit(&media_uploads_created, 1, memory_order_relaxed);
  json_t *o = json_pack("{s:o, s:s, s:s, s:{s:s, s:s, s:{s:s, s:I}}, s:o}", "id", vz_json_id(u.id), "purpose", purpose,
                        "status", "pending", "upload", "method", "PUT", "url", url, "headers", "Content-Type", type,
                        "Content-Length", (json_int_t)size, "expires_at", vz_json_time(u.expires_at));
  return vz_reply_item(req, 201, o);
}

/* ---- PUT /v1/uploads/:id/content?token= (local backend) ----------------------------- */

static int uploads_put(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  const char *token = vz_req_query(req, "token");
  if (media_store_get() != &media_store_local) return vz_fail(req, 404, "not_found", "id", "PUT to the presigned URL");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st,
                  "SELECT state, token_hash, declared_size, declared_type, upload_key, expires_at FROM media WHERE id = $1",
                  "i", id);
  if (rc < 0) { db_finalize(st); return vz_fail_db(req, rc); }
  unsigned char th[32];
  char hex[65] = "";
  if (token && strlen(token) == 64) {
    crypto_hash_sha256(th, (const unsigned char *)token, 64);
    sodium_bin2hex(hex, sizeof hex, th, sizeof th);
  }
  int ok = rc == DB_ROW && !db_col_is_null(st, 1) && hex[0] && sodium_memcmp(hex, db_col_text(st, 1), 64) == 0 &&
           !strcmp(db_col_text(st, 0), "pending") && db_col_int(st, 5) > vz_wall_ms();
  int64_t size = ok ? db_col_int(st, 2) : 0;
  char type[32] = "", key[96] = "";
  if (ok) {
    snprintf(type, sizeof type, "%s", db_col_text(st, 3));
    snprintf(key, sizeof key, "%s", db_col_text(st, 4));
  }
  db_finalize(st);
  /* as S3 answers a presigned URL that does not match: one refusal for every reason */
  if (!ok) return vz_fail(req, 403, "forbidden", "token", "this upload URL is not valid");
  const char *ct = vz_req_header(req, "Content-Type");
  if (!ct || strcasecmp(ct, type)) return vz_fail(req, 403, "forbidden", "content_type", "the Content-Type was signed as %s", type);
  if ((int64_t)req->body_len > size) return vz_fail(req, 413, "payload_too_large", "size", "larger than the size signed");
  if ((int64_t)req->body_len != size) return vz_fail(req, 400, "invalid_argument", "size", "smaller than the size signed");
  rc = media_store_local.put(key, req->body, req->body_len, type, NULL);
  if (rc) return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  /* one time: the token is spent (a second PUT is refused) */
  rc = db_run(req->db, NULL, "UPDATE media SET token_hash = NULL, updated_at = $1 WHERE id = $2", "ii", db_now_ms(), id);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_empty(req, 200);
}

/* ---- POST /v1/uploads/:id/confirm ------------------------------------------------- */

typedef struct confirm_ctx { vz_req *req; int64_t id; const char *type; int64_t size; } confirm_ctx;

static int confirm_tx(vz_db *db, void *arg) {
  confirm_ctx *c = arg;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE media SET state = 'processing', content_type = $1, size = $2, updated_at = $3"
                  " WHERE id = $4 AND state = 'pending'",
                  "siii", c->type, c->size, db_now_ms(), c->id);
  int changed = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!changed) return 0; /* a concurrent confirm won: its job is queued */
  char payload[48], ikey[48];
  snprintf(payload, sizeof payload, "{\"id\":%lld}", (long long)c->id);
  snprintf(ikey, sizeof ikey, "image-%lld", (long long)c->id);
  rc = jobs_enqueue(db, "media.image", payload, 0, ikey, NULL);
  return rc < 0 ? rc : 0;
}

/* Marks an upload failed (what arrived is not what was declared) and deletes the bytes. */
static void confirm_refuse(vz_req *req, int64_t id, const char *key, const char *why) {
  atomic_fetch_add_explicit(&media_uploads_refused, 1, memory_order_relaxed);
  db_run(req->db, NULL, "UPDATE media SET state = 'failed', reason = 'verification_failed', error = $1, updated_at = $2"
         " WHERE id = $3 AND state = 'pending'",
         "sii", why, db_now_ms(), id);
  media_store_get()->del(key);
}

static int reply_media(vz_req *req, int64_t id, int status) {
  json_t *o = media_json(req->db, id);
  if (!o) return vz_fail(req, 404, "not_found", "id", "no such upload");
  return vz_reply_item(req, status, o);
}

static int uploads_confirm(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st,
                  "SELECT state, declared_size, declared_type, upload_key, expires_at FROM media WHERE id = $1 AND owner_id = $2",
                  "ii", id, req->user_id);
  if (rc < 0) { db_finalize(st); return vz_fail_db(req, rc); }
  if (rc != DB_ROW) { db_finalize(st); return vz_fail(req, 404, "not_found", "id", "no such upload"); }
  char state[16], type[32], key[96];
  snprintf(state, sizeof state, "%s", db_col_text(st, 0));
  int64_t size = db_col_int(st, 1), expires = db_col_int(st, 4);
  snprintf(type, sizeof type, "%s", db_col_text(st, 2));
  snprintf(key, sizeof key, "%s", db_col_text(st, 3));
  db_finalize(st);
  if (strcmp(state, "pending")) { /* confirming twice answers what the first did */
    if (!strcmp(state, "expired") || !strcmp(state, "released")) return vz_fail(req, 404, "not_found", "id", "no such upload");
    return reply_media(req, id, 202);
  }
  if (expires <= vz_wall_ms()) return vz_fail(req, 410, "expired", "id", "the upload expired; ask for a new one");
  const media_store *s = media_store_get();
  int64_t got = -1;
  rc = s->head(key, &got);
  if (rc == MEDIA_ENOTFOUND) return vz_fail(req, 409, "upload_missing", "id", "nothing was uploaded yet");
  if (rc) return media_fail(req, rc, NULL);
  if (got != size) {
    confirm_refuse(req, id, key, "size differs from the declared one");
    return vz_fail(req, 400, "invalid_argument", "size", "%lld bytes arrived, %lld were declared", (long long)got,
                   (long long)size);
  }
  char *head = NULL;
  size_t hl = 0;
  rc = s->get(key, "bytes=0-63", 4096, &head, &hl);
  if (rc) return media_fail(req, rc, NULL);
  const char *sniffed = media_sniff_image(head, hl);
  free(head);
  if (!sniffed || strcmp(sniffed, type)) {
    confirm_refuse(req, id, key, "the file is not the image type it was declared as");
    return vz_fail(req, 400, "invalid_argument", "content_type", "the file is not a %s image", type);
  }
  confirm_ctx c = { req, id, sniffed, got };
  if (vz_tx_or_fail(req, confirm_tx, &c) < 0) return req->status;
  return reply_media(req, id, 202);
}

static int uploads_show(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT 1 FROM media WHERE id = $1 AND owner_id = $2", "ii", id, req->user_id);
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such upload");
  return reply_media(req, id, 200);
}

/* DELETE /v1/uploads/:id: the owner drops an upload no service holds (a draft picture,
 * a failed one). In one transaction the row is released (media_release: the one-time
 * token dies with the state, and the media.delete job, queued in the same transaction,
 * removes the original and any variants after the commit). A claimed upload belongs to
 * the service holding it (409: remove it there); another user's, or one already gone,
 * is 404. A presigned S3 PUT still in flight may land after this: the expiry sweep
 * deletes the original of a released upload as well. */
typedef struct delete_ctx { vz_req *req; int64_t id; } delete_ctx;

static int delete_tx(vz_db *db, void *arg) {
  delete_ctx *c = arg;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, claimed_ref FROM media WHERE id = $1 AND owner_id = $2", "ii", c->id,
                  c->req->user_id);
  int found = rc == DB_ROW, claimed = found && !db_col_is_null(st, 1);
  int gone = found && (!strcmp(db_col_text(st, 0), "released") || !strcmp(db_col_text(st, 0), "expired"));
  db_finalize(st);
  if (rc < 0) return rc;
  if (!found || gone) return vz_fail(c->req, 404, "not_found", "id", "no such upload"), DB_EABORT;
  if (claimed) return vz_fail(c->req, 409, "media_in_use", "id", "the upload is in use; remove it where it is used"), DB_EABORT;
  rc = db_run(db, NULL, "UPDATE media SET token_hash = NULL WHERE id = $1", "i", c->id);
  if (rc < 0) return rc;
  return media_release(db, c->id);
}

static int uploads_delete(vz_req *req) {
  delete_ctx c = { req, 0 };
  if (vz_req_param_id_or_fail(req, "id", &c.id)) return req->status;
  if (vz_tx_or_fail(req, delete_tx, &c) < 0) return req->status;
  return vz_reply_empty(req, 204);
}

static const vz_field upload_in[] = {
  { "purpose", VZ_ENUM, VZ_REQUIRED, .choices = "avatar|product_image|stream_thumbnail|feedback_screenshot" },
  { "content_type", VZ_STR, VZ_REQUIRED, 1, 100 },
  { "size", VZ_INT, VZ_REQUIRED, 1, 1LL << 40 },
  { "filename", VZ_STR, 0, 0, 255 }, /* accepted and ignored: keys never come from clients */
  { 0 },
};

static const vz_field put_q[] = { { "token", VZ_STR, 0, 0, 128 }, { 0 } };
static const vz_field get_q[] = { { "exp", VZ_STR, 0, 0, 20 }, { "sig", VZ_STR, 0, 0, 128 }, { 0 } };

/* the contract's description of a key (media_key_ok checks it, answering 404) */
static const vz_field key_param[] = { { "key", VZ_STR, VZ_REQUIRED, 5, 100, 0 }, { 0 } };

vz_route media_routes[] = {
  /* reads the file on the pool */
  VZ_GET("/v1/media/:key", media_h_get, .query = get_q, .op = "getMedia",
         .summary = "A stored file (immutable; ETag, 304, one byte Range; a redirect on S3)",
         .desc = "Private keys (p-...) need the exp and sig of a signed URL; originals (up-...) are never served.",
         .res = "=File", .res_type = "image/*", .errors = "206 301 304 307 404 416", .params = key_param),
  VZ_POST("/v1/uploads", uploads_create, .op = "createUpload",
          .summary = "Ask for a direct upload: one PUT of exactly size bytes to upload.url, then confirm",
          .res = "Upload", .ok = 201, .errors = "413 415", .body = upload_in, .flags = VZ_AUTH | VZ_RATE_USER,
          .rate_per_min = 60),
  VZ_PUT("/v1/uploads/:id/content", uploads_put, .op = "putUploadContent",
         .summary = "The local backend's one-time upload URL (the token is the credential)",
         .res = "-", .ok = 200, .errors = "403", .query = put_q, .flags = VZ_RAW_BODY, .max_body = 10u << 20,
         .rate_per_min = 120),
  VZ_POST("/v1/uploads/:id/confirm", uploads_confirm, .op = "confirmUpload",
          .summary = "Check what arrived (size, magic bytes) and queue the image job",
          .res = "Media", .ok = 202, .errors = "409 410", .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 120),
  VZ_GET("/v1/uploads/:id", uploads_show, .op = "getUpload", .summary = "An upload's state and, when ready, its variants",
         .res = "Media", .flags = VZ_AUTH),
  VZ_DELETE("/v1/uploads/:id", uploads_delete, .op = "deleteUpload",
            .summary = "Delete an upload of yours that nothing uses (its files are removed by a job)",
            .res = "-", .ok = 204, .errors = "409", .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 120),
  { 0 } };
