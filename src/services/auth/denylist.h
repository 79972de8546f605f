/* denylist: access tokens that must stop working before they expire. An access token is
 * checked by signature alone (no database read per request), so without this a signed-out
 * or stolen session would keep its access for up to the token lifetime (15 min). Entries
 * are sessions (refresh-token families: every access token carries its session id, sid),
 * each kept only as long as a token of it could still be valid. Sign-out, session
 * revocation, refresh-token reuse, password reset and account deletion all end here.
 *
 * Every instance holds the list in memory, so the check costs one hash lookup. An entry
 * is applied here at once and sent to the other instances on the bus ("auth:deny"); an
 * instance that starts later loads the sessions revoked within the token lifetime from
 * the database. */
#ifndef VZ_AUTH_DENYLIST_H
#define VZ_AUTH_DENYLIST_H
#include <stdint.h>

#include "db/db.h"

/* Before the bus starts: subscribes, and loads recent revocations through db (may be
 * NULL: nothing to load). ttl_s: the access token lifetime (plus leeway). */
int denylist_init(vz_db *db, int64_t ttl_s);
/* After the session's refresh tokens were revoked (committed). */
void denylist_session(int64_t sid);
/* 1 when a token of session sid must be refused. */
int denylist_rejects(int64_t sid);
void denylist_free(void);
/* Called (any thread, must not block) for each session denied from now on, here or on
 * another instance: open connections authenticated by it are ended too. */
void denylist_on_revoke(void (*fn)(int64_t sid));
#endif
