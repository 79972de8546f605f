/* devices.c: push device tokens (FCM for android/web, APNs for ios). A token names one
 * app install, so registering a token another account held moves it to the caller (the
 * phone changed hands, or someone signed out and another signed in): one upsert on the
 * UNIQUE token, no prior SELECT. Someone else's device id answers 404, as if absent. */
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/users/internal.h"

static json_t *device_json(vz_stmt *st) {
  return json_pack("{s:o, s:s, s:s, s:o, s:o}", "id", vz_json_id(db_col_int(st, 0)), "platform",
                   db_col_text(st, 1), "token", db_col_text(st, 2), "created_at",
                   vz_json_time(db_col_int(st, 3)), "updated_at", vz_json_time(db_col_int(st, 4)));
}

int users_h_device_add(vz_req *req) {
  const char *platform = json_string_value(json_object_get(req->json, "platform"));
  const char *token = json_string_value(json_object_get(req->json, "token"));
  for (const char *p = token; *p; p++)
    if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
      return vz_fail(req, 400, "invalid_argument", "token", "token must be printable ASCII without spaces");
  int64_t now = db_now_ms(), id = db_id_new();
  int rc = db_run(req->db, NULL,
                  "INSERT INTO device_tokens (id, user_id, platform, token, created_at, updated_at)"
                  " VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (token) DO UPDATE SET"
                  " user_id = excluded.user_id, platform = excluded.platform, updated_at = excluded.updated_at",
                  "iissi", id, req->user_id, platform, token, now);
  if (rc < 0) return vz_fail_db(req, rc);
  vz_stmt *st = NULL;
  rc = db_run(req->db, &st,
              "SELECT id, platform, token, created_at, updated_at FROM device_tokens WHERE token = $1 AND user_id = $2",
              "si", token, req->user_id);
  json_t *item = rc == DB_ROW ? device_json(st) : NULL;
  /* new when the row is the one we tried to insert (a timestamp test confused two
   * registrations in the same millisecond) */
  int fresh = item && db_col_int(st, 0) == id;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!item) return vz_fail(req, 409, "conflict", "token", "the token changed hands meanwhile; retry");
  return vz_reply_item(req, fresh ? 201 : 200, item);
}

int users_h_device_list(vz_req *req) {
  vz_stmt *st = NULL;
  int rc = db_run(req->db_read, &st,
                  "SELECT id, platform, token, created_at, updated_at FROM device_tokens WHERE user_id = $1"
                  " ORDER BY id LIMIT 100", "i", req->user_id);
  json_t *items = json_array();
  while (rc == DB_ROW) {
    json_array_append_new(items, device_json(st));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  return vz_reply_list(req, items, NULL);
}

int users_h_device_delete(vz_req *req) {
  int64_t id;
  vz_stmt *st = NULL;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  int rc = db_run(req->db, &st, "DELETE FROM device_tokens WHERE id = $1 AND user_id = $2", "ii", id, req->user_id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (!changed) return vz_fail(req, 404, "not_found", "id", "no such device");
  return vz_reply_empty(req, 204);
}
