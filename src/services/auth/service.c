/* auth/service.c: the auth service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/auth/auth.h"

const vz_service auth_service = { .name = "auth", .init = auth_init };
