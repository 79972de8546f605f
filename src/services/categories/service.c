/* categories/service.c: the categories service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/categories/categories.h"

const vz_service categories_service = { .name = "categories", .init = categories_init };
