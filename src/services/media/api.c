/* media/api.c: what other services call (media.h): claim an upload in their own
 * transaction, render a media for a reply, release it. Everything here is database work
 * plus URL building (presigning is local HMAC): nothing blocks on the network except
 * media_ingest_file, which says so. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/log.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "services/media/internal.h"

static const media_purpose purposes[] = {
  { MEDIA_AVATAR, 5 << 20, 1, 1, 0 },
  { MEDIA_PRODUCT_IMAGE, 10 << 20, 1, 1, 0 },
  { MEDIA_STREAM_THUMBNAIL, 5 << 20, 1, 1, 0 },
  { MEDIA_FEEDBACK_SCREENSHOT, 10 << 20, 1, 1, 1 },
  { MEDIA_RECORDING, (int64_t)8 << 30, 0, 0, 1 },
  { MEDIA_INVOICE, 10 << 20, 0, 0, 1 },
  { NULL, 0, 0, 0, 0 },
};

const media_purpose *media_purpose_find(const char *name) {
  for (int i = 0; name && purposes[i].name; i++)
    if (!strcmp(purposes[i].name, name)) return &purposes[i];
  return NULL;
}

#define ROW_COLS "id, purpose, state, private, width, height, color, variants, object_key, content_type, error, reason"

/* One URL of a key: public (CDN / local route / bucket) or signed for private media. */
static json_t *url_json(const char *key, int private_) {
  char url[2048];
  int rc = private_ ? media_presign_get(key, 900, url, sizeof url) : media_public_url(key, url, sizeof url);
  return rc ? json_null() : json_string(url);
}

static const char *status_of(const char *state) {
  return state ? state : "failed";
}

/* The reply form of the row at st (ROW_COLS). */
static json_t *row_json(vz_stmt *st) {
  const char *state = db_col_text(st, 2);
  int private_ = (int)db_col_int(st, 3);
  json_t *o = json_pack("{s:o, s:s, s:s}", "id", vz_json_id(db_col_int(st, 0)), "purpose", db_col_text(st, 1),
                        "status", status_of(state));
  if (!o) return NULL;
  if (!db_col_is_null(st, 4)) {
    json_object_set_new(o, "width", json_integer(db_col_int(st, 4)));
    json_object_set_new(o, "height", json_integer(db_col_int(st, 5)));
  }
  if (!db_col_is_null(st, 6)) json_object_set_new(o, "color", json_string(db_col_text(st, 6)));
  if (state && !strcmp(state, "ready")) {
    if (!db_col_is_null(st, 7)) {
      json_t *vs = json_loads(db_col_text(st, 7), 0, NULL), *out = json_object();
      size_t i;
      json_t *v;
      json_array_foreach(vs, i, v) {
        char size[16];
        snprintf(size, sizeof size, "%lld", (long long)json_integer_value(json_object_get(v, "size")));
        json_object_set_new(out, size,
                            json_pack("{s:o, s:o}", "webp", url_json(json_string_value(json_object_get(v, "webp")), private_),
                                      "jpeg", url_json(json_string_value(json_object_get(v, "jpeg")), private_)));
      }
      json_decref(vs);
      json_object_set_new(o, "variants", out);
    } else if (!db_col_is_null(st, 8)) {
      json_object_set_new(o, "url", url_json(db_col_text(st, 8), private_));
      if (!db_col_is_null(st, 9)) json_object_set_new(o, "content_type", json_string(db_col_text(st, 9)));
    }
  }
  if (state && !strcmp(state, "failed")) {
    if (!db_col_is_null(st, 10)) json_object_set_new(o, "error", json_string(db_col_text(st, 10)));
    /* rows that failed before the reason column existed were refused at confirm or by the pipeline */
    json_object_set_new(o, "reason", json_string(db_col_is_null(st, 11) ? "image_refused" : db_col_text(st, 11)));
  }
  return o;
}

json_t *media_json(vz_db *db, int64_t id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT " ROW_COLS " FROM media WHERE id = $1", "i", id);
  json_t *o = rc == DB_ROW ? row_json(st) : NULL;
  db_finalize(st);
  return o;
}

json_t *media_json_many(vz_db *db, const int64_t *ids, int n) {
  json_t *arr = json_array();
  /* One prepared statement per id: the statement cache makes each a lookup by primary
   * key; lists of images per product are short (a dozen). */
  for (int i = 0; arr && i < n; i++) {
    json_t *o = media_json(db, ids[i]);
    json_array_append_new(arr, o ? o : json_null());
  }
  return arr;
}

int media_url(vz_db *db, int64_t id, int size, const char *format, char *out, size_t cap) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, private, variants, object_key FROM media WHERE id = $1", "i", id);
  if (rc < 0) return rc;
  if (rc != DB_ROW) { db_finalize(st); return MEDIA_ENOTFOUND; }
  if (strcmp(db_col_text(st, 0), "ready")) { db_finalize(st); return MEDIA_ESTATE; }
  int private_ = (int)db_col_int(st, 1);
  char key[128] = "";
  if (!db_col_is_null(st, 2)) {
    json_t *vs = json_loads(db_col_text(st, 2), 0, NULL), *v;
    size_t i;
    int best = -1, smallest = -1;
    const char *fmt = format && !strcmp(format, "jpeg") ? "jpeg" : "webp";
    const char *bk = NULL, *sk = NULL;
    /* the largest not above size (size <= 0: the largest); none fits: the smallest */
    json_array_foreach(vs, i, v) {
      int s = (int)json_integer_value(json_object_get(v, "size"));
      const char *k = json_string_value(json_object_get(v, fmt));
      if ((size <= 0 || s <= size) && s > best) best = s, bk = k;
      if (smallest < 0 || s < smallest) smallest = s, sk = k;
    }
    if (!bk) bk = sk;
    if (bk) snprintf(key, sizeof key, "%s", bk);
    json_decref(vs);
  } else if (!db_col_is_null(st, 3)) {
    snprintf(key, sizeof key, "%s", db_col_text(st, 3));
  }
  db_finalize(st);
  if (!key[0]) return MEDIA_ENOTFOUND;
  rc = private_ ? media_presign_get(key, 900, out, cap) : media_public_url(key, out, cap);
  return rc ? MEDIA_EINVAL : 0;
}

