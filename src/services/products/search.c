/* search.c: the product lists. One builder serves three audiences:
 *   GET /v1/products              anyone: active products only
 *   GET /v1/sellers/me/products   a seller: their own, any status (?status=)
 *   GET /v1/admin/products        staff: any seller, any status (the review queue)
 * Filters: q (FTS5 on SQLite, tsvector on PostgreSQL; reduced to words of letters and
 * digits so no query syntax of either engine is ever interpreted), category_id, seller_id,
 * min_price / max_price (with currency), in_stock; sort newest | price_asc | price_desc |
 * popular, each a keyset page over (sort column, id) that one index of migration 550
 * serves; text with price or popularity ranks the newest --product-search-max-matches
 * matches (bounded; Search-Matches-Capped when more matched). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/list.h"
#include "services/products/internal.h"

void prod_qb_cat(prod_qb *q, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(q->sql + q->n, sizeof q->sql - q->n, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= sizeof q->sql - q->n) q->overflow = 1;
  else q->n += (size_t)k;
}

int prod_qb_int(prod_qb *q, int64_t v) {
  if (q->np == (int)(sizeof q->p / sizeof q->p[0])) { q->overflow = 1; return 1; }
  q->p[q->np].t = 'i';
  q->p[q->np].i = v;
  return ++q->np;
}

int prod_qb_text(prod_qb *q, const char *s) {
  if (q->np == (int)(sizeof q->p / sizeof q->p[0])) { q->overflow = 1; return 1; }
  q->p[q->np].t = 's';
  q->p[q->np].s = s;
  return ++q->np;
}

int prod_qb_run(vz_db *db, prod_qb *q, vz_stmt **out) {
  if (q->overflow) return DB_ERROR;
  vz_stmt *st = NULL;
  int rc = db_prepare(db, q->sql, &st);
  for (int i = 0; rc >= 0 && i < q->np; i++)
    rc = q->p[i].t == 'i' ? db_bind_int(st, i + 1, q->p[i].i) : db_bind_text(st, i + 1, q->p[i].s, -1);
  if (rc >= 0) rc = db_step(st);
  if (rc < 0) { if (st) db_finalize(st); return rc; }
  *out = st;
  return rc;
}

static const vz_col hit_cols[] = {
  { "p.id", "id", VZ_COL_ID }, { "p.seller_id", "seller_id", VZ_COL_ID }, { "p.title", "title", VZ_COL_TEXT },
  { "p.category_id", "category_id", VZ_COL_ID | VZ_COL_NULL }, { "p.currency", "currency", VZ_COL_TEXT },
  { "p.price", "price", VZ_COL_INT }, { "p.compare_at_price", "compare_at_price", VZ_COL_INT | VZ_COL_NULL },
  { "p.in_stock", "in_stock", VZ_COL_BOOL }, { "p.sold_count", "sold_count", VZ_COL_INT },
  { "p.status", "status", VZ_COL_TEXT },
  { "(SELECT i.media_id FROM product_images i WHERE i.product_id = p.id AND i.position = 0)", "image", VZ_COL_TEXT | VZ_COL_NULL },
  { "p.created_at", "created_at", VZ_COL_TIME }, { 0 },
};
enum { COL_CREATED = 11, COL_PRICE = 5, COL_SOLD = 8 };

/* The text query in the dialect's syntax (db_text_match, at most 6 words); "" when q has
 * no letter or digit. */
static const char *match_of(vz_req *req, const char *q, int pg) {
  char out[512];
  db_text_match(q, pg ? DB_POSTGRES : DB_SQLITE, 6, out, sizeof out);
  return vz_arena_strdup(req->arena, out);
}

enum { AUD_PUBLIC, AUD_SELLER, AUD_ADMIN };

