/* services: start order matters only for hooks: auth installs vz_hook.authenticate
 * before any route can need it. */
#include "services/services.h"

#include <stdio.h>

#include "core/config.h"
#include "services/bench/bench.h"
#include "services/categories/categories.h"

int services_init(void) {
  if (categories_init() < 0) return -1;
  if (vz_cfg.bench && bench_init() < 0) return -1;
  return 0;
}

void services_shutdown(void) {}

int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err,
                          size_t errlen) {
  (void)db; (void)email; (void)password; (void)if_missing;
  snprintf(err, errlen, "accounts are not available in this build");
  return -1;
}
