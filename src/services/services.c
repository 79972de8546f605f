/* services: the list. Order is start order: auth comes before the services whose routes
 * need its bearer-token hook; realtime last, once every service could have declared
 * socket events. Adding a service is its folder plus one line here. */
#include "services/services.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/service.h"
#include "core/sio.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "services/bench/bench.h"
#include "services/categories/categories.h"
#include "services/media/media.h"
#include "services/users/users.h"

/* Socket.IO CONNECT: the handshake auth carries the same access token as HTTP
 * ({"token": "<jwt>"}). The --conformance application keeps the suites' own rule. A
 * --bench or --test-app server (the benchmark, the e2e test application) adds the peer's: a token
 * that is not an access token (no '.') is an anonymous guest named by it; an access
 * token is still verified, so stories act as real users and a forged or revoked one is
 * refused. Nothing else (--dev included) accepts a guest. */
static int sio_jwt_check(const char *nsp, const json_t *auth, sio_identity *out, const char **message) {
  const char *tok = json_string_value(json_object_get(auth, "token"));
  if ((vz_cfg.bench || vz_cfg.test_app) && (!tok || !strchr(tok, '.')))
    return sio_auth_token_nonempty(nsp, auth, out, message);
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

/* The real-time gateway, until it is a module of its own (src/realtime/). */
static int realtime_init(void) {
  if (sio_init() < 0) return -1; /* /socket.io/; reads --bench and --test-app itself */
  if (!vz_cfg.conformance) sio_set_auth_check(sio_jwt_check);
  auth_on_session_revoked(sio_disconnect_session); /* signed out: its sockets end too */
  return 0;
}
static const vz_service realtime_service = { .name = "realtime", .init = realtime_init };

const vz_service *const vz_service_list[] = {
  &media_service,
  &auth_service,
  &users_service,
  &audit_service,
  &categories_service,
  &bench_service,
  &realtime_service,
  NULL,
};

int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err,
                          size_t errlen) {
  return users_admin_create(db, email, password, if_missing, err, errlen);
}
