/* users/routes.c: /v1/me, /v1/users, /v1/sellers and /v1/admin/sellers. Profiles of
 * someone who blocked the viewer (or whom the viewer blocked) answer 404, as if absent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/json.h"
#include "core/list.h"
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "core/config.h"
#include "services/media/media.h"
#include "services/users/internal.h"

#define PROFILE_COLS "id, handle, display_name, bio, avatar_key, links, followers_count," \
  " following_count, created_at, role, email, email_verified, totp_enabled, phone, phone_verified, avatar_media_id"

/* The avatar of a profile: a claimed media (PATCH /v1/me {avatar_upload_id}) gives
 * avatar_url = its 480 px WebP once ready (null while the image job runs) and "avatar" =
 * the media with every variant; the legacy file (PUT /v1/me/avatar) gives its route. */
static json_t *avatar_url_json(vz_db *db, vz_stmt *st) {
  if (!db_col_is_null(st, 15)) {
    char url[2048];
    return media_url(db, db_col_int(st, 15), 480, "webp", url, sizeof url) ? json_null() : json_string(url);
  }
  return db_col_is_null(st, 4) ? json_null() : json_sprintf("/v1/media/%s", db_col_text(st, 4));
}

static json_t *profile_json(vz_db *db, vz_stmt *st, int self) {
  json_error_t je;
  const char *lt = db_col_is_null(st, 5) ? "[]" : db_col_text(st, 5);
  json_t *links = vz_json_loadb(lt, strlen(lt), 0, &je, NULL);
  if (!links) return NULL; /* written by vz_json_dumps: only memory makes this fail */
  json_t *o = json_pack("{s:o, s:o, s:s, s:s, s:o, s:o, s:I, s:I, s:o}",
      "id", vz_json_id(db_col_int(st, 0)),
      "handle", db_col_is_null(st, 1) ? json_null() : json_string(db_col_text(st, 1)),
      "display_name", db_col_text(st, 2), "bio", db_col_text(st, 3),
      "avatar_url", avatar_url_json(db, st),
      "links", links,
      "followers_count", (json_int_t)db_col_int(st, 6), "following_count", (json_int_t)db_col_int(st, 7),
      "created_at", vz_json_time(db_col_int(st, 8)));
  if (o && !db_col_is_null(st, 15)) {
    json_t *m = media_json(db, db_col_int(st, 15));
    if (m) json_object_set_new(o, "avatar", m);
  }
  if (o && self) { /* all or nothing: a profile missing "role" would be a wrong 200 */
    json_t *more = json_pack("{s:s, s:s?, s:b, s:b, s:s?, s:b}", "role", db_col_text(st, 9),
        "email", db_col_is_null(st, 10) ? NULL : db_col_text(st, 10), "email_verified", (int)db_col_int(st, 11),
        "totp_enabled", (int)db_col_int(st, 12), "phone", db_col_is_null(st, 13) ? NULL : db_col_text(st, 13),
        "phone_verified", (int)db_col_int(st, 14));
    if (!more || json_object_update(o, more) != 0) { json_decref(o); o = NULL; }
    json_decref(more);
  }
  return o;
}

/* A failed read is an error, not "not blocked": answering 0 let a blocked user follow
 * whenever this one query failed (fault walk, tests/e2e/core/fault_injection.mjs). */
int users_blocked_either(vz_db *db, int64_t a, int64_t b) {
  vz_stmt *st = NULL;
  if (!a || !b) return 0;
  int rc = db_run(db, &st, "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2)"
                  " OR (blocker_id = $2 AND blocked_id = $1)", "ii", a, b);
  if (st) db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}

int users_followers_since(vz_db *db, int64_t user_id, int64_t since_ms, int64_t *n) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT COUNT(*) FROM follows WHERE followee_id = $1 AND created_at >= $2", "ii", user_id,
                  since_ms);
  *n = rc == DB_ROW ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  return rc < 0 ? rc : 0;
}