static int search(vz_req *req, int audience) {
  const char *sort = vz_req_query(req, "sort");
  if (!sort) sort = "newest";
  const char *col = "p.created_at";
  int desc = 1, poscol = COL_CREATED;
  if (!strcmp(sort, "price_asc")) col = "p.price", desc = 0, poscol = COL_PRICE;
  else if (!strcmp(sort, "price_desc")) col = "p.price", poscol = COL_PRICE;
  else if (!strcmp(sort, "popular")) col = "p.sold_count", poscol = COL_SOLD;
  vz_page pg;
  if (vz_page_begin_or_fail(req, &pg, desc ? INT64_MAX : INT64_MIN, desc ? INT64_MAX : INT64_MIN)) return req->status;
  int pgsql = db_dialect(req->db_read) == DB_POSTGRES;
  prod_qb *q = vz_arena_calloc(req->arena, sizeof *q);
  const char *cols = vz_cols_select(req->arena, hit_cols);
  if (!q || !cols) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  /* text + newest: ids are time-ordered (db_id_new), so newest is id order, which the
   * FTS5 index yields directly (rowid descending, stops after the page) instead of
   * materialising every match and sorting it: 25 ms instead of 2.8 s for a word in a
   * quarter of 1M products (bench/RESULTS.md) */
  const char *text = vz_req_query(req, "q");
  int fts_order = text && !pgsql && !strcmp(sort, "newest");
  /* text + price/popularity: the matches are taken newest first from the FTS5 index (as
   * above), at most --product-search-max-matches of them, and only those are filtered and
   * sorted, so a word in half of 1M products costs a bounded read and sort instead of
   * sorting every match (docs/internals/market.md has the plans). Exact while a word
   * matches fewer; past that, the answer ranks the newest matches and says so in
   * Search-Matches-Capped. */
  int fts_capped = text && !pgsql && !fts_order;
  if (text && !strcmp(sort, "newest")) col = "p.id", poscol = 0;
  const char *m = NULL;
  if (text && (!(m = match_of(req, text, pgsql)) || !*m))
    return vz_fail(req, 400, "invalid_argument", "q", "q must contain a letter or digit");
  if (fts_order) prod_qb_cat(q, "SELECT %s FROM products_fts f JOIN products p ON p.id = f.rowid WHERE ", cols);
  else if (fts_capped) /* CROSS JOIN: SQLite must loop over the capped matches, never walk a
                        * price index of every product probing them (its unanalysed choice) */
    prod_qb_cat(q, "SELECT %s FROM (SELECT rowid AS id FROM products_fts WHERE products_fts MATCH $%d ORDER BY rowid DESC"
                " LIMIT $%d) f CROSS JOIN products p ON p.id = f.id WHERE ", cols, prod_qb_text(q, m),
                prod_qb_int(q, products_search_max_matches));
  else prod_qb_cat(q, "SELECT %s FROM products p WHERE ", cols);
  const char *status = vz_req_query(req, "status");
  if (audience == AUD_PUBLIC) prod_qb_cat(q, "p.status = 'active'");
  else if (status) prod_qb_cat(q, "p.status = $%d", prod_qb_text(q, status));
  else prod_qb_cat(q, "1 = 1");
  if (audience == AUD_SELLER) prod_qb_cat(q, " AND p.seller_id = $%d", prod_qb_int(q, req->user_id));
  int64_t id;
  const char *v;
  if ((v = vz_req_query(req, "seller_id")) && audience != AUD_SELLER && vz_parse_id(v, &id) == 0)
    prod_qb_cat(q, " AND p.seller_id = $%d", prod_qb_int(q, id));
  if ((v = vz_req_query(req, "category_id")) && vz_parse_id(v, &id) == 0)
    prod_qb_cat(q, " AND p.category_id = $%d", prod_qb_int(q, id));
  if ((v = vz_req_query(req, "currency"))) {
    if (!prod_currency_ok(v)) return vz_fail(req, 400, "invalid_argument", "currency", "currency must be an ISO 4217 code");
    prod_qb_cat(q, " AND p.currency = $%d", prod_qb_text(q, v));
  }
  const char *lo = vz_req_query(req, "min_price"), *hi = vz_req_query(req, "max_price");
  if ((lo || hi) && !vz_req_query(req, "currency"))
    return vz_fail(req, 400, "invalid_argument", "currency", "a price range needs currency: prices in different currencies do not compare");
  if (lo) prod_qb_cat(q, " AND p.price >= $%d", prod_qb_int(q, strtoll(lo, NULL, 10)));
  if (hi) prod_qb_cat(q, " AND p.price <= $%d", prod_qb_int(q, strtoll(hi, NULL, 10)));
  if ((v = vz_req_query(req, "in_stock")) && (!strcmp(v, "true") || !strcmp(v, "1"))) prod_qb_cat(q, " AND p.in_stock = 1");
  if (text) {
    if (pgsql) prod_qb_cat(q, " AND p.search @@ to_tsquery('simple', $%d)", prod_qb_text(q, m));
    else if (fts_order) prod_qb_cat(q, " AND products_fts MATCH $%d", prod_qb_text(q, m));
    /* fts_capped: the match is the FROM clause's */
  }
  int a = prod_qb_int(q, pg.pos), b = prod_qb_int(q, pg.id);
  if (fts_order) /* one key: the rowid, so FTS5 consumes the ORDER BY */
    prod_qb_cat(q, " AND f.rowid < $%d ORDER BY f.rowid DESC LIMIT $%d", b, prod_qb_int(q, (int64_t)pg.limit + 1));
  else
  prod_qb_cat(q, " AND (%s %s $%d OR (%s = $%d AND p.id %s $%d)) ORDER BY %s %s, p.id %s LIMIT $%d", col, desc ? "<" : ">", a,
              col, a, desc ? "<" : ">", b, col, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC",
              prod_qb_int(q, (int64_t)pg.limit + 1));
  vz_stmt *st = NULL;
  int rc = prod_qb_run(req->db_read, q, &st);
  while (rc == DB_ROW && vz_page_take(&pg, db_col_int(st, poscol) , db_col_int(st, 0))) {
    vz_page_add(&pg, vz_cols_row(st, hit_cols));
    rc = db_step(st);
  }
  if (st) db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (fts_capped) { /* did the cap cut the matches? one more bounded read of the index */
    rc = db_run(req->db_read, &st, "SELECT count(*) FROM (SELECT rowid FROM products_fts WHERE products_fts MATCH $1 LIMIT $2)",
                "si", m, (int64_t)products_search_max_matches + 1);
    int64_t n = rc == DB_ROW ? db_col_int(st, 0) : 0;
    db_finalize(st);
    if (rc < 0) return vz_fail_db(req, rc);
    char cap[24];
    snprintf(cap, sizeof cap, "%d", products_search_max_matches);
    if (n > products_search_max_matches) vz_add_header(req, "Search-Matches-Capped", cap);
  }
  return vz_page_reply(req, &pg);
}

int prod_h_search(vz_req *req) { return search(req, AUD_PUBLIC); }
int prod_h_mine(vz_req *req) { return search(req, AUD_SELLER); }
int prod_h_admin_list(vz_req *req) { return search(req, AUD_ADMIN); }
