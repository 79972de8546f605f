/* totp_store.c: "each step once" (RFC 6238 5.2) in the database. totp_verify decides on
 * the last step read with the account; that read is stale as soon as a parallel sign-in
 * with the same code commits, so the step is taken with one conditional UPDATE and the
 * changed-row count decides. On PostgreSQL a second UPDATE of the row waits for the
 * first to commit and then re-checks the condition (READ COMMITTED), on SQLite writers
 * are serialised: either way one code signs in once. */
#include "db/db.h"
#include "services/auth/totp.h"
#include "services/users/users.h"

/* The step lives on the account row, which users owns: the conditional UPDATE is its
 * users_totp_take_step, the decision (used or not) is ours. */
int totp_take_step(vz_db *db, int64_t uid, int64_t step) {
  int changed = 0, rc = users_totp_take_step(db, uid, step, &changed);
  if (rc < 0) return rc;
  return changed == 1 ? 0 : TOTP_EUSED;
}