static int show(vz_req *req, int64_t id, int self) {
  vz_stmt *st = NULL;
  int blocked = self ? 0 : users_blocked_either(req->db, id, req->user_id);
  if (blocked < 0) return vz_fail_db(req, blocked);
  if (blocked) return vz_fail(req, 404, "not_found", "id", "no such user");
  int rc = db_run(req->db, &st, "SELECT " PROFILE_COLS " FROM users WHERE id = $1 AND deleted_at IS NULL", "i", id);
  json_t *item = rc == DB_ROW ? profile_json(req->db, st, self) : NULL;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such user");
  if (!item) return vz_fail(req, 500, "internal", NULL, "could not build the profile");
  return vz_reply_item(req, 200, item);
}

static int h_me(vz_req *req) { return show(req, req->user_id, 1); }

static int h_user(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  return show(req, id, id == req->user_id);
}

typedef struct me_patch {
  vz_req *req;
  const char *handle, *handle_lower, *links;
  int avatar_set;          /* avatar_upload_id was sent (an id, or null to remove the avatar) */
  int64_t avatar_upload;   /* 0 with avatar_set: remove */
  char old_key[128];       /* the legacy avatar file replaced: deleted after the commit */
} me_patch;

/* The avatar part of PATCH /v1/me, in the profile's transaction: the upload is claimed
 * (owner, purpose avatar, confirmed, not in use: media_claim) and the previous avatar
 * media released (its files deleted by media's job after the commit), so a rolled-back
 * update leaves both as they were. Answers 404 for an upload that is not the caller's
 * (the same as an unknown id), 400 for another purpose, 409 unconfirmed / failed / in use. */
static int me_avatar_tx(vz_db *db, me_patch *m) {
  vz_req *req = m->req;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT avatar_media_id, avatar_key FROM users WHERE id = $1", "i", req->user_id);
  int64_t old_media = rc == DB_ROW && !db_col_is_null(st, 0) ? db_col_int(st, 0) : 0;
  if (rc == DB_ROW && !db_col_is_null(st, 1)) snprintf(m->old_key, sizeof m->old_key, "%s", db_col_text(st, 1));
  db_finalize(st);
  if (rc < 0) return rc;
  if (m->avatar_upload && m->avatar_upload == old_media) { m->old_key[0] = 0; return 0; } /* already the avatar */
  int64_t mid = 0;
  if (m->avatar_upload) {
    char ref[48];
    snprintf(ref, sizeof ref, "user:%lld:avatar", (long long)req->user_id);
    rc = media_claim(db, m->avatar_upload, req->user_id, MEDIA_AVATAR, ref, &mid);
    if (rc == MEDIA_ENOTFOUND) return vz_fail(req, 404, "not_found", "avatar_upload_id", "no such upload"), DB_EABORT;
    if (rc == MEDIA_EPURPOSE || rc == MEDIA_ESTATE || rc == MEDIA_EINVAL)
      return media_fail(req, rc, "avatar_upload_id"), DB_EABORT;
    if (rc < 0) return rc;
  }
  rc = mid ? db_run(db, NULL, "UPDATE users SET avatar_media_id = $1, avatar_key = NULL WHERE id = $2", "ii", mid,
                    req->user_id)
           : db_run(db, NULL, "UPDATE users SET avatar_media_id = NULL, avatar_key = NULL WHERE id = $1", "i",
                    req->user_id);
  if (rc < 0) return rc;
  if (old_media && (rc = media_release(db, old_media)) < 0) return rc;
  return 0;
}

/* The profile is read back inside the transaction: a failed read undoes the update
 * instead of answering 5xx for a change that was made. */
static int me_update_tx(vz_db *db, void *p) {
  me_patch *m = p;
  vz_req *req = m->req;
  json_t *in = req->json;
  int rc;
  if (m->avatar_set && (rc = me_avatar_tx(db, m)) < 0) return rc;
  rc = db_run(db, NULL,
      "UPDATE users SET handle = coalesce($1, handle), handle_lower = coalesce($2, handle_lower),"
      " display_name = coalesce($3, display_name), bio = coalesce($4, bio), links = coalesce($5, links),"
      " updated_at = $6 WHERE id = $7",
      "sssssii", m->handle, m->handle_lower, json_string_value(json_object_get(in, "display_name")),
      json_string_value(json_object_get(in, "bio")), m->links, db_now_ms(), req->user_id);
  if (rc == DB_ECONSTRAINT) return vz_fail(req, 409, "conflict", "handle", "that handle is taken"), DB_EABORT;
  if (rc < 0) return rc;
  return show(req, req->user_id, 1) == 200 ? 0 : DB_EABORT;
}

