/* products/service.c: the descriptor: settings, declared input and routes of the
 * catalogue, cart and addresses. */
#include <string.h>

#include "core/log.h"
#include "core/service.h"
#include "services/products/internal.h"
#include "services/products/products.h"

char products_auto_approve[16] = "trusted";
int products_search_max_matches = 5000;

static const vz_opt products_opts[] = {
  VZ_OPT("product-search-max-matches", "VIDZO_PRODUCT_SEARCH_MAX_MATCHES", VZ_OPT_INT, products_search_max_matches, 1, 1000000,
         "text search sorted by price or popularity ranks at most this many matches, the newest (5000)"),
  VZ_OPT("products-auto-approve", "VIDZO_PRODUCTS_AUTO_APPROVE", VZ_OPT_STR, products_auto_approve, 0, 0,
         "submitted products skip admin review: none, trusted (sellers an admin marked trusted) or all (trusted)"),
  { 0 },
};

static int products_init(void) {
  if (strcmp(products_auto_approve, "none") && strcmp(products_auto_approve, "trusted") && strcmp(products_auto_approve, "all")) {
    vz_log_error("--products-auto-approve must be none, trusted or all", "value", products_auto_approve);
    return -1;
  }
  return 0;
}

#define MONEY_MAX 1000000000000LL /* 10^12 minor units: far above any listing, far below int64 */

static const vz_field tag_in = { "tag", VZ_STR, 0, 1, 40 };
static const vz_field image_in = { "image", VZ_ID, 0 }; /* upload ids, claimed (media.h) */
static const vz_field ship_in[] = {
  { "flat", VZ_INT, VZ_REQUIRED, 0, 100000000 }, { "per_extra", VZ_INT, VZ_REQUIRED, 0, 100000000 }, { 0 },
};
static const vz_field variant_fields[] = {
  { "sku", VZ_STR, VZ_REQUIRED, 1, 64 }, { "title", VZ_STR, 0, 0, 120 },
  { "price", VZ_INT, VZ_REQUIRED, 1, MONEY_MAX }, { "stock", VZ_INT, VZ_REQUIRED, 0, 1000000000 }, { 0 },
};
static const vz_field variant_in = { "variant", VZ_OBJ, 0, 0, 0, NULL, variant_fields };
static const vz_field create_in[] = {
  { "title", VZ_STR, VZ_REQUIRED, 1, 200 }, { "description", VZ_STR, 0, 0, 10000 },
  { "category_id", VZ_ID, VZ_NULLABLE }, { "tags", VZ_ARR, 0, 0, 20, NULL, &tag_in },
  { "currency", VZ_STR, VZ_REQUIRED, 3, 3 }, { "compare_at_price", VZ_INT, VZ_NULLABLE, 1, MONEY_MAX },
  { "shipping", VZ_OBJ, 0, 0, 0, NULL, ship_in }, { "images", VZ_ARR, 0, 0, 10, NULL, &image_in },
  { "variants", VZ_ARR, VZ_REQUIRED, 1, 50, NULL, &variant_in }, { "submit", VZ_BOOL, 0 }, { 0 },
};
static const vz_field update_in[] = {
  { "title", VZ_STR, 0, 1, 200 }, { "description", VZ_STR, 0, 0, 10000 },
  { "category_id", VZ_ID, VZ_NULLABLE }, { "tags", VZ_ARR, 0, 0, 20, NULL, &tag_in },
  { "compare_at_price", VZ_INT, VZ_NULLABLE, 1, MONEY_MAX }, { "shipping", VZ_OBJ, 0, 0, 0, NULL, ship_in },
  { "images", VZ_ARR, 0, 0, 10, NULL, &image_in }, { 0 },
};
static const vz_field variant_update_in[] = {
  { "title", VZ_STR, 0, 0, 120 }, { "price", VZ_INT, 0, 1, MONEY_MAX },
  { "stock", VZ_INT, 0, 0, 1000000000 }, { "stock_adjust", VZ_INT, 0, -1000000000, 1000000000 }, { 0 },
};
static const vz_field reject_in[] = { { "reason", VZ_STR, VZ_REQUIRED, 1, 500 }, { 0 } };
static const vz_field search_query[] = {
  { "q", VZ_STR, 0, 1, 200 }, { "category_id", VZ_ID, 0 }, { "seller_id", VZ_ID, 0 },
  { "min_price", VZ_INT, 0, 0, MONEY_MAX }, { "max_price", VZ_INT, 0, 0, MONEY_MAX }, { "currency", VZ_STR, 0, 3, 3 },
  { "in_stock", VZ_BOOL, 0 }, { "sort", VZ_ENUM, 0, 0, 20, "newest|price_asc|price_desc|popular" }, { 0 },
};
static const vz_field own_query[] = {
  { "q", VZ_STR, 0, 1, 200 }, { "category_id", VZ_ID, 0 }, { "seller_id", VZ_ID, 0 },
  { "min_price", VZ_INT, 0, 0, MONEY_MAX }, { "max_price", VZ_INT, 0, 0, MONEY_MAX }, { "currency", VZ_STR, 0, 3, 3 },
  { "in_stock", VZ_BOOL, 0 }, { "sort", VZ_ENUM, 0, 0, 20, "newest|price_asc|price_desc|popular" },
  { "status", VZ_ENUM, 0, 0, 20, "draft|pending|active|rejected|archived" }, { 0 },
};
static const vz_field cart_in[] = { { "quantity", VZ_INT, VZ_REQUIRED, 1, 100 }, { 0 } };
static const vz_field address_in[] = {
  { "name", VZ_STR, VZ_REQUIRED, 1, 120 }, { "line1", VZ_STR, VZ_REQUIRED, 1, 200 }, { "line2", VZ_STR, 0, 0, 200 },
  { "city", VZ_STR, VZ_REQUIRED, 1, 120 }, { "region", VZ_STR, 0, 0, 120 }, { "postal_code", VZ_STR, VZ_REQUIRED, 1, 20 },
  { "country", VZ_STR, VZ_REQUIRED, 2, 2 }, { "phone", VZ_STR, 0, 0, 32 }, { 0 },
};

