/* media: every file the server keeps (avatars, product images, stream thumbnails,
 * feedback screenshots, recordings, invoices) and the only module that knows where they
 * live: local disk under DATA_DIR/media (default) or an S3-compatible bucket
 * (--media-backend s3). docs/internals/media.md has the design.
 *
 * How another service gets an image, e.g. products with several ordered pictures:
 *   1. the client calls POST /v1/uploads {purpose:"product_image", content_type, size},
 *      PUTs the bytes to the URL it gets back (presigned S3 PUT, or a one-time local URL),
 *      then POST /v1/uploads/:id/confirm. The server checks size and magic bytes and
 *      queues the image job (libvips: EXIF stripped, orientation applied, 160/480/1080 px
 *      variants in WebP and JPEG, a placeholder colour).
 *   2. the client sends the upload ids to the owning service (POST /v1/products
 *      {images:["<upload id>", ...]}); that service, inside its own transaction, calls
 *      media_claim() for each id (it checks owner, purpose and state) and stores the
 *      returned media ids in its own table with the order it wants.
 *   3. replies embed media_json(db, media_id): the variants' URLs (CDN, content-hashed,
 *      cacheable forever; presigned and short-lived for private purposes).
 *   4. replacing or deleting: media_release(db, media_id) in the same transaction; the
 *      objects are deleted by a job after the commit (nothing referenced is ever removed).
 *
 * Ids are the upload's id: the media id returned by media_claim is the upload id, so a
 * client may keep using the id it uploaded with. All functions taking a vz_db run inside
 * the caller's transaction when one is open and write nothing outside it (jobs are
 * enqueued in it: outbox). None of them blocks on the network. */
#ifndef VZ_MEDIA_H
#define VZ_MEDIA_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vz_db vz_db;
typedef struct vz_req vz_req;

/* Results: 0, a negative db.h code (DB_ERROR, DB_EBUSY, DB_EUNAVAILABLE ...: the caller's
 * transaction must roll back), or one of these (disjoint from the db.h codes). */
enum {
  MEDIA_OK = 0,
  MEDIA_EINVAL = -21,       /* bad argument (key of no known shape, unknown purpose) */
  MEDIA_ENOTFOUND = -22,    /* no such upload / media, or it belongs to someone else */
  MEDIA_EIO = -23,          /* the store failed (disk, S3 answered 5xx) */
  MEDIA_EPURPOSE = -24,     /* the upload was made for another purpose */
  MEDIA_ESTATE = -25,       /* not confirmed yet, failed verification, or already claimed */
  MEDIA_EUNAVAILABLE = -26, /* the store is down (breaker open): 503 + Retry-After */
  MEDIA_ETOOBIG = -27,      /* over the purpose's byte, pixel or dimension limit */
};

/* Purposes, as the strings the API uses. Each fixes the accepted types, the byte limit,
 * whether variants are made, and the visibility (private ones are served only through
 * short-lived signed URLs):
 *   avatar               images, 5 MB,  public, variants
 *   product_image        images, 10 MB, public, variants
 *   stream_thumbnail     images, 5 MB,  public, variants
 *   feedback_screenshot  images, 10 MB, private, variants
 *   recording            video/mp4 or HLS segments, server-side only (media_ingest_file), private
 *   invoice              application/pdf, server-side only, private
 * Images are JPEG, PNG or WebP by magic bytes; SVG and anything else is refused. */
#define MEDIA_AVATAR "avatar"
#define MEDIA_PRODUCT_IMAGE "product_image"
#define MEDIA_STREAM_THUMBNAIL "stream_thumbnail"
#define MEDIA_FEEDBACK_SCREENSHOT "feedback_screenshot"
#define MEDIA_RECORDING "recording"
#define MEDIA_INVOICE "invoice"

/* ---- for other services -------------------------------------------------------------- */

/* Takes a confirmed upload for use: `upload_id` must belong to `owner_id` (the signed-in
 * caller), have been made for `purpose`, be confirmed (processing or ready), and not be
 * claimed already. A failed upload is terminal: never claimable (MEDIA_ESTATE). `ref` says who holds it ("product:123", "user:9:avatar"; up to 64
 * chars, kept for support and the orphan sweep). Runs in the caller's transaction: when
 * that rolls back, the upload is claimable again. *media_id (may be NULL) gets the id
 * to store. 0, MEDIA_ENOTFOUND (unknown, or another user's: the same answer so ids of
 * others cannot be probed), MEDIA_EPURPOSE, MEDIA_ESTATE, or a db.h code. */
