/* media/jobs.c: the media service's durable jobs (jobs/runner.h). Each is idempotent,
 * as the queue runs a job at least once:
 *   media.image   decode the confirmed upload, write the variants, set the row ready
 *                 (or failed with the reason); the original is deleted afterwards so
 *                 its EXIF/GPS is kept nowhere. The row changes only if it is still
 *                 processing: a media released meanwhile gets its fresh variants deleted.
 *   media.expire  an upload never confirmed by expires_at: bytes deleted, row expired.
 *   media.delete  a released media: every object it has.
 * Store failures return an error: the job is retried with backoff. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db.h"
#include "core/service.h"
#include "jobs/runner.h"
#include "lib/clock.h"
#include "services/media/internal.h"

/* /metrics: images by outcome and the time the pipeline took (relaxed atomics: job
 * threads write, the scrape reads). */
static atomic_ullong img_ready, img_refused, img_retried, img_us;
extern atomic_ullong media_uploads_created, media_uploads_refused; /* media.c */

void media_metrics(char **buf, size_t *len, size_t *cap) {
  vz_metrics_printf(buf, len, cap,
                    "# HELP vidzo_media_images_total Images the pipeline finished, by outcome.\n"
                    "# TYPE vidzo_media_images_total counter\n"
                    "vidzo_media_images_total{outcome=\"ready\"} %llu\nvidzo_media_images_total{outcome=\"refused\"} %llu\n"
                    "vidzo_media_images_total{outcome=\"retried\"} %llu\n"
                    "# HELP vidzo_media_image_seconds_total Time spent decoding, resizing, encoding and storing.\n"
                    "# TYPE vidzo_media_image_seconds_total counter\nvidzo_media_image_seconds_total %.3f\n"
                    "# HELP vidzo_media_uploads_total Uploads asked for, and refused at confirm.\n"
                    "# TYPE vidzo_media_uploads_total counter\n"
                    "vidzo_media_uploads_total{outcome=\"created\"} %llu\nvidzo_media_uploads_total{outcome=\"refused\"} %llu\n",
                    (unsigned long long)img_ready, (unsigned long long)img_refused, (unsigned long long)img_retried,
                    (double)img_us / 1e6, (unsigned long long)media_uploads_created,
                    (unsigned long long)media_uploads_refused);
}

static int64_t job_id(const jobs_job *j) {
  json_t *o = json_loads(j->payload, 0, NULL);
  int64_t id = o ? json_integer_value(json_object_get(o, "id")) : 0;
  json_decref(o);
  return id;
}

/* Deletes an object; gone already is done. */
static int del_ok(const char *key) {
  int rc = media_store_get()->del(key);
  return rc == 0 || rc == MEDIA_ENOTFOUND || rc == MEDIA_EINVAL ? 0 : rc;
}

static int del_variants(const char *variants_json) {
  json_t *vs = json_loads(variants_json, 0, NULL), *v;
  size_t i;
  int rc = 0;
  json_array_foreach(vs, i, v) {
    const char *w = json_string_value(json_object_get(v, "webp")), *j = json_string_value(json_object_get(v, "jpeg"));
    if ((w && del_ok(w)) || (j && del_ok(j))) rc = MEDIA_EIO;
  }
  json_decref(vs);
  return rc;
}

static json_t *variants_json(const media_image_out *o) {
  json_t *a = json_array();
  for (int i = 0; i < o->nv; i++)
    json_array_append_new(a, json_pack("{s:i, s:s, s:s}", "size", o->v[i].size, "webp", o->v[i].webp, "jpeg",
                                       o->v[i].jpeg));
  return a;
}

/* A store failure of the image job: retried with the queue's backoff, except on the last
 * attempt, where the media becomes failed (processing_failed) so it never stays
 * "processing" for ever: the client sees a terminal state and uploads again, and
 * media_claim refuses it (MEDIA_ESTATE). The original is left to nobody: the expiry sweep
 * deletes a failed upload's bytes. Returns what the handler returns: -1 to retry, 0 when
 * the media was given up (the job is then done, not dead: there is nothing left to do). */
static int give_up(vz_db *db, const jobs_job *j, int64_t id, const char *err) {
  if (j->attempts < j->max_attempts) return -1;
  int rc = db_run(db, NULL,
                  "UPDATE media SET state = 'failed', reason = 'processing_failed', error = $1, updated_at = $2"
                  " WHERE id = $3 AND state = 'processing'",
                  "sii", "the image could not be processed (storage unavailable); upload it again", db_now_ms(), id);
  char ids[24];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  vz_log_warn("media image given up after its last attempt", "media", ids, "error", err);
  return rc < 0 ? -1 : 0;
}

