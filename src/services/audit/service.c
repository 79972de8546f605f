/* audit/service.c: the audit service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/audit/audit.h"

extern vz_route audit_routes[];

const vz_service audit_service = { .name = "audit", .about = "The audit trail of privileged actions", .routes = audit_routes, .init = audit_init };
