/* media: where uploaded files live (avatars now; product images and thumbnails later).
 * One small interface in front of the storage backend: local disk under DATA_DIR/media
 * today, S3 later, so callers never touch paths. Keys are chosen by the server
 * (media_new_key: random, never derived from user input), one path segment of
 * [a-z0-9.-], and objects are immutable: a new upload gets a new key, so replies may be
 * cached forever. GET /v1/media/:key serves them. */
#ifndef VZ_MEDIA_H
#define VZ_MEDIA_H
#include <stddef.h>

enum { MEDIA_OK = 0, MEDIA_EINVAL = -1, MEDIA_ENOTFOUND = -2, MEDIA_EIO = -3 };

/* Sets the root directory and creates DATA_DIR/media (at serve start, never before). */
int media_open(const char *data_dir);
extern const struct vz_service media_service;

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

/* Atomic: written to a temporary file, fsync'd, then renamed over the key. */
int media_put(const char *key, const void *bytes, size_t len, const char *content_type);
/* *out malloc'd (free it); *type points to a static string. */
int media_get(const char *key, void **out, size_t *len, const char **type);
int media_delete(const char *key);
#endif