int media_claim(vz_db *db, int64_t upload_id, int64_t owner_id, const char *purpose, const char *ref,
                int64_t *media_id);

/* The client-facing answer for a media_claim (or other media_*) failure, naming `field`
 * (e.g. "images[2]"): 400 invalid_argument (not found, wrong purpose), 409
 * media_not_ready / media_in_use (state), 503 (store, database). Returns the status. */
int media_fail(vz_req *req, int rc, const char *field);

/* The media as JSON for a reply (a new reference, NULL when unknown or on error):
 *   {"id":"<id>","purpose":"product_image","status":"processing|ready|failed",
 *    "width":1200,"height":800,"color":"#a1b2c3",
 *    "variants":{"160":{"webp":URL,"jpeg":URL},"480":{...},"1080":{...}}}
 * failed is terminal (never ready, never claimable) and adds "error" (for people) and
 * "reason": verification_failed | image_refused | file_changed | processing_failed (the
 * store stayed down through the image job's last retry).
 * Variants appear when status is ready (sizes larger than the original are left out);
 * public URLs are the CDN base + content-hashed key, private ones are presigned and valid
 * for 15 minutes. Non-image media have "url" instead of "variants". */
json_t *media_json(vz_db *db, int64_t media_id);
/* The same for n ids in one query, in the order given (unknown ids give JSON null). */
json_t *media_json_many(vz_db *db, const int64_t *ids, int n);
/* One variant's URL into out: size 160, 480 or 1080 (the largest not above it when the
 * original was smaller; 0: the largest made), format "webp" or "jpeg". 0,
 * MEDIA_ENOTFOUND, MEDIA_ESTATE (not ready) or a db.h code. */
int media_url(vz_db *db, int64_t media_id, int size, const char *format, char *out, size_t cap);

/* Stops using a media: in the caller's transaction it is marked released and a job that
 * deletes its objects is enqueued (it runs only after the commit). Releasing twice, or an
 * unknown id, is 0. */
int media_release(vz_db *db, int64_t media_id);

/* A short-lived signed URL (ttl_s 1..3600; 0: 900) for a private object such as a
 * recording or invoice: an S3 presigned GET, or /v1/media/<key>?exp=&sig= locally. */
int media_signed_url(vz_db *db, int64_t media_id, int ttl_s, char *out, size_t cap);

/* For server-made files (recordings, invoices): stores a file as a new media owned by
 * owner_id with `purpose` (private), multipart on S3 when large, and returns its id.
 * Blocks on the network: only from a job handler or a worker thread, never on an io loop,
 * and never inside an open transaction (the store is written first, then the row). */
int media_ingest_file(vz_db *db, int64_t owner_id, const char *purpose, const char *path,
                      const char *content_type, int64_t *media_id);

/* ---- the older key API (avatars of users/avatar.c) ------------------------------------ */

/* Image types we accept, recognised by magic bytes only (the declared type is ignored):
 * JPEG FF D8 FF, PNG 89 50 4E 47 0D 0A 1A 0A, WebP "RIFF" <len> "WEBP". Returns the MIME
 * type, or NULL. */
const char *media_sniff_image(const void *bytes, size_t len);
/* Extension used in keys for a MIME type ("jpg", "png", "webp"), NULL when unknown. */
const char *media_ext(const char *content_type);
/* MIME type of a key, from the extension the server chose. NULL when unknown. */
const char *media_type_of(const char *key);
/* A fresh key "<prefix>-<32 hex>.<ext>"; prefix is a constant like "avatar". out >= 64. */
int media_new_key(const char *prefix, const char *content_type, char *out, size_t cap);
/* 1 when key has the shape media_new_key produces (no '/', no "..", known extension). */
int media_key_ok(const char *key);
/* Whole objects through the configured backend (blocking: worker or job threads). */
int media_put(const char *key, const void *bytes, size_t len, const char *content_type);
/* *out malloc'd (free it); *type points to a static string. */
int media_get(const char *key, void **out, size_t *len, const char **type);
int media_delete(const char *key);
/* The public URL of a key (CDN base when set, else /v1/media/<key> or the bucket's). */
int media_public_url(const char *key, char *out, size_t cap);

/* ---- the service ---------------------------------------------------------------------- */
extern const struct vz_service media_service;
/* Sets the local root and creates DATA_DIR/media (at serve start, never before). */
int media_open(const char *data_dir);
/* `vidzo media ...` (migrate --to s3, sign): argv after "media"; load_config takes the
 * arguments that are settings (main.c's). Exit code. */
int media_cli(int argc, char **argv, int (*load_config)(int, char **));
#endif
