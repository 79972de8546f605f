/* media/on_user.c: media's part of an account's deletion. The profile photo is personal
 * data, but a file cannot roll back with a transaction: deleting it in the deletion's
 * transaction would lose the photo of an account whose deletion then failed. So it is an
 * ASYNC subscriber (core/events.h): the job is queued in the deletion's transaction and
 * runs once that committed, retried with backoff while the disk fails. A file already
 * gone counts as done, so a retry or a second run changes nothing. The key comes in the
 * event: the users row forgets it in the same transaction.
 * The person's uploads that no service holds (never claimed: drafts, abandoned ones) are
 * released too; what a service claimed (a product's pictures) is that service's to let go. */
#include "core/events.h"
#include "core/log.h"
#include "db/db.h"
#include "services/media/media.h"

static int on_user_deleted(vz_db *db, const vz_event *ev) {
  const char *key = ev->user_deleted.avatar_key;
  int64_t ids[256];
  int n, rc;
  do { /* a page at a time: each release takes the row out of the next page */
    vz_stmt *st = NULL;
    n = 0;
    rc = db_run(db, &st, "SELECT id FROM media WHERE owner_id = $1 AND claimed_ref IS NULL"
                " AND state NOT IN ('released', 'expired') ORDER BY id LIMIT 256", "i", ev->user_deleted.user_id);
    while (rc == DB_ROW && n < 256) {
      ids[n++] = db_col_int(st, 0);
      rc = db_step(st);
    }
    db_finalize(st);
    if (rc < 0) return rc;
    for (int i = 0; i < n; i++)
      if ((rc = media_release(db, ids[i])) < 0) return rc; /* the job's failure: retried */
  } while (n == 256);
  if (!key) return 0;
  rc = media_delete(key);
  if (rc == MEDIA_EIO || rc == MEDIA_EUNAVAILABLE) return DB_ERROR; /* retried */
  if (rc == MEDIA_EINVAL) vz_log_warn("avatar of a deleted account has a key of no known shape", "key", key);
  return 0;
}

const vz_subscription media_on[] = {
  { VZ_EV_USER_DELETED, on_user_deleted, VZ_EV_ASYNC },
  { 0 },
};
