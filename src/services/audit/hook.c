/* audit/hook.c: the row every VZ_AUDIT route writes (vz_hook.audit). The dispatcher calls
 * it inside the request transaction, after the handler answered 2xx and before COMMIT
 * (core/idempotency.h), so the row and the change commit together or not at all. When the
 * row cannot be written the hook replaces the answer with the database error; the
 * dispatcher then rolls the change back: an admin action nobody can trace must not stand.
 *
 * The row: actor = the caller, action = "METHOD /route/:pattern", target type = the
 * resource (first path segment after /v1, or after /v1/admin), target id = the id in the
 * path, or the answer's data.id for a create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "db/db.h"
#include "services/audit/audit.h"

static int64_t target_of(vz_req *req) {
  int64_t target = 0;
  for (int i = 0; i < req->nparams && !target; i++) vz_parse_id(req->param_values[i], &target);
  if (!target && req->res_body && req->res_len) {
    json_t *res = json_loadb(req->res_body, req->res_len, 0, NULL);
    json_t *id = json_object_get(json_object_get(res, "data"), "id");
    if (json_is_string(id)) vz_parse_id(json_string_value(id), &target);
    json_decref(res);
  }
  return target;
}

void audit_hook(vz_req *req) {
  char type[48] = "", action[160];
  const char *p = req->route->path;
  if (!strncmp(p, "/v1/", 4)) p += 4;
  if (!strncmp(p, "admin/", 6)) p += 6;
  size_t n = strcspn(p, "/");
  if (n < sizeof type) {
    memcpy(type, p, n);
    type[n] = 0;
  }
  snprintf(action, sizeof action, "%s %s", req->method, req->route->path);
  json_t *d = json_pack("{s:s, s:s, s:i}", "method", req->method, "path", req->path, "status", req->status);
  char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
  json_decref(d);
  int rc = detail ? audit_record_ip(req->db, req->user_id, action, type[0] ? type : NULL, target_of(req), detail, req->ip)
                  : DB_ERROR;
  free(detail);
  if (rc < 0) vz_fail_db(req, rc);
}
