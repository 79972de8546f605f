/* media/internal.h: what the media service's files share (not for other services). */
#ifndef VZ_MEDIA_INTERNAL_H
#define VZ_MEDIA_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "integrations/s3.h"
#include "services/media/media.h"

/* Settings (service.c rows). */
typedef struct media_settings {
  char backend[16];      /* "local" | "s3" */
  char cdn_url[256];     /* public base URL; empty: /v1/media/<key> (local) or the bucket URL */
  char url_secret[128];  /* signs local private URLs; empty: DATA_DIR/media/.secret */
  int upload_ttl_s;      /* a pending upload expires after this */
  int max_pixels;        /* width x height refused above (decompression bombs) */
  int max_dimension;     /* width or height refused above */
  s3_conf s3;            /* --s3-* rows write into it */
} media_settings;
extern media_settings media_cfg;

/* One storage interface, two backends (store.c). Errors: MEDIA_ENOTFOUND, MEDIA_EIO,
 * MEDIA_EUNAVAILABLE (breaker open, store unreachable), MEDIA_ETOOBIG. */
typedef struct media_store {
  const char *name;
  int (*put)(const char *key, const void *b, size_t n, const char *type, const char *cache_control);
  int (*put_file)(const char *key, const char *path, const char *type); /* large: multipart on S3 */
  /* range: NULL or "bytes=a-b"; *out malloc'd; over max: MEDIA_ETOOBIG */
  int (*get)(const char *key, const char *range, size_t max, char **out, size_t *len);
  int (*head)(const char *key, int64_t *size);
  int (*del)(const char *key);
} media_store;
extern const media_store media_store_local, media_store_s3;
/* The configured backend (set by media_store_init at start). */
const media_store *media_store_get(void);
int media_store_init(char *err, size_t errlen);
/* Local only: file path of a key (keys are validated first). */
int media_local_path(const char *key, char *out, size_t cap);
/* 1 while the S3 breaker is open (uploads answer 503 without trying). */
int media_store_down(int *retry_after_s);

/* Presigned PUT for an upload (S3) binding size and type. */
int media_presign_put(const char *key, int64_t size, const char *type, int ttl_s, char *url, size_t cap);
/* Signed GET URL of a private key on either backend. */
int media_presign_get(const char *key, int ttl_s, char *url, size_t cap);
/* Local signed URLs: sig = hex HMAC-SHA256(secret, key "\n" exp). 1 when valid now. */
int media_local_sig_ok(const char *key, const char *exp, const char *sig);

/* Purposes (media.c). */
typedef struct media_purpose {
  const char *name;
  int64_t max_bytes;
  int client_upload; /* may be asked for through POST /v1/uploads */
  int image;         /* decoded, variants made */
  int private_;      /* served only through signed URLs */
} media_purpose;
const media_purpose *media_purpose_find(const char *name);

/* Image pipeline (image.c). */
typedef struct media_variant { int size; char webp[96], jpeg[96]; } media_variant;
typedef struct media_image_out {
  int width, height;  /* after orientation */
  char color[8];      /* "#rrggbb" */
  media_variant v[3];
  int nv;
  char error[160];    /* why it was refused (kept as the media's error) */
} media_image_out;
/* Decodes, checks limits, writes the variants under keys derived from id and content.
 * 0; MEDIA_EINVAL when the image is refused (out->error says why: not an image,
 * truncated, too many pixels); MEDIA_EIO / MEDIA_EUNAVAILABLE when the store failed. */
int media_image_process(int64_t id, int private_, const void *bytes, size_t len, media_image_out *out);
int media_image_init(void);
/* Decodes in memory only (bench and tests): variants made and dropped. */
int media_image_bench(const void *bytes, size_t len, size_t *out_bytes, char *err, size_t errlen);

/* Drops EXIF/XMP/ICCP chunks of a WebP in place; the new length (image.c). */
size_t media_webp_strip(unsigned char *b, size_t n);

/* Job queues (jobs.c). */
int media_enqueue_delete(vz_db *db, int64_t id);

/* Range header (RFC 9110 14.2) for a representation of len bytes: 1 and [*start, *end]
 * (inclusive) for one satisfiable range, 0 when absent or to be ignored (several ranges,
 * not bytes), -1 unsatisfiable (416). */
int media_parse_range(const char *h, int64_t len, int64_t *start, int64_t *end);
#endif
