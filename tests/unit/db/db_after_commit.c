/* Invariant: an after-commit hook runs once, after the outermost commit, in registration
 * order; never when that transaction or the savepoint open at its registration rolls
 * back (then its drop runs); a savepoint that commits hands its hooks to the enclosing
 * level; with no transaction open it runs at once. */
#include <string.h>

#include "dbtest.h"

static char trail[64];
static void mark(void *arg) { strncat(trail, (const char *)arg, sizeof trail - strlen(trail) - 1); }
static void dropped(void *arg) {
  strncat(trail, "-", sizeof trail - strlen(trail) - 1);
  strncat(trail, (const char *)arg, sizeof trail - strlen(trail) - 1);
}

static void after_body(vz_db *db, const char *url, int *vz_failed) {
  trail[0] = 0;
  CHECK_EQ_INT(db_after_commit(db, mark, "a", dropped), 0); /* no transaction: at once */
  CHECK_EQ_STR(trail, "a");

  trail[0] = 0;
  CHECK_EQ_INT(db_begin(db), 0);
  db_after_commit(db, mark, "b", dropped);
  CHECK_EQ_INT(db_begin(db), 0);
  db_after_commit(db, mark, "c", dropped);
  CHECK_EQ_INT(db_commit(db), 0);           /* savepoint merged: c now belongs to level 1 */
  CHECK_EQ_STR(trail, "");
  CHECK_EQ_INT(db_begin(db), 0);
  db_after_commit(db, mark, "d", dropped);
  CHECK_EQ_INT(db_rollback(db), 0);         /* only d goes */
  CHECK_EQ_STR(trail, "-d");
  CHECK_EQ_INT(db_commit(db), 0);
  CHECK_EQ_STR(trail, "-dbc");

  trail[0] = 0;
  CHECK_EQ_INT(db_begin(db), 0);
  db_after_commit(db, mark, "e", dropped);
  CHECK_EQ_INT(db_rollback(db), 0);
  CHECK_EQ_STR(trail, "-e");
}

TEST(db_after_commit_hooks) { dbt_each(vz_failed, after_body); }
