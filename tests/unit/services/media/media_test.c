/* Invariant: what media reads from clients is bounded and total: Range headers give one
 * satisfiable range, "ignore" or 416 and never a range past the end; magic bytes decide
 * the type; keys of any other shape are refused before a path is built. And an upload is
 * claimed once, only by its owner, for its purpose, once confirmed; a released media
 * queues the deletion of its objects in the caller's transaction. */
#include <string.h>

#include "../../db/dbtest.h"
#include "services/media/internal.h"

TEST(media_range_header) {
  int64_t a, b;
  CHECK_EQ_INT(media_parse_range("bytes=0-9", 100, &a, &b), 1);
  CHECK(a == 0 && b == 9);
  CHECK_EQ_INT(media_parse_range("bytes=90-", 100, &a, &b), 1);
  CHECK(a == 90 && b == 99);
  CHECK_EQ_INT(media_parse_range("bytes=90-5000", 100, &a, &b), 1);
  CHECK(b == 99);
  CHECK_EQ_INT(media_parse_range("bytes=-5", 100, &a, &b), 1);
  CHECK(a == 95 && b == 99);
  CHECK_EQ_INT(media_parse_range("bytes=-500", 100, &a, &b), 1);
  CHECK(a == 0 && b == 99);
  CHECK_EQ_INT(media_parse_range("bytes=100-", 100, &a, &b), -1);
  CHECK_EQ_INT(media_parse_range("bytes=-0", 100, &a, &b), -1);
  CHECK_EQ_INT(media_parse_range("bytes=0-", 0, &a, &b), -1);
  /* ignored: the whole representation is sent */
  CHECK_EQ_INT(media_parse_range(NULL, 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=0-1,4-5", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("items=0-1", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=5-1", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=a-b", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=1-2x", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=99999999999999999999-", 100, &a, &b), 0);
  CHECK_EQ_INT(media_parse_range("bytes=", 100, &a, &b), 0);
}

TEST(media_sniff_and_keys) {
  CHECK_EQ_STR(media_sniff_image("\xff\xd8\xff\xe0", 4), "image/jpeg");
  CHECK_EQ_STR(media_sniff_image("\x89PNG\r\n\x1a\n", 8), "image/png");
  CHECK_EQ_STR(media_sniff_image("RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp");
  CHECK(!media_sniff_image("<svg onload=x>", 14));
  CHECK(!media_sniff_image("GIF89a", 6));
  CHECK(!media_sniff_image("PK\x03\x04", 4));
  CHECK(!media_sniff_image("\xff\xd8", 2)); /* too short */
  CHECK(media_key_ok("i-0123456789abcdef0123456789abcdef-480.webp"));
  CHECK(media_key_ok("up-0123.bin"));
  CHECK(!media_key_ok("../vidzo.db"));
  CHECK(!media_key_ok(".secret"));
  CHECK(!media_key_ok("-x.jpg"));
  CHECK(!media_key_ok("a/b.jpg"));
  CHECK(!media_key_ok("A.jpg"));
  CHECK(!media_key_ok("x.svg"));
  CHECK(!media_key_ok("x.exe"));
  CHECK(media_purpose_find("product_image") && media_purpose_find("product_image")->client_upload);
  CHECK(!media_purpose_find("recording")->client_upload);
  CHECK(media_purpose_find("feedback_screenshot")->private_);
  CHECK(!media_purpose_find("svg"));
}

static int64_t upload(vz_db *db, int64_t owner, const char *purpose, const char *state) {
  int64_t id = db_id_new();
  db_run(db, NULL,
         "INSERT INTO media (id, owner_id, purpose, state, declared_type, declared_size, upload_key, expires_at,"
         " created_at, updated_at) VALUES ($1, $2, $3, $4, 'image/png', 10, 'up-1.bin', 0, 0, 0)",
         "iiss", id, owner, purpose, state);
  return id;
}

static void claim_body(vz_db *db, const char *url, int *vz_failed) {
  char err[256];
  CHECK_EQ_INT(db_migrate(db, err, sizeof err), 0);
  int64_t mid = 0, a = upload(db, 7, "product_image", "processing"), p = upload(db, 7, "product_image", "pending");
  int64_t f = upload(db, 7, "product_image", "failed");
  CHECK_EQ_INT(media_claim(db, a, 8, "product_image", "product:1", &mid), MEDIA_ENOTFOUND); /* someone else's */
  CHECK_EQ_INT(media_claim(db, a, 7, "avatar", "user:7", &mid), MEDIA_EPURPOSE);
  CHECK_EQ_INT(media_claim(db, p, 7, "product_image", "product:1", &mid), MEDIA_ESTATE);
  CHECK_EQ_INT(media_claim(db, f, 7, "product_image", "product:1", &mid), MEDIA_ESTATE);
  CHECK_EQ_INT(media_claim(db, 12345, 7, "product_image", "product:1", &mid), MEDIA_ENOTFOUND);
  /* failed is terminal and says why: the reason code (older rows without one: image_refused) */
  db_run(db, NULL, "UPDATE media SET reason = 'processing_failed', error = 'x' WHERE id = $1", "i", f);
  json_t *fj = media_json(db, f);
  CHECK(fj);
  CHECK_EQ_STR(json_string_value(json_object_get(fj, "status")), "failed");
  CHECK_EQ_STR(json_string_value(json_object_get(fj, "reason")), "processing_failed");
  CHECK(!json_object_get(fj, "variants"));
  json_decref(fj);
  db_run(db, NULL, "UPDATE media SET reason = NULL WHERE id = $1", "i", f);
  fj = media_json(db, f);
  CHECK_EQ_STR(json_string_value(json_object_get(fj, "reason")), "image_refused");
  json_decref(fj);
  char fu[256];
  CHECK_EQ_INT(media_url(db, f, 480, "webp", fu, sizeof fu), MEDIA_ESTATE); /* never served */
  /* a claim rolled back with its transaction leaves the upload claimable */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(media_claim(db, a, 7, "product_image", "product:1", &mid), 0);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_INT(media_claim(db, a, 7, "product_image", "product:2", &mid), 0);
  CHECK(mid == a);
  CHECK_EQ_INT(media_claim(db, a, 7, "product_image", "product:3", &mid), MEDIA_ESTATE); /* once */
  json_t *j = media_json(db, a);
  CHECK(j);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "status")), "processing");
  CHECK(!json_object_get(j, "variants"));
  json_decref(j);
  json_t *many = media_json_many(db, (int64_t[]){ a, 999, a }, 3);
  CHECK_EQ_INT(json_array_size(many), 3);
  CHECK(json_is_null(json_array_get(many, 1)));
  json_decref(many);
  char u[256];
  CHECK_EQ_INT(media_url(db, a, 480, "webp", u, sizeof u), MEDIA_ESTATE);
  /* ready: the largest variant not above the size asked for */
  db_run(db, NULL, "UPDATE media SET state = 'ready', variants = $1 WHERE id = $2", "si",
         "[{\"size\":1080,\"webp\":\"i-a-1080.webp\",\"jpeg\":\"i-a-1080.jpg\"},"
         "{\"size\":480,\"webp\":\"i-a-480.webp\",\"jpeg\":\"i-a-480.jpg\"},"
         "{\"size\":160,\"webp\":\"i-a-160.webp\",\"jpeg\":\"i-a-160.jpg\"}]", a);
  CHECK_EQ_INT(media_url(db, a, 480, "webp", u, sizeof u), 0);
  CHECK_EQ_STR(u, "/v1/media/i-a-480.webp");
  CHECK_EQ_INT(media_url(db, a, 600, "jpeg", u, sizeof u), 0);
  CHECK_EQ_STR(u, "/v1/media/i-a-480.jpg");
  CHECK_EQ_INT(media_url(db, a, 0, "webp", u, sizeof u), 0);
  CHECK_EQ_STR(u, "/v1/media/i-a-1080.webp");
  CHECK_EQ_INT(media_url(db, a, 100, "webp", u, sizeof u), 0); /* smaller than all: the smallest */
  CHECK_EQ_STR(u, "/v1/media/i-a-160.webp");
  /* release: one deletion job, queued in the transaction; twice is a no-op */
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(media_release(db, a), 0);
  CHECK_EQ_INT(media_release(db, a), 0);
  CHECK_EQ_INT(db_commit(db), 0);
  vz_stmt *st = NULL;
  CHECK_EQ_INT(db_run(db, &st, "SELECT count(*) FROM jobs WHERE queue = 'media.delete'", ""), DB_ROW);
  int64_t n = db_col_int(st, 0);
  db_finalize(st);
  CHECK_EQ_INT(n, 1);
  j = media_json(db, a); /* released media still renders, as released and without URLs */
  CHECK(j);
  CHECK_EQ_STR(json_string_value(json_object_get(j, "status")), "released");
  CHECK(!json_object_get(j, "variants"));
  json_decref(j);
  CHECK_EQ_INT(media_claim(db, a, 7, "product_image", "product:4", &mid), MEDIA_ENOTFOUND);
}

TEST(media_claim_release) { dbt_each(vz_failed, claim_body); }
