/* media/on_user.c: media's part of an account's deletion. The profile photo is personal
 * data, but a file cannot roll back with a transaction: deleting it in the deletion's
 * transaction would lose the photo of an account whose deletion then failed. So it is an
 * ASYNC subscriber (core/events.h): the job is queued in the deletion's transaction and
 * runs once that committed, retried with backoff while the disk fails. A file already
 * gone counts as done, so a retry or a second run changes nothing. The key comes in the
 * event: the users row forgets it in the same transaction. */
#include "core/events.h"
#include "core/log.h"
#include "services/media/media.h"

static int on_user_deleted(vz_db *db, const vz_event *ev) {
  const char *key = ev->user_deleted.avatar_key;
  (void)db;
  if (!key) return 0;
  int rc = media_delete(key);
  if (rc == MEDIA_EIO) return DB_ERROR; /* the job's failure: retried */
  if (rc == MEDIA_EINVAL) vz_log_warn("avatar of a deleted account has a key of no known shape", "key", key);
  return 0;
}

const vz_subscription media_on[] = {
  { VZ_EV_USER_DELETED, on_user_deleted, VZ_EV_ASYNC },
  { 0 },
};
