/* top_buyers.c: "is user U among the top N buyers of seller H" (orders.h), for chat's
 * top_buyer badge, which asks on every message sent.
 *
 * Ranking: per currency (totals in different currencies are not comparable), a buyer's
 * net spend with the seller, sum(total - refunded) over orders that were paid (paid,
 * shipped, delivered, refund_requested, refunded); only a positive spend ranks; ties go
 * to the lower buyer id. A buyer's rank is their best over currencies.
 *
 * Cost: the seller's ranking (the first ORDERS_TOP_MAX per currency) is kept in the cache
 * (cache.h: local or Redis, shared by instances) for ORDERS_TOP_TTL_MS, so a chat message
 * costs one cache read. A miss runs one GROUP BY over the seller's paid orders, served by
 * the covering index orders_seller_buyers (migration 601). An order paid deletes its
 * seller's entry (orders_mark_paid), so a new purchase shows at the next message; a
 * refund, or a ranking read between that delete and the payment's commit, shows within
 * the TTL. With the cache down every call goes to the database (still indexed). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "db/db.h"
#include "services/orders/orders.h"

#define ORDERS_TOP_TTL_MS 60000
#define PAID_SET "'paid', 'shipped', 'delivered', 'refund_requested', 'refunded'"

static void top_key(char out[48], int64_t seller_id) {
  snprintf(out, 48, "orders:top:%" PRId64, seller_id);
}

void orders_top_buyers_forget(int64_t seller_id) {
  char key[48];
  top_key(key, seller_id);
  cache_del(key); /* best effort: the TTL bounds what a failed delete leaves */
}

/* The rank (0 first) of uid in the cached text "id:rank,id:rank,...", or -1. The text is
 * ours, but parsed defensively: anything malformed reads as "not found". */
static int rank_in(const char *s, int64_t uid) {
  while (s && *s) {
    char *end;
    long long id = strtoll(s, &end, 10);
    if (end == s || *end != ':') return -1;
    long rk = strtol(end + 1, &end, 10);
    if (id == uid && rk >= 0) return (int)rk;
    s = *end == ',' ? end + 1 : NULL;
  }
  return -1;
}

/* Builds the ranking from the database: malloc'd "id:rank,..." (maybe ""), NULL on error
 * (*rc says which). */
static char *rank_load(vz_db *db, int64_t seller_id, int *rc) {
  vz_stmt *st = NULL;
  *rc = db_run(db, &st,
               "SELECT buyer_id, min(rk) FROM (SELECT buyer_id, row_number() OVER (PARTITION BY currency"
               " ORDER BY sum(total - refunded) DESC, buyer_id) - 1 AS rk FROM orders WHERE seller_id = $1"
               " AND status IN (" PAID_SET ") GROUP BY buyer_id, currency HAVING sum(total - refunded) > 0) t"
               " WHERE rk < $2 GROUP BY buyer_id ORDER BY buyer_id", "ii", seller_id, (int64_t)ORDERS_TOP_MAX);
  size_t cap = 64, len = 0;
  char *out = malloc(cap);
  if (out) out[0] = 0;
  while (out && *rc == DB_ROW) {
    char item[48];
    int n = snprintf(item, sizeof item, "%s%" PRId64 ":%" PRId64, len ? "," : "", db_col_int(st, 0), db_col_int(st, 1));
    if (len + (size_t)n + 1 > cap) {
      char *g = realloc(out, cap * 2 + (size_t)n);
      if (!g) { free(out); out = NULL; break; }
      out = g, cap = cap * 2 + (size_t)n;
    }
    memcpy(out + len, item, (size_t)n + 1);
    len += (size_t)n;
    *rc = db_step(st);
  }
  db_finalize(st);
  if (*rc < 0 || !out) { free(out); if (*rc >= 0) *rc = DB_ERROR; return NULL; }
  *rc = 0;
  return out;
}

int orders_top_buyer(vz_db *db, int64_t seller_id, int64_t user_id, int n) {
  if (n <= 0 || seller_id <= 0 || user_id <= 0 || user_id == seller_id) return 0;
  if (n > ORDERS_TOP_MAX) n = ORDERS_TOP_MAX;
  char key[48], *v = NULL;
  size_t len = 0;
  top_key(key, seller_id);
  if (cache_get(key, &v, &len) == CACHE_OK) {
    int rk = rank_in(v, user_id);
    free(v);
    return rk >= 0 && rk < n;
  }
  int rc;
  if (!(v = rank_load(db, seller_id, &rc))) return rc;
  cache_set(key, v, strlen(v), ORDERS_TOP_TTL_MS); /* an empty ranking is cached too */
  int rk = rank_in(v, user_id);
  free(v);
  return rk >= 0 && rk < n;
}
