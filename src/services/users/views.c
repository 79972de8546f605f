/* users/views.c: read-only views of accounts and the graph for other services (chat's
 * author badges, followers-only mode, block filtering), so they never read these
 * tables themselves (users.h). */
#include <stdio.h>

#include "core/http.h"
#include "db/db.h"
#include "services/auth/auth.h"
#include "services/users/users.h"

int users_brief_get(vz_db *db, int64_t id, users_brief *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT coalesce(handle, ''), display_name, role FROM users WHERE id = $1 AND deleted_at IS NULL",
                  "i", id);
  if (rc == DB_ROW) {
    snprintf(out->handle, sizeof out->handle, "%s", db_col_text(st, 0));
    snprintf(out->display_name, sizeof out->display_name, "%s", db_col_text(st, 1));
    out->role = auth_role_from_name(db_col_text(st, 2));
  }
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

int users_follow_since(vz_db *db, int64_t follower, int64_t followee, int64_t *since_ms) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT created_at FROM follows WHERE follower_id = $1 AND followee_id = $2", "ii", follower,
                  followee);
  if (rc == DB_ROW) *since_ms = db_col_int(st, 0);
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

int users_block_list(vz_db *db, int64_t uid, int64_t *ids, int max) {
  vz_stmt *st = NULL;
  int n = 0;
  int rc = db_run(db, &st, "SELECT blocked_id FROM blocks WHERE blocker_id = $1 UNION SELECT blocker_id FROM blocks"
                  " WHERE blocked_id = $1", "i", uid);
  while (rc == DB_ROW && n < max) {
    ids[n++] = db_col_int(st, 0);
    rc = db_step(st);
  }
  db_finalize(st);
  return rc < 0 ? rc : n;
}
