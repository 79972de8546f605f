/* categories/routes.c: the HTTP table. Input is declared here so the handlers in
 * categories.c start with valid fields; writes are admin-only and audited. */
#include "core/http.h"
#include "services/categories/categories.h"
#include "services/categories/internal.h"

static const vz_field list_query[] = {
  { "parent_id", VZ_STR, 0, 1, 20, 0 },   /* an id, or "root" for top level */
  { "kind", VZ_ENUM, 0, 0, 0, "stream|product|both" },
  { "q", VZ_STR, 0, 1, 80, 0 },
  { 0 },
};
static const vz_field create_in[] = {
  { "name", VZ_STR, VZ_REQUIRED, 1, 80, 0 },
  { "slug", VZ_STR, 0, 1, 80, 0 },
  { "kind", VZ_ENUM, VZ_REQUIRED, 0, 0, "stream|product|both" },
  { "parent_id", VZ_ID, VZ_NULLABLE, 0, 0, 0 },
  { "description", VZ_STR, 0, 0, 500, 0 },
  { "position", VZ_INT, 0, 0, 1000000, 0 },
  { 0 },
};
static const vz_field update_in[] = {
  { "name", VZ_STR, 0, 1, 80, 0 },
  { "slug", VZ_STR, 0, 1, 80, 0 },
  { "kind", VZ_ENUM, 0, 0, 0, "stream|product|both" },
  { "parent_id", VZ_ID, VZ_NULLABLE, 0, 0, 0 },
  { "description", VZ_STR, 0, 0, 500, 0 },
  { "position", VZ_INT, 0, 0, 1000000, 0 },
  { 0 },
};

vz_route categories_routes[] = {
  { "GET", "/v1/categories", category_list, NULL, VZ_WORKER, list_query, 0, 0, 0, .cache_ms = 2000,
    .cache_group = "categories" },
  { "GET", "/v1/categories/:id", category_show, NULL, VZ_WORKER, NULL, 0, 0, 0 },
  { "POST", "/v1/categories", category_create, create_in, VZ_ROLE_ADMIN | VZ_WORKER | VZ_AUDIT, NULL, 0, 0, 0 },
  { "PATCH", "/v1/categories/:id", category_update, update_in, VZ_ROLE_ADMIN | VZ_WORKER | VZ_AUDIT, NULL, 0, 0, 0 },
  { "DELETE", "/v1/categories/:id", category_delete, NULL, VZ_ROLE_ADMIN | VZ_WORKER | VZ_AUDIT, NULL, 0, 0, 0 },
  { 0 },
};

