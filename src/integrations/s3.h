/* integrations/s3: a small client for S3-compatible stores (AWS S3, GCS interoperability,
 * MinIO, R2, s3rver): AWS Signature Version 4 written with OpenSSL, path-style
 * (endpoint/bucket/key) or virtual-host (bucket.endpoint/key) addressing, whole-object
 * PUT/GET/HEAD/DELETE and multipart upload. Every call goes through integrations/http.h
 * (integration "s3": its thread, timeouts, retries with backoff, the breaker), so callers
 * are worker or job threads, never an io loop.
 *
 * The signing functions are pure (date passed in) so tests check them against the npm
 * aws4 package with fixed dates and keys (tests/e2e/media/media_s3.mjs, unit tests).
 * SigV4: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html */
#ifndef VZ_INTEG_S3_H
#define VZ_INTEG_S3_H
#include <stddef.h>
#include <stdint.h>

typedef struct s3_conf {
  char endpoint[256];     /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
  char region[64];        /* "us-east-1" */
  char bucket[64];
  char access_key[128];
  char secret_key[128];
  int path_style;         /* 1: endpoint/bucket/key; 0: bucket.endpoint-host/key */
  int timeout_ms;         /* per attempt [30000]; HEAD and ranged GETs (request paths) 5000 */
  int max_retries;        /* [2] */
} s3_conf;

/* Errors beyond integrations/http.h's INTEG_E*: the store answered and refused. */
enum { S3_EHTTP = -40, /* an S3 error status (see *status) */
       S3_ENOTFOUND = -41, S3_EXML = -42 };

/* A request header to sign, name in lowercase. */
typedef struct s3_hdr { const char *name, *value; } s3_hdr;

/* "20261203T101500Z" for a unix time. */
void s3_amz_date(int64_t unix_s, char out[17]);
/* S3's URI encoding (RFC 3986 unreserved kept; '/' kept when keep_slash). Returns the
 * length written, or -1 when out is too small. */
int s3_uri_encode(const char *s, int keep_slash, char *out, size_t cap);
/* Lowercase hex SHA-256 of bytes. */
void s3_sha256_hex(const void *p, size_t n, char out[65]);

/* URL parts of an object: host (with :port when not default), canonical URI (encoded
 * path), and the full URL without query. 0 or -1 (endpoint unparsable, too long). */
int s3_object_url(const s3_conf *c, const char *key, char *host, size_t hcap, char *uri, size_t ucap,
                  char *url, size_t urlcap);

/* Header signing: the Authorization value for a request whose headers are hdrs (must
 * include host, x-amz-date and x-amz-content-sha256; any order) and canonical query
 * `query` ("" or already sorted and encoded, e.g. "partNumber=1&uploadId=abc"). */
int s3_sign_header(const s3_conf *c, const char *method, const char *uri, const char *query,
                   const s3_hdr *hdrs, int nhdrs, const char *payload_sha256, const char *amz_date,
                   char *auth, size_t cap);
/* A presigned URL for method on key, valid expires_s seconds from amz_date, binding the
 * given headers besides host (e.g. content-length and content-type for a PUT, so a larger
 * body or another type is refused by the store). */
int s3_presign(const s3_conf *c, const char *method, const char *key, int expires_s, const s3_hdr *hdrs,
               int nhdrs, const char *amz_date, char *url, size_t cap);

/* First <tag>...</tag> of an XML reply, entities decoded, into out. Its length, or -1. */
int s3_xml_value(const char *xml, size_t len, const char *tag, char *out, size_t cap);

/* ---- calls (integration "s3"; register it with s3_register first) ----------------- */
int s3_register(void);
/* Each returns 0, S3_ENOTFOUND (404), S3_EHTTP (other status; *status set when given),
 * or an INTEG_E* code (INTEG_EOPEN: the breaker is open). */
int s3_put(const s3_conf *c, const char *key, const void *body, size_t len, const char *content_type,
           const char *cache_control);
/* *out malloc'd (NUL-terminated); up to max bytes (else INTEG_ETOOBIG). range: NULL or
 * "bytes=0-63" (not signed: servers accept it unsigned, as aws4 leaves it). */
int s3_get(const s3_conf *c, const char *key, const char *range, size_t max, char **out, size_t *len);
int s3_head(const s3_conf *c, const char *key, int64_t *size, char *content_type, size_t ctcap);
int s3_delete(const s3_conf *c, const char *key);
/* Creates the bucket when it is missing (tests, first start on MinIO); 0 when it exists. */
int s3_ensure_bucket(const s3_conf *c);

/* Multipart: parts of at least 5 MiB except the last, up to 10,000. */
int s3_mpu_create(const s3_conf *c, const char *key, const char *content_type, char *upload_id, size_t cap);
int s3_mpu_part(const s3_conf *c, const char *key, const char *upload_id, int part, const void *body, size_t len,
                char *etag, size_t etcap);
/* etags[i] is part i+1's. A 200 whose body is an <Error> (S3 does that) is a failure. */
int s3_mpu_complete(const s3_conf *c, const char *key, const char *upload_id, char *const *etags, int nparts);
int s3_mpu_abort(const s3_conf *c, const char *key, const char *upload_id);
#endif
