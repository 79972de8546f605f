/* products: the catalogue (sellers' products, their variants, stock, images, shipping
 * profile, review), the buyers' carts and shipping addresses. It owns products,
 * product_variants, product_images, product_trusted_sellers, cart_items and addresses;
 * orders reserves and returns stock only through the functions below, inside its own
 * transaction, so a checkout's stock and its orders commit together. */
#ifndef VZ_PRODUCTS_H
#define VZ_PRODUCTS_H
#include <jansson.h>
#include <stdint.h>

typedef struct vz_db vz_db;

/* What a checkout needs to know of one variant. */
typedef struct products_variant {
  int64_t variant_id, product_id, seller_id;
  int64_t price;              /* minor units */
  int64_t stock;
  int64_t ship_flat, ship_extra;
  char currency[4];
  char status[12];            /* the product's: only "active" may be bought */
  char title[256];            /* product title, " - " variant title when it has one */
  char sku[65];
} products_variant;

/* DB_ROW with *out filled, DB_DONE when there is no such variant, or <0 (db.h). */
int products_variant_get(vz_db *db, int64_t variant_id, products_variant *out);
/* Takes qty from the variant's stock with one conditional UPDATE (stock >= qty), so two
 * checkouts can never both take the last unit, on either database. 1: taken; 0: not
 * enough stock (nothing changed); <0: db.h code. Call inside the caller's transaction. */
int products_stock_take(vz_db *db, int64_t variant_id, int64_t qty);
/* Gives qty back (a reservation released, an order cancelled). 0 or <0. */
int products_stock_return(vz_db *db, int64_t variant_id, int64_t qty);
/* Counts qty more units paid for (popularity). 0 or <0. */
int products_sold(vz_db *db, int64_t product_id, int64_t qty);
/* The caller's cart as checkout lines [{"variant_id","quantity"}] (new reference), or NULL
 * with *rc < 0 on a database error; an empty array for an empty cart. */
json_t *products_cart_lines(vz_db *db, int64_t user_id, int *rc);
/* Empties the cart of the variants that were bought. 0 or <0. */
int products_cart_remove(vz_db *db, int64_t user_id, int64_t variant_id);
/* The caller's address as a JSON object (new reference), DB_DONE when it is not theirs
 * (or absent), <0 on a database error. */
int products_address_json(vz_db *db, int64_t user_id, int64_t address_id, json_t **out);

extern const struct vz_service products_service;
#endif
