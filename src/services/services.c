/* services: the list. Order is start order: auth first (its bearer-token hook serves
 * every route and socket), realtime before the applications and services that add
 * namespaces and events to it. Adding a service is its folder plus one line here. */
#include "services/services.h"

#include "apps/bench/bench.h"
#include "apps/conformance/conformance.h"
#include "apps/testapp/testapp.h"
#include "core/service.h"
#include "integrations/agora.h"
#include "realtime/realtime.h"
#include "services/audit/audit.h"
#include "services/analytics/analytics.h"
#include "services/auth/auth.h"
#include "services/categories/categories.h"
#include "services/clock/clock.h"
#include "services/docs/docs.h"
#include "services/media/media.h"
#include "services/streams/streams.h"
#include "services/users/users.h"

const vz_service *const vz_service_list[] = {
  &auth_service,
  &media_service,
  &users_service,
  &audit_service,
  &categories_service,
  &clock_service,
  &docs_service,
  &agora_service, /* settings only; before streams, which issues the tokens */
  &realtime_service,
  /* applications: each checks its own switch (--bench, --test-app, --conformance) */
  &bench_app,
  &testapp_app,
  &conformance_app,
  /* after the applications: under --bench the peer's fixture GET /v1/streams (bench/,
   * shared/bench scenarios) must keep answering; routes match first registered first */
  &streams_service,
  &analytics_service, /* after streams: reads it through streams.h, feeds its live order */
  NULL,
};

int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err,
                          size_t errlen) {
  return users_admin_create(db, email, password, if_missing, err, errlen);
}
