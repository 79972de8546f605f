/* audit.c: one INSERT per privileged action. Kept tiny on purpose: callers own the
 * transaction, so the audit row commits or rolls back with the change it describes. */
#include "services/audit/audit.h"

#include "db/db.h"

int audit_record_ip(vz_db *db, int64_t actor, const char *action, const char *target_type,
                    int64_t target_id, const char *detail_json, const char *ip) {
  vz_stmt *st = NULL;
  int rc = db_prepare(db,
                      "INSERT INTO audit_log (id, actor_id, action, target_type, target_id,"
                      " detail, ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                      &st);
  if (rc < 0) return rc;
  db_bind_int(st, 1, db_id_new());
  if (actor) db_bind_int(st, 2, actor);
  else db_bind_null(st, 2);
  db_bind_text(st, 3, action, -1);
  if (target_type) db_bind_text(st, 4, target_type, -1);
  else db_bind_null(st, 4);
  if (target_id) db_bind_int(st, 5, target_id);
  else db_bind_null(st, 5);
  db_bind_text(st, 6, detail_json ? detail_json : "{}", -1);
  if (ip) db_bind_text(st, 7, ip, -1);
  else db_bind_null(st, 7);
  db_bind_int(st, 8, db_now_ms());
  rc = db_step(st);
  db_finalize(st);
  return rc < 0 ? rc : 0;
}

int audit_record(vz_db *db, int64_t actor, const char *action, const char *target_type,
                 int64_t target_id, const char *detail_json) {
  return audit_record_ip(db, actor, action, target_type, target_id, detail_json, NULL);
}