static vz_route products_routes[] = {
  VZ_GET("/v1/products", prod_h_search, .op = "searchProducts", .summary = "Search active products", .res = "ProductHit[]", .query = search_query),
  VZ_GET("/v1/products/:id", prod_h_show, .op = "getProduct", .summary = "A product with its variants and images", .res = "Product", .errors = "404"),
  VZ_POST("/v1/products", prod_h_create, .op = "createProduct", .summary = "List a new product (seller)", .res = "Product", .ok = 201, .errors = "409", .body = create_in, .flags = VZ_ROLE_SELLER | VZ_RATE_USER, .rate_per_min = 120),
  VZ_PATCH("/v1/products/:id", prod_h_update, .op = "updateProduct", .summary = "Change a product (its seller)", .res = "Product", .errors = "404 409", .body = update_in, .flags = VZ_ROLE_SELLER),
  VZ_POST("/v1/products/:id/submit", prod_h_submit, .op = "submitProduct", .summary = "Send a draft or rejected product to review", .res = "Product", .errors = "404 409", .flags = VZ_ROLE_SELLER),
  VZ_POST("/v1/products/:id/archive", prod_h_archive, .op = "archiveProduct", .summary = "Archive a product", .res = "Product", .errors = "404 409", .flags = VZ_ROLE_SELLER),
  VZ_POST("/v1/products/:id/variants", prod_h_variant_add, .op = "addProductVariant", .summary = "Add a variant to a product", .res = "Product", .ok = 201, .errors = "404 409", .body = variant_fields, .flags = VZ_ROLE_SELLER),
  VZ_PATCH("/v1/products/:id/variants/:variant_id", prod_h_variant_update, .op = "updateProductVariant", .summary = "Change a variant: price, title, stock", .res = "Product", .errors = "404 409", .body = variant_update_in, .flags = VZ_ROLE_SELLER),
  VZ_GET("/v1/sellers/me/products", prod_h_mine, .op = "listMyProducts", .summary = "The seller's own products, any status", .res = "ProductHit[]", .query = own_query, .flags = VZ_ROLE_SELLER),
  VZ_GET("/v1/admin/products", prod_h_admin_list, .op = "listProductsAdmin", .summary = "Products of any seller and status (review queue)", .res = "ProductHit[]", .query = own_query, .flags = VZ_ROLE_MODERATOR),
  VZ_POST("/v1/admin/products/:id/approve", prod_h_approve, .op = "approveProduct", .summary = "Approve a pending product", .res = "Product", .errors = "404 409", .flags = VZ_ROLE_MODERATOR | VZ_AUDIT),
  VZ_POST("/v1/admin/products/:id/reject", prod_h_reject, .op = "rejectProduct", .summary = "Reject a pending product with a reason", .res = "Product", .errors = "404 409", .body = reject_in, .flags = VZ_ROLE_MODERATOR | VZ_AUDIT),
  VZ_PUT("/v1/admin/trusted-sellers/:user_id", prod_h_trust, .op = "trustSeller", .summary = "Mark a seller trusted (auto-approve)", .res = "TrustedSeller", .errors = "404", .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_DELETE("/v1/admin/trusted-sellers/:user_id", prod_h_untrust, .op = "untrustSeller", .summary = "Stop trusting a seller", .res = "-", .errors = "404", .flags = VZ_ROLE_ADMIN | VZ_AUDIT),
  VZ_GET("/v1/cart", cart_h_show, .op = "getCart", .summary = "The caller's cart", .res = "Cart", .flags = VZ_AUTH),
  VZ_PUT("/v1/cart/items/:variant_id", cart_h_put, .op = "setCartItem", .summary = "Set the quantity of a variant in the cart", .res = "Cart", .errors = "404 409", .body = cart_in, .flags = VZ_AUTH),
  VZ_DELETE("/v1/cart/items/:variant_id", cart_h_delete, .op = "removeCartItem", .summary = "Remove a variant from the cart", .res = "Cart", .errors = "404", .flags = VZ_AUTH),
  VZ_DELETE("/v1/cart", cart_h_clear, .op = "clearCart", .summary = "Empty the cart", .res = "-", .flags = VZ_AUTH),
  VZ_GET("/v1/me/addresses", addr_h_list, .op = "listAddresses", .summary = "Shipping addresses", .res = "Address[]", .flags = VZ_AUTH),
  VZ_POST("/v1/me/addresses", addr_h_create, .op = "createAddress", .summary = "Add a shipping address", .res = "Address", .ok = 201, .errors = "409", .body = address_in, .flags = VZ_AUTH),
  VZ_DELETE("/v1/me/addresses/:id", addr_h_delete, .op = "deleteAddress", .summary = "Remove a shipping address", .res = "-", .errors = "404", .flags = VZ_AUTH),
  { 0 },
};

const vz_service products_service = {
  .name = "products", .about = "The catalogue: sellers' products, variants, stock, review and search; carts and shipping addresses",
  .opts = products_opts, .routes = products_routes, .init = products_init,
};
