/* categories/service.c: the categories service's descriptor (core/service.h). */
#include "core/service.h"
#include "services/categories/categories.h"

extern vz_route categories_routes[];

const vz_service categories_service = { .name = "categories", .about = "The category tree of streams and products", .routes = categories_routes };
