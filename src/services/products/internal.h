/* products/internal.h: what the products service's files share; not for other services. */
#ifndef VZ_PRODUCTS_INTERNAL_H
#define VZ_PRODUCTS_INTERNAL_H
#include <stdarg.h>
#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "db/db.h"

/* jansson goes on after a failed allocation, dropping the key or item (testing.md): these
 * say so, 1 on failure (the value is released either way). */
static inline int jset(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v) ? 1 : 0; }
static inline int jpush(json_t *a, json_t *v) { return json_array_append_new(a, v) ? 1 : 0; }

/* --products-auto-approve: none | trusted | all */
extern char products_auto_approve[16];
extern int products_search_max_matches; /* --product-search-max-matches (search.c) */

/* A statement built piece by piece with numbered parameters (search filters). */
typedef struct prod_qb {
  char sql[3072];
  size_t n;
  int np, overflow;
  struct { char t; int64_t i; const char *s; } p[20];
} prod_qb;
void prod_qb_cat(prod_qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int prod_qb_int(prod_qb *q, int64_t v);          /* the parameter's number ($n) */
int prod_qb_text(prod_qb *q, const char *s);
int prod_qb_run(vz_db *db, prod_qb *q, vz_stmt **out); /* prepare, bind, first step */

/* ISO 4217 shape: three upper-case letters. */
int prod_currency_ok(const char *c);

/* Handlers (products.c, search.c, cart.c). */
int prod_h_create(vz_req *req);
int prod_h_show(vz_req *req);
int prod_h_update(vz_req *req);
int prod_h_submit(vz_req *req);
int prod_h_archive(vz_req *req);
int prod_h_approve(vz_req *req);
int prod_h_reject(vz_req *req);
int prod_h_variant_add(vz_req *req);
int prod_h_variant_update(vz_req *req);
int prod_h_trust(vz_req *req);
int prod_h_untrust(vz_req *req);
int prod_h_search(vz_req *req);
int prod_h_mine(vz_req *req);
int prod_h_admin_list(vz_req *req);
int cart_h_show(vz_req *req);
int cart_h_put(vz_req *req);
int cart_h_delete(vz_req *req);
int cart_h_clear(vz_req *req);
int addr_h_list(vz_req *req);
int addr_h_create(vz_req *req);
int addr_h_delete(vz_req *req);
#endif
