/* session.c: refresh-token families in the database. Each rotation runs in one
 * transaction and retires the parent with a conditional UPDATE (replaced_by IS NULL), so
 * two concurrent refreshes with the same token cannot both win: the loser sees zero rows
 * changed and is treated as reuse, which revokes the family (refresh.h explains why). */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "services/auth/denylist.h"
#include "services/auth/refresh.h"

#define RETRIES 3

static int insert_token(vz_db *db, int64_t id, int64_t uid, int64_t family, int64_t parent,
                        const char *hash, const char *device, const char *ua, const char *ip,
                        int64_t now) {
  vz_stmt *st = NULL;
  int rc = db_prepare(db,
                      "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, parent_id,"
                      " device, user_agent, ip, created_at, last_used_at, expires_at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                      &st);
  if (rc < 0) return rc;
  db_bind_int(st, 1, id);
  db_bind_int(st, 2, uid);
  db_bind_int(st, 3, family);
  db_bind_text(st, 4, hash, -1);
  if (parent) db_bind_int(st, 5, parent);
  else db_bind_null(st, 5);
  if (device) db_bind_text(st, 6, device, -1);
  else db_bind_null(st, 6);
  if (ua) db_bind_text(st, 7, ua, -1);
  else db_bind_null(st, 7);
  if (ip) db_bind_text(st, 8, ip, -1);
  else db_bind_null(st, 8);
  db_bind_int(st, 9, now);
  db_bind_int(st, 10, now);
  db_bind_int(st, 11, now + REFRESH_TTL_MS);
  rc = db_step(st);
  db_finalize(st);
  return rc < 0 ? rc : 0;
}

int session_create(vz_db *db, int64_t user_id, const char *device, const char *user_agent,
                   const char *ip, int64_t now_ms, session_tokens *out) {
  char hash[REFRESH_HASH_HEX];
  memset(out, 0, sizeof *out);
  if (refresh_new(out->token) != 0) return SESSION_EDB;
  refresh_hash(out->token, hash);
  int64_t id = db_id_new();
  if (insert_token(db, id, user_id, id, 0, hash, device, user_agent, ip, now_ms) < 0)
    return SESSION_EDB;
  out->user_id = user_id;
  out->family_id = id;
  out->expires_at = now_ms + REFRESH_TTL_MS;
  return SESSION_OK;
}

static int revoke_family(vz_db *db, int64_t family, int64_t now) {
  int rc = db_run(db, NULL,
                  "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
                  "ii", now, family);
  return rc < 0 ? rc : 0;
}

/* One attempt of the rotation transaction; <0 DB errors (DB_EBUSY: retry). */
static int refresh_once(vz_db *db, const char *token, const char *ua, const char *ip,
                        int64_t now, session_tokens *out) {
  char hash[REFRESH_HASH_HEX], nhash[REFRESH_HASH_HEX], device[256] = "";
  vz_stmt *st = NULL;
  refresh_row row = {0};
  int found = 0, rc;
  refresh_hash(token, hash);
  if ((rc = db_begin(db)) < 0) return rc;
  rc = db_run(db, &st,
              "SELECT t.id, t.user_id, t.family_id, t.expires_at, coalesce(t.revoked_at, 0),"
              " coalesce(t.replaced_by, 0), t.device, u.deleted_at"
              " FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
              "s", hash);
  if (rc == DB_ROW) {
    found = 1;
    row.id = db_col_int(st, 0), row.user_id = db_col_int(st, 1);
    row.family_id = db_col_int(st, 2), row.expires_at = db_col_int(st, 3);
    row.revoked_at = db_col_int(st, 4), row.replaced_by = db_col_int(st, 5);
    if (!db_col_is_null(st, 6)) snprintf(device, sizeof device, "%s", db_col_text(st, 6));
    if (!db_col_is_null(st, 7) && !row.revoked_at) row.revoked_at = db_col_int(st, 7);
  }
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto fail;
  switch (refresh_decide(found ? &row : NULL, now)) {
    case REFRESH_ROTATE: break;
    case REFRESH_REUSE:
      if ((rc = revoke_family(db, row.family_id, now)) < 0) goto fail;
      if ((rc = db_commit(db)) < 0) return rc;
      denylist_session(row.family_id); /* a stolen token's access tokens die with it */
      return SESSION_EREUSE;
    default:
      db_rollback(db);
      return SESSION_EINVALID;
  }
  int64_t child = db_id_new();
  if (refresh_new(out->token) != 0) {
    rc = DB_ERROR;
    goto fail;
  }
  refresh_hash(out->token, nhash);
  rc = insert_token(db, child, row.user_id, row.family_id, row.id, nhash,
                    device[0] ? device : NULL, ua, ip, now);
  if (rc < 0) goto fail;
  rc = db_run(db, &st,
              "UPDATE refresh_tokens SET replaced_by = $1, last_used_at = $2"
              " WHERE id = $3 AND replaced_by IS NULL AND revoked_at IS NULL",
              "iii", child, now, row.id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) goto fail;
  if (changed != 1) { /* a concurrent refresh won with the same token: that is reuse */
    if ((rc = revoke_family(db, row.family_id, now)) < 0) goto fail;
    if ((rc = db_commit(db)) < 0) return rc;
    denylist_session(row.family_id);
    return SESSION_EREUSE;
  }
  if ((rc = db_commit(db)) < 0) return rc;
  out->user_id = row.user_id;
  out->family_id = row.family_id;
  out->expires_at = now + REFRESH_TTL_MS;
  return SESSION_OK;
fail:
  db_rollback(db);
  return rc;
}

int session_refresh(vz_db *db, const char *token, const char *user_agent, const char *ip,
                    int64_t now_ms, session_tokens *out) {
  memset(out, 0, sizeof *out);
  if (!token || strlen(token) != REFRESH_TOKEN_LEN) return SESSION_EINVALID;
  for (int i = 0; i < RETRIES; i++) {
    int rc = refresh_once(db, token, user_agent, ip, now_ms, out);
    if (rc == DB_EBUSY) continue;
    return rc >= 0 || rc <= SESSION_EINVALID ? rc : SESSION_EDB;
  }
  return SESSION_EDB;
}

int session_signout(vz_db *db, const char *token, int64_t user_id, int64_t now_ms) {
  char hash[REFRESH_HASH_HEX];
  vz_stmt *st = NULL;
  if (!token || strlen(token) != REFRESH_TOKEN_LEN) return SESSION_EINVALID;
  refresh_hash(token, hash);
  int rc = db_run(db, &st, "SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = $1",
                  "s", hash);
  int64_t family = 0, uid = 0;
  if (rc == DB_ROW) family = db_col_int(st, 0), uid = db_col_int(st, 1);
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) return SESSION_EDB;
  if (!family || (user_id > 0 && uid != user_id)) return SESSION_EINVALID;
  if (revoke_family(db, family, now_ms) < 0) return SESSION_EDB;
  denylist_session(family);
  return SESSION_OK;
}

