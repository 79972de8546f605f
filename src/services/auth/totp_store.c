/* totp_store.c: "each step once" (RFC 6238 5.2) in the database. totp_verify decides on
 * the last step read with the account; that read is stale as soon as a parallel sign-in
 * with the same code commits, so the step is taken with one conditional UPDATE and the
 * changed-row count decides. On PostgreSQL a second UPDATE of the row waits for the
 * first to commit and then re-checks the condition (READ COMMITTED), on SQLite writers
 * are serialised: either way one code signs in once. */
#include "db/db.h"
#include "services/auth/totp.h"

int totp_take_step(vz_db *db, int64_t uid, int64_t step) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
                  "ii", step, uid);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  return changed == 1 ? 0 : TOTP_EUSED;
}