static int job_image(vz_db *db, const jobs_job *j, char *err, size_t errlen) {
  int64_t id = job_id(j);
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, upload_key, private, declared_size FROM media WHERE id = $1", "i", id);
  if (rc < 0) { db_finalize(st); snprintf(err, errlen, "db: %d", rc); return -1; }
  if (rc != DB_ROW || strcmp(db_col_text(st, 0), "processing")) { db_finalize(st); return 0; }
  char key[96];
  snprintf(key, sizeof key, "%s", db_col_text(st, 1));
  int private_ = (int)db_col_int(st, 2);
  int64_t size = db_col_int(st, 3);
  db_finalize(st);
  char *bytes = NULL;
  size_t len = 0;
  /* never more than was declared (and checked) at confirm: a larger object is refused */
  rc = media_store_get()->get(key, NULL, (size_t)size, &bytes, &len);
  if (rc == MEDIA_ENOTFOUND || rc == MEDIA_ETOOBIG) {
    db_run(db, NULL, "UPDATE media SET state = 'failed', reason = 'file_changed', error = $1, updated_at = $2"
           " WHERE id = $3 AND state = 'processing'",
           "sii", rc == MEDIA_ETOOBIG ? "the file changed after confirm" : "the file is gone", db_now_ms(), id);
    return 0;
  }
  if (rc) { snprintf(err, errlen, "store: get failed (%d)", rc); return give_up(db, j, id, err); }
  media_image_out out;
  uint64_t t0 = vz_mono_ns();
  rc = media_image_process(id, private_, bytes, len, &out);
  free(bytes);
  atomic_fetch_add_explicit(&img_us, (vz_mono_ns() - t0) / 1000, memory_order_relaxed);
  atomic_fetch_add_explicit(rc == 0 ? &img_ready : rc == MEDIA_EINVAL ? &img_refused : &img_retried, 1,
                            memory_order_relaxed);
  if (rc == MEDIA_EIO || rc == MEDIA_EUNAVAILABLE) {
    /* what was written stays unreferenced; the retry writes the same keys again */
    snprintf(err, errlen, "store: put failed (%d)", rc);
    return give_up(db, j, id, err);
  }
  int64_t now = db_now_ms();
  vz_stmt *up = NULL;
  if (rc) {
    rc = db_run(db, NULL, "UPDATE media SET state = 'failed', reason = 'image_refused', error = $1, updated_at = $2"
                " WHERE id = $3 AND state = 'processing'", "sii", out.error, now, id);
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    vz_log_info("media refused", "media", ids, "error", out.error);
  } else {
    json_t *vj = variants_json(&out);
    char *vs = json_dumps(vj, JSON_COMPACT);
    json_decref(vj);
    rc = db_run(db, &up,
                "UPDATE media SET state = 'ready', width = $1, height = $2, color = $3, variants = $4, updated_at = $5"
                " WHERE id = $6 AND state = 'processing'",
                "iissii", (int64_t)out.width, (int64_t)out.height, out.color, vs, now, id);
    int changed = rc >= 0 ? db_changes(up) : 0;
    db_finalize(up);
    if (rc >= 0 && !changed) del_variants(vs); /* released or swept meanwhile: nobody will reference them */
    free(vs);
  }
  if (rc < 0) { snprintf(err, errlen, "db: %d", rc); return -1; }
  del_ok(key); /* the original (with its EXIF) is not kept; a failure leaves it to the expiry sweep */
  return 0;
}

static int job_expire(vz_db *db, const jobs_job *j, char *err, size_t errlen) {
  int64_t id = job_id(j);
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, upload_key FROM media WHERE id = $1", "i", id);
  if (rc < 0) { db_finalize(st); snprintf(err, errlen, "db: %d", rc); return -1; }
  if (rc != DB_ROW) { db_finalize(st); return 0; }
  char state[16], key[96];
  snprintf(state, sizeof state, "%s", db_col_text(st, 0));
  snprintf(key, sizeof key, "%s", db_col_text(st, 1));
  db_finalize(st);
  /* a refused upload (failed) is swept as well: its bytes were deleted at confirm, but a
   * PUT may have come after that */
  /* a deleted (released) upload's original too: a presigned PUT may land after the delete */
  if (!strcmp(state, "released")) return del_ok(key) ? (snprintf(err, errlen, "store: delete failed"), -1) : 0;
  if (strcmp(state, "pending") && strcmp(state, "failed")) return 0;
  if (del_ok(key)) { snprintf(err, errlen, "store: delete failed"); return -1; }
  rc = db_run(db, NULL, "UPDATE media SET state = 'expired', token_hash = NULL, updated_at = $1 WHERE id = $2"
              " AND state IN ('pending', 'failed')", "ii", db_now_ms(), id);
  if (rc < 0) { snprintf(err, errlen, "db: %d", rc); return -1; }
  return 0;
}

static int job_delete(vz_db *db, const jobs_job *j, char *err, size_t errlen) {
  int64_t id = job_id(j);
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT state, upload_key, variants, object_key FROM media WHERE id = $1", "i", id);
  if (rc < 0) { db_finalize(st); snprintf(err, errlen, "db: %d", rc); return -1; }
  if (rc != DB_ROW || strcmp(db_col_text(st, 0), "released")) { db_finalize(st); return 0; }
  int bad = del_ok(db_col_text(st, 1));
  if (!db_col_is_null(st, 2) && del_variants(db_col_text(st, 2))) bad = 1;
  if (!db_col_is_null(st, 3) && del_ok(db_col_text(st, 3))) bad = 1;
  db_finalize(st);
  if (bad) { snprintf(err, errlen, "store: delete failed"); return -1; }
  return 0;
}

/* image: decoding a 40 MP picture plus six uploads fits well inside two minutes */
const vz_queue media_queues[] = {
  { "media.image", job_image, 120000 },
  { "media.expire", job_expire, 60000 },
  { "media.delete", job_delete, 60000 },
  { 0 },
};