static int h_me_update(vz_req *req) {
  users_err e = {0};
  json_t *in = req->json;
  me_patch m = { .req = req, .handle = json_string_value(json_object_get(in, "handle")) };
  json_t *links = json_object_get(in, "links");
  char hl[USERS_HANDLE_MAX + 1] = "";
  if (m.handle) {
    if (users_handle_check(m.handle, &e)) return vz_fail(req, e.status, e.code, e.field, "%s", e.message);
    for (size_t i = 0; m.handle[i]; i++) hl[i] = (char)(m.handle[i] >= 'A' && m.handle[i] <= 'Z' ? m.handle[i] + 32 : m.handle[i]);
    m.handle_lower = hl;
  }
  /* links arrive checked by link_in: at most 10 {label, url} with bounded lengths. NULL
   * here would keep the old links under a 200 (coalesce), so it is an error. */
  char *lj = NULL;
  if (links && (!(lj = vz_json_dumps(links, NULL)) || vz_arena_defer(req->arena, free, lj) < 0)) {
    free(lj);
    return vz_fail(req, 500, "internal", NULL, "could not store the links");
  }
  m.links = lj;
  json_t *av = json_object_get(in, "avatar_upload_id");
  if (av) {
    m.avatar_set = 1;
    if (json_is_integer(av)) m.avatar_upload = json_integer_value(av);
    else if (json_is_string(av) && vz_parse_id(json_string_value(av), &m.avatar_upload))
      return vz_fail(req, 400, "invalid_argument", "avatar_upload_id", "avatar_upload_id must be an id");
  }
  /* 200 with the profile, or the error */
  if (vz_tx_or_fail(req, me_update_tx, &m) >= 0 && m.old_key[0]) media_delete(m.old_key); /* after the commit */
  return req->status;
}

/* Every service's part, the avatar file included, follows VZ_EV_USER_DELETED (account.c). */
static int h_me_delete(vz_req *req) {
  users_err e = {0};
  if (users_delete(req->db, req->user_id, req->user_id, &e) != USERS_OK)
    return vz_fail(req, e.status, e.code, e.field, "%s", e.message);
  return vz_reply_empty(req, 204);
}

static int target_or_fail(vz_req *req, int64_t *id) {
  vz_stmt *st = NULL;
  if (vz_req_param_id_or_fail(req, "id", id)) return -1;
  if (*id == req->user_id) { vz_fail(req, 400, "invalid_argument", "id", "that is you"); return -1; }
  int rc = db_run(req->db, &st, "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL", "i", *id);
  if (st) db_finalize(st);
  if (rc < 0) { vz_fail_db(req, rc); return -1; }
  if (rc != DB_ROW) { vz_fail(req, 404, "not_found", "id", "no such user"); return -1; }
  return 0;
}

typedef struct edge { int64_t from, to; } edge;

/* Both counters move with the row, in its transaction: they are the follows table. */
static int follow_counts(vz_db *db, int64_t follower, int64_t followee, int delta) {
  int rc = db_run(db, NULL, "UPDATE users SET following_count = following_count + $1 WHERE id = $2", "ii",
                  (int64_t)delta, follower);
  if (rc >= 0)
    rc = db_run(db, NULL, "UPDATE users SET followers_count = followers_count + $1 WHERE id = $2", "ii",
                (int64_t)delta, followee);
  return rc < 0 ? rc : 0;
}

static int follow_tx(vz_db *db, void *p) {
  const edge *e = p;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)"
                  " ON CONFLICT DO NOTHING", "iii", e->from, e->to, db_now_ms());
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  return changed == 1 ? follow_counts(db, e->from, e->to, 1) : 0;
}

static int unfollow_tx(vz_db *db, void *p) {
  const edge *e = p;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2", "ii", e->from, e->to);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  return changed == 1 ? follow_counts(db, e->from, e->to, -1) : 0;
}

