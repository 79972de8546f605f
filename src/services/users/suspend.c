/* suspend.c: an admin suspends an account (POST /v1/admin/users/:id/suspend) or lifts the
 * suspension (.../unsuspend). The row keeps everything; while suspended_at is set and
 * suspended_until has not passed, auth refuses sign-in and refresh (users_account carries
 * suspended_until). Suspending emits VZ_EV_USER_SUSPENDED in the same transaction: auth
 * revokes the account's sessions with it and, once it committed, ends their access tokens
 * and sockets (the outbox). Lifting emits nothing: nobody holds anything to give back, and
 * the sessions stay ended (the person signs in again). The audit row is written here, in
 * the change's transaction, with the reason, like a seller decision (sellers.c). */
#include <stdint.h>
#include <stdlib.h>

#include "core/events.h"
#include "core/http.h"
#include "core/json.h"
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/users/internal.h"

#define MAX_HOURS (10 * 365 * 24) /* beyond ten years, leave it open-ended */

const vz_field users_suspend_in[] = {
  { "reason", VZ_STR, VZ_REQUIRED, 1, 500, 0 },  /* for the audit trail; never shown to the user */
  { "hours", VZ_INT, 0, 1, MAX_HOURS, 0 },       /* absent: until an admin lifts it */
  { 0 } };

static json_t *state_json(int64_t id, int suspended, int64_t until) {
  return json_pack("{s:o, s:b, s:o}", "id", vz_json_id(id), "suspended", suspended, "suspended_until",
                   until ? vz_json_time(until) : json_null());
}

/* The admin's own account is refused: suspending it would lock out the one acting. */
static int target_or_fail(vz_req *req, int64_t *id) {
  if (vz_req_param_id_or_fail(req, "id", id)) return -1;
  if (*id == req->user_id) {
    vz_fail(req, 400, "invalid_argument", "id", "you cannot suspend or lift your own account");
    return -1;
  }
  return 0;
}

/* Writes the audit row with its detail; 0 or <0 (DB_*; DB_ERROR out of memory). */
static int audit(vz_req *req, const char *action, int64_t id, json_t *detail) {
  char *text = detail ? vz_json_dumps(detail, NULL) : NULL;
  json_decref(detail);
  if (!text) return DB_ERROR; /* an audit row without its reason would say less than the change */
  int rc = audit_record_ip(req->db, req->user_id, action, "user", id, text, req->ip);
  free(text);
  return rc;
}

/* The answer is built before the commit: out of memory after it would answer 5xx for a
 * change that was made. */
static int commit_and_reply(vz_req *req, json_t *item) {
  int rc = item ? db_commit(req->db) : DB_ERROR;
  if (rc < 0) {
    json_decref(item);
    db_rollback(req->db);
    return vz_fail_db(req, rc);
  }
  return vz_reply_item(req, 200, item);
}

int users_h_suspend(vz_req *req) {
  int64_t id, now = db_now_ms(), until = 0;
  json_t *hours = json_object_get(req->json, "hours");
  const char *reason = json_string_value(json_object_get(req->json, "reason"));
  if (target_or_fail(req, &id)) return req->status;
  if (hours) until = now + (int64_t)json_integer_value(hours) * 3600 * 1000;
  vz_stmt *st = NULL;
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  /* suspending again replaces the end: the latest decision holds */
  rc = db_run(req->db, &st,
              "UPDATE users SET suspended_at = $1, suspended_until = NULLIF(CAST($2 AS BIGINT), 0), updated_at = $1"
              " WHERE id = $3 AND deleted_at IS NULL", "iii", now, until, id);
  int changed = rc >= 0 && st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) goto fail;
  if (!changed) {
    db_rollback(req->db);
    return vz_fail(req, 404, "not_found", "id", "no such user");
  }
  vz_ev_user_suspended ev = { .user_id = id, .actor_id = req->user_id, .until_ms = until };
  if ((rc = vz_event_emit(req->db, VZ_EV_USER_SUSPENDED, &ev)) < 0) goto fail;
  json_t *d = json_pack("{s:s, s:o}", "reason", reason, "until", until ? vz_json_time(until) : json_null());
  if ((rc = audit(req, "user.suspend", id, d)) < 0) goto fail;
  return commit_and_reply(req, state_json(id, 1, until));
fail:
  db_rollback(req->db);
  return vz_fail_db(req, rc);
}

int users_h_unsuspend(vz_req *req) {
  int64_t id;
  if (target_or_fail(req, &id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  rc = db_run(req->db, &st, "SELECT suspended_at FROM users WHERE id = $1 AND deleted_at IS NULL", "i", id);
  int found = rc == DB_ROW, suspended = found && !db_col_is_null(st, 0);
  if (st) db_finalize(st);
  if (rc < 0) goto fail;
  if (!found) {
    db_rollback(req->db);
    return vz_fail(req, 404, "not_found", "id", "no such user");
  }
  /* lifting a suspension that is not there changes nothing and records nothing */
  if (suspended &&
      ((rc = db_run(req->db, NULL, "UPDATE users SET suspended_at = NULL, suspended_until = NULL, updated_at = $1"
                    " WHERE id = $2", "ii", db_now_ms(), id)) < 0 ||
       (rc = audit(req, "user.unsuspend", id, json_object())) < 0))
    goto fail;
  return commit_and_reply(req, state_json(id, 0, 0));
fail:
  db_rollback(req->db);
  return vz_fail_db(req, rc);
}