int media_claim(vz_db *db, int64_t upload_id, int64_t owner_id, const char *purpose, const char *ref,
                int64_t *media_id) {
  if (!purpose || !ref || strlen(ref) > 64) return MEDIA_EINVAL;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE media SET claimed_ref = $1, claimed_at = $2, updated_at = $2 WHERE id = $3 AND owner_id = $4"
                  " AND purpose = $5 AND state IN ('processing', 'ready') AND claimed_ref IS NULL",
                  "siiis", ref, db_now_ms(), upload_id, owner_id, purpose);
  int changed = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (changed) {
    if (media_id) *media_id = upload_id;
    return 0;
  }
  /* why not: one read to tell the caller */
  rc = db_run(db, &st, "SELECT purpose, state, claimed_ref FROM media WHERE id = $1 AND owner_id = $2", "ii",
              upload_id, owner_id);
  int out = MEDIA_ENOTFOUND;
  if (rc == DB_ROW) {
    const char *state = db_col_text(st, 1);
    if (strcmp(db_col_text(st, 0), purpose)) out = MEDIA_EPURPOSE;
    else if (!strcmp(state, "expired") || !strcmp(state, "released")) out = MEDIA_ENOTFOUND;
    else out = MEDIA_ESTATE;
  } else if (rc < 0) {
    out = rc;
  }
  db_finalize(st);
  return out;
}

int media_fail(vz_req *req, int rc, const char *field) {
  switch (rc) {
  case MEDIA_ENOTFOUND: return vz_fail(req, 400, "invalid_argument", field, "no such upload");
  case MEDIA_EPURPOSE: return vz_fail(req, 400, "invalid_argument", field, "the upload was made for another purpose");
  case MEDIA_EINVAL: return vz_fail(req, 400, "invalid_argument", field, "not a usable upload");
  case MEDIA_ESTATE: return vz_fail(req, 409, "media_not_usable", field, "the upload is not confirmed, failed checks, or is in use");
  case MEDIA_ETOOBIG: return vz_fail(req, 413, "payload_too_large", field, "the file is over the limit");
  case MEDIA_EIO:
  case MEDIA_EUNAVAILABLE: return vz_fail(req, 503, "unavailable", NULL, "media storage unavailable");
  default: return vz_fail_db(req, rc);
  }
}

int media_enqueue_delete(vz_db *db, int64_t id) {
  char payload[48], key[48];
  snprintf(payload, sizeof payload, "{\"id\":%lld}", (long long)id);
  snprintf(key, sizeof key, "delete-%lld", (long long)id);
  int rc = jobs_enqueue(db, "media.delete", payload, 0, key, NULL);
  return rc < 0 ? rc : 0;
}

int media_release(vz_db *db, int64_t id) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE media SET state = 'released', updated_at = $1 WHERE id = $2 AND state NOT IN ('released', 'expired')",
                  "ii", db_now_ms(), id);
  int changed = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  return changed ? media_enqueue_delete(db, id) : 0;
}

int media_signed_url(vz_db *db, int64_t id, int ttl_s, char *out, size_t cap) {
  if (ttl_s < 0 || ttl_s > 3600) return MEDIA_EINVAL;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, object_key, variants FROM media WHERE id = $1", "i", id);
  if (rc < 0) return rc;
  if (rc != DB_ROW) { db_finalize(st); return MEDIA_ENOTFOUND; }
  char key[128] = "";
  int ready = !strcmp(db_col_text(st, 0), "ready");
  if (!db_col_is_null(st, 1)) snprintf(key, sizeof key, "%s", db_col_text(st, 1));
  db_finalize(st);
  if (!ready) return MEDIA_ESTATE;
  if (!key[0]) return MEDIA_ENOTFOUND; /* images: media_url gives each variant */
  return media_presign_get(key, ttl_s ? ttl_s : 900, out, cap) ? MEDIA_EINVAL : 0;
}

int media_ingest_file(vz_db *db, int64_t owner_id, const char *purpose, const char *path, const char *content_type,
                      int64_t *media_id) {
  const media_purpose *p = media_purpose_find(purpose);
  const char *ext = media_ext(content_type);
  if (!p || !ext || db_tx_depth(db) > 0) return MEDIA_EINVAL;
  int64_t id = db_id_new(), now = db_now_ms();
  char key[96], hex[33];
  unsigned char r[16];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  snprintf(key, sizeof key, "%s-%s.%s", p->private_ ? "p" : "f", hex, ext);
  /* the object first: a row is written only for an object that is whole */
  int rc = media_store_get()->put_file(key, path, content_type);
  if (rc) return rc;
  rc = db_run(db, NULL,
              "INSERT INTO media (id, owner_id, purpose, state, private, declared_type, declared_size, upload_key,"
              " content_type, object_key, expires_at, created_at, updated_at)"
              " VALUES ($1, $2, $3, 'ready', $4, $5, 0, $6, $5, $6, 0, $7, $7)",
              "iisissi", id, owner_id, purpose, (int64_t)p->private_, content_type, key, now);
  if (rc < 0) {
    media_store_get()->del(key);
    return rc;
  }
  if (media_id) *media_id = id;
  return 0;
}
