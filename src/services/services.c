/* services: start order matters only for hooks: auth installs vz_hook.authenticate
 * before any route can need it. */
#include "services/services.h"

#include "core/config.h"
#include "core/sio.h"
#include "services/bench/bench.h"
#include "services/auth/auth.h"
#include "services/categories/categories.h"
#include "services/users/users.h"

int services_init(void) {
  /* auth first: it installs vz_hook.authenticate and vz_hook.audit for every route */
  if (auth_init() < 0 || users_init() < 0) return -1;
  if (categories_init() < 0) return -1;
  if (vz_cfg.bench && bench_init() < 0) return -1;
  if (sio_init() < 0) return -1; /* /socket.io/; reads --bench/--dev itself */
  return 0;
}

void services_shutdown(void) {}

int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err,
                          size_t errlen) {
  return users_admin_create(db, email, password, if_missing, err, errlen);
}
