/* users/service.c: the users service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/users/users.h"

const vz_service users_service = { .name = "users", .init = users_init };