int session_revoke(vz_db *db, int64_t user_id, int64_t family_id, int64_t now_ms) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "UPDATE refresh_tokens SET revoked_at = $1"
                  " WHERE family_id = $2 AND user_id = $3 AND revoked_at IS NULL",
                  "iii", now_ms, family_id, user_id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) return SESSION_EDB;
  if (changed > 0) denylist_session(family_id);
  return changed > 0 ? SESSION_OK : SESSION_ENOTFOUND;
}

int session_revoke_all_tx(vz_db *db, int64_t user_id, int64_t now_ms) {
  int rc = db_run(db, NULL,
                  "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                  "ii", now_ms, user_id);
  return rc < 0 ? rc : 0;
}

int session_deny_recent(vz_db *db, int64_t user_id, int64_t since_ms) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st,
                  "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND revoked_at >= $2",
                  "ii", user_id, since_ms);
  for (; rc == DB_ROW; rc = db_step(st)) denylist_session(db_col_int(st, 0));
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

static json_t *text_or_null(vz_stmt *st, int col) {
  return db_col_is_null(st, col) ? json_null() : json_string(db_col_text(st, col));
}

int session_list(vz_db *db, int64_t user_id, int64_t now_ms, json_t **out) {
  vz_stmt *st = NULL;
  char id[24];
  json_t *arr = json_array();
  *out = NULL;
  int rc = db_run(db, &st,
                  "SELECT t.family_id, t.device, t.user_agent, t.ip, f.created_at, t.last_used_at"
                  " FROM refresh_tokens t JOIN refresh_tokens f ON f.id = t.family_id"
                  " WHERE t.user_id = $1 AND t.replaced_by IS NULL AND t.revoked_at IS NULL"
                  " AND t.expires_at > $2 ORDER BY t.last_used_at DESC, t.id DESC LIMIT 200",
                  "ii", user_id, now_ms);
  while (rc == DB_ROW) {
    snprintf(id, sizeof id, "%lld", (long long)db_col_int(st, 0));
    json_array_append_new(
        arr, json_pack("{s:s, s:o, s:o, s:o, s:I, s:I}", "id", id, "device", text_or_null(st, 1),
                       "user_agent", text_or_null(st, 2), "ip", text_or_null(st, 3), "created_at",
                       (json_int_t)db_col_int(st, 4), "last_used_at",
                       (json_int_t)db_col_int(st, 5)));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  st = NULL;
  if (rc < 0) {
    json_decref(arr);
    return SESSION_EDB;
  }
  *out = arr;
  return SESSION_OK;
}
