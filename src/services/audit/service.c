/* audit/service.c: the audit service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/audit/audit.h"

const vz_service audit_service = { .name = "audit", .init = audit_init };
