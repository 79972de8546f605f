/* users/service.c: the users service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/users/users.h"

extern vz_route users_routes[];
extern const vz_subscription users_on[]; /* account.c */

const vz_service users_service = { .name = "users", .about = "Profiles, follows, blocks, devices and seller applications", .routes = users_routes, .on = users_on };