/* A block ends the follow in both directions. */
static int block_tx(vz_db *db, void *p) {
  const edge *e = p;
  int rc = db_run(db, NULL, "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)"
                  " ON CONFLICT DO NOTHING", "iii", e->from, e->to, db_now_ms());
  if (rc >= 0) rc = unfollow_tx(db, p);
  if (rc >= 0) rc = unfollow_tx(db, &(edge){ e->to, e->from });
  return rc < 0 ? rc : 0;
}

static int h_follow(vz_req *req) {
  edge e = { req->user_id, 0 };
  if (target_or_fail(req, &e.to)) return req->status;
  int blocked = users_blocked_either(req->db, e.from, e.to);
  if (blocked < 0) return vz_fail_db(req, blocked);
  if (blocked) return vz_fail(req, 403, "blocked", "id", "you cannot follow this user");
  if (vz_tx_or_fail(req, follow_tx, &e) < 0) return req->status;
  return vz_reply_empty(req, 204);
}

static int h_unfollow(vz_req *req) {
  edge e = { req->user_id, 0 };
  if (target_or_fail(req, &e.to) || vz_tx_or_fail(req, unfollow_tx, &e) < 0) return req->status;
  return vz_reply_empty(req, 204);
}

static int h_block(vz_req *req) {
  edge e = { req->user_id, 0 };
  if (target_or_fail(req, &e.to) || vz_tx_or_fail(req, block_tx, &e) < 0) return req->status;
  return vz_reply_empty(req, 204);
}

static int h_unblock(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  int rc = db_run(req->db, NULL, "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2", "ii", req->user_id, id);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_empty(req, 204);
}

/* followers / following, newest first: keyset on (followed_at, user id). */
static const vz_col follow_cols[] = {
  { "u.id", "id", VZ_COL_ID },
  { "u.handle", "handle", VZ_COL_TEXT | VZ_COL_NULL },
  { "u.display_name", "display_name", VZ_COL_TEXT },
  { "u.avatar_key", "avatar_url", VZ_COL_MEDIA | VZ_COL_NULL },
  { "f.created_at", "followed_at", VZ_COL_TIME },
  { 0 },
};

static int follow_list(vz_req *req, int followers) {
  int64_t id;
  vz_page pg;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  int blocked = users_blocked_either(req->db, id, req->user_id);
  if (blocked < 0) return vz_fail_db(req, blocked);
  if (blocked) return vz_fail(req, 404, "not_found", "id", "no such user");
  if (vz_page_begin_or_fail(req, &pg, INT64_MAX, INT64_MAX)) return req->status;
  const char *sql = vz_arena_printf(req->arena,
      "SELECT %s FROM follows f JOIN users u ON u.id = f.%s WHERE f.%s = $1"
      " AND (f.created_at < $2 OR (f.created_at = $2 AND u.id < $3)) ORDER BY f.created_at DESC, u.id DESC LIMIT $4",
      vz_cols_select(req->arena, follow_cols), followers ? "follower_id" : "followee_id",
      followers ? "followee_id" : "follower_id");
  if (!sql) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, sql, "iiii", id, pg.pos, pg.id, (int64_t)pg.limit + 1);
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, 4), db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, follow_cols));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}
static int h_followers(vz_req *req) { return follow_list(req, 1); }
static int h_following(vz_req *req) { return follow_list(req, 0); }

/* A profile is public: every part of it is bounded, so the largest profile stays a few
 * kilobytes (10 links of 40 + 300 characters). */
static const vz_field link_fields[] = {
  { "label", VZ_STR, VZ_REQUIRED, 1, 40, 0 },
  { "url", VZ_URL, VZ_REQUIRED, 8, 300, 0 },
  { 0 } };
static const vz_field link_in = { "link", VZ_OBJ, 0, 0, 0, 0, link_fields };
static const vz_field me_in[] = {
  { "display_name", VZ_STR, 0, 1, 60, 0 },
  { "handle", VZ_STR, 0, 3, 30, 0 },
  { "bio", VZ_STR, 0, 0, 500, 0 },
  { "links", VZ_ARR, 0, 0, 10, 0, &link_in },
  /* an upload of purpose avatar (POST /v1/uploads, confirmed): claimed as the avatar,
   * the previous one released; null removes the avatar */
  { "avatar_upload_id", VZ_ID, VZ_NULLABLE, 0, 0, 0 },
  { 0 } };

