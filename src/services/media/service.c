/* media/service.c: the media service's descriptor (core/service.h): settings, routes,
 * the three job queues, the account-deletion subscription. The directory, the URL key,
 * libvips and the bucket check happen at start, so `vidzo routes` and the fuzzers write
 * and connect nothing. */
#include <stdio.h>

#include "core/service.h"
#include "services/media/internal.h"

extern vz_route media_routes[];
extern const vz_subscription media_on[]; /* on_user.c */
extern const vz_queue media_queues[];    /* jobs.c */
int media_store_start(void);             /* store.c */
void media_metrics(char **buf, size_t *len, size_t *cap); /* jobs.c */

static const vz_opt media_opts[] = {
  VZ_OPT("media-backend", "VIDZO_MEDIA_BACKEND", VZ_OPT_STR, media_cfg.backend, 0, 0,
         "where media is stored: local (DATA_DIR/media, default) or s3"),
  VZ_OPT("media-cdn-url", "VIDZO_MEDIA_CDN_URL", VZ_OPT_STR, media_cfg.cdn_url, 0, 0,
         "base URL of public media (a CDN in front of the bucket or of /v1/media); none: served here or by the bucket"),
  VZ_OPT("media-url-secret", "VIDZO_MEDIA_URL_SECRET", VZ_OPT_STR, media_cfg.url_secret, 0, 0,
         "signs local private-media URLs (instances must share it; random in DATA_DIR/media/.secret)"),
  VZ_OPT("media-upload-ttl", "VIDZO_MEDIA_UPLOAD_TTL", VZ_OPT_INT, media_cfg.upload_ttl_s, 1, 86400,
         "seconds an upload URL is valid; unconfirmed uploads are deleted after (3600)"),
  VZ_OPT("media-max-pixels", "VIDZO_MEDIA_MAX_PIXELS", VZ_OPT_INT, media_cfg.max_pixels, 1, 200000000,
         "images with more pixels are refused before decoding (40000000)"),
  VZ_OPT("media-max-dimension", "VIDZO_MEDIA_MAX_DIMENSION", VZ_OPT_INT, media_cfg.max_dimension, 1, 100000,
         "images wider or taller are refused (10000)"),
  VZ_OPT("s3-endpoint", "VIDZO_S3_ENDPOINT", VZ_OPT_STR, media_cfg.s3.endpoint, 0, 0,
         "S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000"),
  VZ_OPT("s3-region", "VIDZO_S3_REGION", VZ_OPT_STR, media_cfg.s3.region, 0, 0, "S3 region for signing (us-east-1)"),
  VZ_OPT("s3-bucket", "VIDZO_S3_BUCKET", VZ_OPT_STR, media_cfg.s3.bucket, 0, 0, "S3 bucket"),
  VZ_OPT("s3-access-key", "VIDZO_S3_ACCESS_KEY", VZ_OPT_STR, media_cfg.s3.access_key, 0, 0, "S3 access key id"),
  VZ_OPT("s3-secret-key", "VIDZO_S3_SECRET_KEY", VZ_OPT_STR, media_cfg.s3.secret_key, 0, 0,
         "S3 secret access key (never logged)"),
  VZ_OPT("s3-path-style", "VIDZO_S3_PATH_STYLE", VZ_OPT_BOOL, media_cfg.s3.path_style, 0, 1,
         "path-style addressing endpoint/bucket/key (true, MinIO); false: virtual-host bucket.endpoint/key (AWS)"),
  { 0 },
};

static int media_init(void) {
  char err[200];
  if (media_store_init(err, sizeof err) < 0) {
    fprintf(stderr, "vidzo: %s\n", err);
    return -1;
  }
  return 0;
}

static int media_start(void) {
  if (media_open(vz_cfg.data_dir) < 0 || media_store_start() < 0) return -1;
  return media_image_init();
}

const vz_service media_service = { .name = "media", .about = "Stored files: direct uploads, images and their variants, delivery",
                                   .opts = media_opts, .routes = media_routes, .queues = media_queues,
                                   .on = media_on, .metrics = media_metrics, .init = media_init, .start = media_start };
