/* auth/on_user.c: auth's part of an account's deletion or suspension (core/events.h).
 *
 *   in the change's transaction (VZ_EV_IN_TX)   every refresh token of the account is
 *     revoked and, on deletion, its provider sign-in links (oauth_identities) go, so a
 *     Google or Apple sign-in cannot reach the anonymised row again. Rolled back with the
 *     change if anything fails.
 *   after the commit (VZ_EV_ASYNC, the outbox)  the access tokens of those sessions are
 *     refused and their sockets closed: the denylist (denylist.h) lives in memory here
 *     and on the other instances (told over the bus), which a rollback could not undo, so
 *     it is only told about what committed. The job denies every session of the account
 *     revoked within one access-token lifetime, so a retry or a late run does the same.
 * Between the commit and the job (on SQLite the job worker is already waiting on the
 * write lock, so a few milliseconds; on PostgreSQL up to the workers' 250 ms poll) an
 * access token still verifies by signature; the refresh token, sign-in and the account's
 * data are already gone or refused. */
#include "core/events.h"
#include "db/db.h"
#include "services/auth/auth.h"
#include "services/auth/internal.h"
#include "services/auth/refresh.h"

static int revoke_sessions(vz_db *db, int64_t uid) { return session_revoke_all_tx(db, uid, db_now_ms()); }

static int on_deleted(vz_db *db, const vz_event *ev) {
  int64_t uid = ev->user_deleted.user_id;
  int rc = revoke_sessions(db, uid);
  if (rc >= 0) rc = db_run(db, NULL, "DELETE FROM oauth_identities WHERE user_id = $1", "i", uid);
  return rc < 0 ? rc : 0;
}

static int on_suspended(vz_db *db, const vz_event *ev) { return revoke_sessions(db, ev->user_suspended.user_id); }

static int deny_sessions(vz_db *db, int64_t uid) {
  return session_deny_recent(db, uid, db_now_ms() - auth_access_ttl_s() * 1000);
}

static int deny_deleted(vz_db *db, const vz_event *ev) { return deny_sessions(db, ev->user_deleted.user_id); }
static int deny_suspended(vz_db *db, const vz_event *ev) { return deny_sessions(db, ev->user_suspended.user_id); }

const vz_subscription auth_on[] = {
  { VZ_EV_USER_DELETED, on_deleted, VZ_EV_IN_TX },
  { VZ_EV_USER_DELETED, deny_deleted, VZ_EV_ASYNC },
  { VZ_EV_USER_SUSPENDED, on_suspended, VZ_EV_IN_TX },
  { VZ_EV_USER_SUSPENDED, deny_suspended, VZ_EV_ASYNC },
  { 0 },
};
