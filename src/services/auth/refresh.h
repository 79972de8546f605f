/* refresh: opaque rotating refresh tokens grouped in families (one family = one signed-in
 * device = one "session"). The token is 32 random bytes in base64url; only its SHA-256
 * is stored. Each use rotates it: the presented token is marked replaced and a child is
 * issued in the same family. Presenting a token that was already replaced means two
 * parties hold it (theft): the whole family is revoked (OAuth 2.0 Security BCP, RFC 9700
 * 4.14.2, "refresh token rotation"). */
#ifndef VZ_AUTH_REFRESH_H
#define VZ_AUTH_REFRESH_H
#include <jansson.h>
#include <stdint.h>

typedef struct vz_db vz_db;

#define REFRESH_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */
#define REFRESH_HASH_HEX 65
#define REFRESH_TTL_MS (30LL * 24 * 3600 * 1000)

int refresh_new(char tok[REFRESH_TOKEN_LEN + 1]);
void refresh_hash(const char *tok, char out[REFRESH_HASH_HEX]);

/* What the database holds about a presented token, and the pure decision on it. */
typedef struct refresh_row {
  int64_t id, user_id, family_id, expires_at, revoked_at, replaced_by;
} refresh_row;
enum {
  REFRESH_ROTATE = 0,   /* live: issue the child, retire this one */
  REFRESH_UNKNOWN = 1,  /* no such token */
  REFRESH_EXPIRED = 2,
  REFRESH_REVOKED = 3,  /* signed out or already revoked: refuse, nothing else to do */
  REFRESH_REUSE = 4,    /* replaced earlier and presented again: revoke the family */
};
int refresh_decide(const refresh_row *row, int64_t now_ms);

/* ---- sessions in the database (session.c) ------------------------------------------ */
/* Below the DB_* codes so the two never collide inside session.c. */
enum { SESSION_OK = 0, SESSION_EINVALID = -10, SESSION_EREUSE = -11, SESSION_ENOTFOUND = -12,
       SESSION_EDB = -13 };

typedef struct session_tokens {
  int64_t user_id, family_id, expires_at;
  char token[REFRESH_TOKEN_LEN + 1];
} session_tokens;

/* Starts a family for a fresh sign-in. device/user_agent/ip may be NULL. */
int session_create(vz_db *db, int64_t user_id, const char *device, const char *user_agent,
                   const char *ip, int64_t now_ms, session_tokens *out);
/* Rotates token. On SESSION_EREUSE the family has been revoked. */
int session_refresh(vz_db *db, const char *token, const char *user_agent, const char *ip,
                    int64_t now_ms, session_tokens *out);
/* Sign-out: revokes the family the token belongs to (must belong to user_id if > 0). */
int session_signout(vz_db *db, const char *token, int64_t user_id, int64_t now_ms);
/* Revokes one family of user_id (SESSION_ENOTFOUND if it is not theirs). */
int session_revoke(vz_db *db, int64_t user_id, int64_t family_id, int64_t now_ms);
/* Revoke-all inside the caller's transaction, without touching the denylist: memory (and
 * the other instances told over the bus) cannot roll back with the transaction, so the
 * access tokens are ended after the commit, by session_deny_recent (on_user.c runs it from
 * the outbox). 0 or <0 DB_*. */
int session_revoke_all_tx(vz_db *db, int64_t user_id, int64_t now_ms);
/* Denies every session of user_id revoked at or after since_ms; idempotent. 0 or <0. */
int session_deny_recent(vz_db *db, int64_t user_id, int64_t since_ms);
/* Live sessions of user_id: [{id, device, user_agent, ip, created_at, last_used_at}]. */
int session_list(vz_db *db, int64_t user_id, int64_t now_ms, json_t **out);
#endif
