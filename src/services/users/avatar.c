/* avatar.c: PUT /v1/me/avatar. The body is the image itself (Content-Type image/jpeg,
 * image/png or image/webp) or multipart/form-data with a part named "avatar" (browser
 * forms). The declared type is not trusted: magic bytes decide, and anything else is
 * refused. The file is stored under a fresh random key (media_new_key), the profile
 * points at it, and the previous file is deleted after the row changed.
 * This is the legacy path, kept for existing clients: new clients upload through
 * POST /v1/uploads (purpose avatar) and set it with PATCH /v1/me {avatar_upload_id},
 * which gets EXIF stripped, resized variants and CDN URLs (routes.c, me_avatar_tx). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http.h"
#include "db/db.h"
#include "services/media/media.h"
#include "services/users/internal.h"

static const char *memmem_s(const char *h, size_t hn, const char *n, size_t nn) {
  return nn <= hn ? memmem(h, hn, n, nn) : NULL;
}

/* Finds the "avatar" part of a multipart/form-data body (RFC 7578). 0 and the part's
 * bytes, or -1 with a reply sent. */
static int multipart_avatar_or_fail(vz_req *req, const char *ctype, const char **out, size_t *outlen) {
  const char *b = strcasestr(ctype, "boundary=");
  if (!b) return vz_fail(req, 400, "invalid_argument", "avatar", "multipart body without a boundary"), -1;
  b += 9;
  size_t bl = strcspn(b, ";");
  if (bl && b[0] == '"') { b++; bl = strcspn(b, "\""); }
  if (bl == 0 || bl > 70) return vz_fail(req, 400, "invalid_argument", "avatar", "bad multipart boundary"), -1;
  char *delim = vz_arena_printf(req->arena, "--%.*s", (int)bl, b);
  size_t dl = strlen(delim);
  const char *body = req->body, *end = req->body + req->body_len;
  const char *p = memmem_s(body, req->body_len, delim, dl);
  while (p) {
    p += dl;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') break; /* closing delimiter */
    const char *hdr_end = memmem_s(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (!hdr_end) break;
    const char *data = hdr_end + 4;
    char *crlf_delim = vz_arena_printf(req->arena, "\r\n%s", delim);
    const char *next = memmem_s(data, (size_t)(end - data), crlf_delim, dl + 2);
    if (!next) break;
    /* headers of this part: look for name="avatar" in Content-Disposition */
    size_t hl = (size_t)(hdr_end - p);
    char *hdrs = vz_arena_alloc(req->arena, hl + 1);
    if (!hdrs) break;
    memcpy(hdrs, p, hl);
    hdrs[hl] = 0;
    if (strcasestr(hdrs, "content-disposition") && strstr(hdrs, "name=\"avatar\"")) {
      *out = data;
      *outlen = (size_t)(next - data);
      return 0;
    }
    p = next + 2;
  }
  vz_fail(req, 400, "invalid_argument", "avatar", "the form has no file field named avatar");
  return -1;
}

typedef struct avatar_swap { vz_req *req; const char *key; int64_t old_media; } avatar_swap;

static int avatar_swap_tx(vz_db *db, void *arg) {
  avatar_swap *sw = arg;
  int rc = db_run(db, NULL, "UPDATE users SET avatar_key = $1, avatar_media_id = NULL, updated_at = $2"
                  " WHERE id = $3 AND deleted_at IS NULL", "sii", sw->key, db_now_ms(), sw->req->user_id);
  if (rc >= 0 && sw->old_media) rc = media_release(db, sw->old_media);
  return rc < 0 ? rc : 0;
}

int users_h_avatar_put(vz_req *req) {
  const char *ctype = vz_req_header(req, "Content-Type");
  const char *img = req->body;
  size_t len = req->body_len;
  if (!ctype) return vz_fail(req, 415, "unsupported_media_type", "avatar", "send image/jpeg, image/png, image/webp or multipart/form-data");
  if (!strncasecmp(ctype, "multipart/form-data", 19)) {
    if (multipart_avatar_or_fail(req, ctype, &img, &len)) return req->status;
  } else if (strncasecmp(ctype, "image/jpeg", 10) && strncasecmp(ctype, "image/png", 9) && strncasecmp(ctype, "image/webp", 10)) {
    return vz_fail(req, 415, "unsupported_media_type", "avatar", "send image/jpeg, image/png, image/webp or multipart/form-data");
  }
  if (len == 0) return vz_fail(req, 400, "invalid_argument", "avatar", "the image is empty");
  if (len > USERS_AVATAR_MAX) return vz_fail(req, 413, "payload_too_large", "avatar", "avatars are at most 2 MB");
  const char *type = media_sniff_image(img, len);
  if (!type) return vz_fail(req, 400, "invalid_argument", "avatar", "the file is not a JPEG, PNG or WebP image");
  char key[96];
  if (media_new_key("avatar", type, key, sizeof key) || media_put(key, img, len, type))
    return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  /* the old key, to delete its file once the row points at the new one */
  vz_stmt *st = NULL;
  char old[128] = "";
  int64_t old_media = 0;
  int rc = db_run(req->db, &st, "SELECT avatar_key, avatar_media_id FROM users WHERE id = $1", "i", req->user_id);
  if (rc == DB_ROW && !db_col_is_null(st, 0)) {
    size_t n = strlen(db_col_text(st, 0));
    if (n < sizeof old) memcpy(old, db_col_text(st, 0), n + 1);
  }
  if (rc == DB_ROW && !db_col_is_null(st, 1)) old_media = db_col_int(st, 1);
  if (st) db_finalize(st);
  /* an avatar claimed through PATCH /v1/me {avatar_upload_id} is replaced too: the row and
   * the release (media's delete job is queued in it) commit together */
  avatar_swap sw = { req, key, old_media };
  if (rc >= 0) rc = db_tx(req->db, avatar_swap_tx, &sw);
  if (rc < 0) {
    media_delete(key);
    return vz_fail_db(req, rc);
  }
  if (old[0]) media_delete(old);
  json_t *o = json_pack("{s:s, s:s, s:I}", "avatar_url", vz_arena_printf(req->arena, "/v1/media/%s", key),
                        "content_type", type, "size", (json_int_t)len);
  return vz_reply_item(req, 200, o);
}
