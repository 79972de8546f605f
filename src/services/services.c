/* services: start order matters only for hooks: auth installs vz_hook.authenticate
 * before any route can need it. */
#include "services/services.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/sio.h"
#include "services/bench/bench.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "services/categories/categories.h"
#include "services/media/media.h"
#include "services/users/users.h"

/* Socket.IO CONNECT: the handshake auth carries the same access token as HTTP
 * ({"token": "<jwt>"}). The --conformance application keeps the suites' own rule. A
 * --bench server (the benchmark and the e2e test application) adds the peer's: a token
 * that is not an access token (no '.') is an anonymous guest named by it; an access
 * token is still verified, so stories act as real users and a forged or revoked one is
 * refused. Nothing else (--dev included) accepts a guest. */
static int sio_jwt_check(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  const char *tok = json_string_value(json_object_get(auth, "token"));
  if (vz_cfg.bench && (!tok || !strchr(tok, '.'))) return sio_auth_token_nonempty(nsp, auth, out, message);
  int64_t uid = 0, sid = 0;
  int role = 0;
  if (!tok || auth_verify_access_sid(tok, &uid, &role, &sid) != 0) {
    *message = "unauthorized";
    return -1;
  }
  out->user_id = uid;
  out->session_id = sid;
  out->role = role;
  snprintf(out->user, sizeof out->user, "%lld", (long long)uid);
  return 0;
}

int services_init(void) {
  /* auth first: it installs vz_hook.authenticate and vz_hook.audit for every route */
  if (media_init(vz_cfg.data_dir) < 0) return -1;
  if (auth_init() < 0 || users_init() < 0) return -1;
  if (audit_init() < 0 || categories_init() < 0) return -1;
  if (vz_cfg.bench && bench_init() < 0) return -1;
  if (sio_init() < 0) return -1; /* /socket.io/; reads --bench itself */
  if (!vz_cfg.conformance) sio_set_auth_check(sio_jwt_check);
  auth_on_session_revoked(sio_disconnect_session); /* signed out: its sockets end too */
  return 0;
}

void services_shutdown(void) {}

int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err,
                          size_t errlen) {
  return users_admin_create(db, email, password, if_missing, err, errlen);
}
