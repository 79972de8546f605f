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
  VZ_GET("/v1/categories", category_list, .op = "listCategories", .summary = "Categories, by position then id",
         .desc = "parent_id: an id, or `root` for the top level.", .res = "Category[]", .query = list_query,
         .cache_ms = 2000, .cache_group = "categories"),
  VZ_GET("/v1/categories/:id", category_show, .op = "getCategory", .summary = "One category", .res = "Category"),
  VZ_POST("/v1/categories", category_create, .op = "createCategory", .summary = "Create a category (admin, audited)",
          .res = "Category", .ok = 201, .errors = "409", .body = create_in, .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_PATCH("/v1/categories/:id", category_update, .op = "updateCategory",
           .summary = "Change a category; no cycles, at most 4 levels", .res = "Category", .errors = "409",
           .body = update_in, .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_DELETE("/v1/categories/:id", category_delete, .op = "deleteCategory",
            .summary = "Delete a category without subcategories", .res = "-", .errors = "409",
            .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  { 0 },
};