static const vz_field search_query[] = {
  { "q", VZ_STR, VZ_REQUIRED, 1, 80, 0 },
  { 0 } };
static const vz_field device_in[] = {
  { "platform", VZ_ENUM, VZ_REQUIRED, 0, 0, "ios|android|web" },
  { "token", VZ_STR, VZ_REQUIRED, 16, 4096, 0 },
  { 0 } };
static const vz_field seller_in[] = {
  { "business_name", VZ_STR, VZ_REQUIRED, 2, 120, 0 },
  { "legal_name", VZ_STR, VZ_REQUIRED, 2, 160, 0 },
  { "business_type", VZ_ENUM, 0, 0, 0, "individual|company" },
  { "country", VZ_STR, VZ_REQUIRED, 2, 2, 0 },
  { "tax_id", VZ_STR, VZ_REQUIRED, 3, 40, 0 },
  { "address", VZ_STR, VZ_REQUIRED, 5, 300, 0 },
  { "description", VZ_STR, 0, 0, 2000, 0 },
  { "website", VZ_URL, 0, 0, 300, 0 },
  { 0 } };
static const vz_field seller_list_query[] = {
  { "status", VZ_ENUM, 0, 0, 0, "pending|approved|rejected" },
  { 0 } };
static const vz_field reject_in[] = {
  { "reason", VZ_STR, VZ_REQUIRED, 1, 500, 0 },
  { 0 } };

/* Signed-in actions are limited per user (VZ_RATE_USER), not per IP: a campus or a
 * mobile carrier puts thousands of users behind one address. The figures are well above
 * what a person does by hand and well below what a script wants. */
#define RATE .flags = VZ_AUTH | VZ_RATE_USER
vz_route users_routes[] = {
  VZ_GET("/v1/me", h_me, .op = "getMe", .summary = "The caller's own profile, with the private fields",
         .res = "MyProfile", .flags = VZ_AUTH),
  VZ_PATCH("/v1/me", h_me_update, .op = "updateMe",
           .summary = "Change the caller's profile; fields not sent are kept",
           .desc = "409 conflict when the handle is taken, handle_reserved when it is reserved. avatar_upload_id (an"
                   " upload of purpose avatar, confirmed) sets the avatar: 404 when it is not the caller's, 400 for"
                   " another purpose, 409 media_not_usable when unconfirmed, failed or in use; null removes the avatar."
                   " PUT /v1/me/avatar is the legacy path.",
           .res = "MyProfile", .errors = "404 409", .body = me_in, RATE, .rate_per_min = 30),
  VZ_DELETE("/v1/me", h_me_delete, .op = "deleteMe",
            .summary = "Delete the account (personal data removed, orders kept)", .res = "-", RATE,
            .rate_per_min = 10),
  VZ_GET("/v1/users/:id", h_user, .op = "getUser",
         .summary = "A user's public profile (404 when absent, deleted or blocked)", .res = "UserProfile"),
  VZ_POST("/v1/users/:id/follow", h_follow, .op = "followUser", .summary = "Follow a user (403 when they blocked you)", .res = "-", .errors = "403", RATE,
          .rate_per_min = 60),
  VZ_DELETE("/v1/users/:id/follow", h_unfollow, .op = "unfollowUser", .summary = "Stop following a user", .res = "-",
            RATE, .rate_per_min = 60),
  VZ_GET("/v1/users/:id/followers", h_followers, .op = "listFollowers", .summary = "Who follows a user, newest first",
         .res = "Follow[]"),
  VZ_GET("/v1/users/:id/following", h_following, .op = "listFollowing",
         .summary = "Whom a user follows, newest first", .res = "Follow[]"),
  VZ_POST("/v1/users/:id/block", h_block, .op = "blockUser", .summary = "Block a user (follows both ways end)",
          .res = "-", RATE, .rate_per_min = 30),
  VZ_DELETE("/v1/users/:id/block", h_unblock, .op = "unblockUser", .summary = "Unblock a user", .res = "-", RATE,
            .rate_per_min = 30),
  VZ_GET("/v1/users", users_h_search, .op = "searchUsers",
         .summary = "Search users by handle or name (each word a prefix)",
         .desc = "Most followed first; blocked and deleted users are left out.", .res = "UserHit[]",
         .query = search_query),
  VZ_POST("/v1/me/devices", users_h_device_add, .op = "addDevice",
          .summary = "Register a push token (201; 200 when it was already there)", .res = "Device", .ok = 201,
          .errors = "200 409", .body = device_in, RATE, .rate_per_min = 20),
  VZ_GET("/v1/me/devices", users_h_device_list, .op = "listDevices", .summary = "The caller's push tokens",
         .res = "Device[]", .flags = VZ_AUTH),
  VZ_DELETE("/v1/me/devices/:id", users_h_device_delete, .op = "deleteDevice", .summary = "Unregister a push token",
            .res = "-", RATE, .rate_per_min = 20),
  /* 2 MB of image plus room for multipart headers; the handler checks the image itself */
  VZ_PUT("/v1/me/avatar", users_h_avatar_put, .op = "putAvatar",
         .summary = "Upload an avatar: JPEG, PNG or WebP, 2 MB at most",
         .desc = "Legacy path, kept for existing clients: the file is stored as sent (no variants, no EXIF stripping)."
                 " New clients upload with POST /v1/uploads (purpose avatar) and set it with PATCH /v1/me"
                 " {avatar_upload_id}. The raw image, or multipart/form-data with the file in field avatar.",
         .res = "Avatar",
         .errors = "413 415", .flags = VZ_AUTH | VZ_RATE_USER | VZ_RAW_BODY, .max_body = USERS_AVATAR_MAX + 16384,
         .rate_per_min = 10),
  /* a retried submission (timeout, double tap) replays the first answer instead of a 409 */
  VZ_POST("/v1/sellers/applications", users_h_seller_apply, .op = "applyToSell",
          .summary = "Apply to sell (one pending application at a time)", .res = "SellerApplication", .ok = 201,
          .errors = "409", .body = seller_in, .flags = VZ_AUTH | VZ_RATE_USER | VZ_IDEMPOTENT, .rate_per_min = 10),
  VZ_GET("/v1/sellers/applications/me", users_h_seller_mine, .op = "getMySellerApplication",
         .summary = "The caller's latest application to sell", .res = "SellerApplication", .errors = "404",
         .flags = VZ_AUTH),
  VZ_GET("/v1/admin/sellers/applications", users_h_seller_list, .op = "listSellerApplications",
         .summary = "The review queue, oldest first", .res = "SellerApplication[]", .flags = VZ_ROLE_ADMIN,
         .query = seller_list_query),
  /* no VZ_AUDIT: the handler writes the audit row itself, in the decision's transaction
   * and with its details (sellers.c), so one decision is one row */
  VZ_POST("/v1/admin/sellers/applications/:id/approve", users_h_seller_approve, .op = "approveSellerApplication",
          .summary = "Approve: the applicant can sell from their next token refresh", .res = "SellerApplication",
          .errors = "409", .flags = VZ_ROLE_ADMIN),
  VZ_POST("/v1/admin/sellers/applications/:id/reject", users_h_seller_reject, .op = "rejectSellerApplication",
          .summary = "Reject an application with a reason", .res = "SellerApplication", .errors = "409",
          .body = reject_in, .flags = VZ_ROLE_ADMIN),
  /* no VZ_AUDIT: the handler writes the row itself, with the reason, in the change's
   * transaction (suspend.c) */
  VZ_POST("/v1/admin/users/:id/suspend", users_h_suspend, .op = "suspendUser",
          .summary = "Suspend an account: its sessions end",
          .desc = "Sign-in and refresh answer 403 account_suspended until `hours` pass or an admin lifts it. Suspending again replaces the end.",
          .res = "Suspension", .body = users_suspend_in, .flags = VZ_ROLE_ADMIN),
  VZ_POST("/v1/admin/users/:id/unsuspend", users_h_unsuspend, .op = "unsuspendUser",
          .summary = "Lift a suspension (ended sessions stay ended)", .res = "Suspension", .flags = VZ_ROLE_ADMIN),
  { 0 } };
#undef RATE

/* media is started here because avatars are its first user (services.c may move it). */
