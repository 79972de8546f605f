/* categories.c: category logic on the worker pool. The tree is kept acyclic and shallow
 * (MAX_DEPTH levels) by walking parents inside the write transaction, so two admins
 * moving categories at once cannot build a loop. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/respcache.h"
#include "db/db.h"
#include "services/categories/internal.h"

#define MAX_DEPTH 4

static const vz_col cat_cols[] = {
  { "id", "id", VZ_COL_ID },
  { "parent_id", "parent_id", VZ_COL_ID | VZ_COL_NULL },
  { "slug", "slug", VZ_COL_TEXT },
  { "name", "name", VZ_COL_TEXT },
  { "kind", "kind", VZ_COL_TEXT },
  { "description", "description", VZ_COL_TEXT },
  { "position", "position", VZ_COL_INT },
  { "created_at", "created_at", VZ_COL_TIME },
  { "updated_at", "updated_at", VZ_COL_TIME },
  { 0 },
};

/* LIKE pattern with %, _ and \ escaped (ESCAPE '\'). */
static char *like_pattern(vz_req *req, const char *q) {
  size_t n = strlen(q);
  char *p = vz_arena_alloc(req->arena, n * 2 + 3), *o = p;
  if (!p) return NULL;
  *o++ = '%';
  for (; *q; q++) {
    if (*q == '%' || *q == '_' || *q == '\\') *o++ = '\\';
    *o++ = (char)tolower((unsigned char)*q);
  }
  *o++ = '%';
  *o = 0;
  return p;
}

/* By position, then id (cursor "position:id"). */
int category_list(vz_req *req) {
  const char *parent = vz_req_query(req, "parent_id"), *kind = vz_req_query(req, "kind"), *q = vz_req_query(req, "q");
  int64_t parent_id = 0;
  vz_page pg;
  if (parent && strcmp(parent, "root") && vz_parse_id(parent, &parent_id))
    return vz_fail(req, 400, "invalid_argument", "parent_id", "parent_id must be an id or \"root\"");
  if (vz_page_begin_or_fail(req, &pg, INT64_MIN, INT64_MIN)) return req->status;
  if (pg.has_cursor && pg.pos < 0) /* positions are never negative (create_in, update_in) */
    return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
  /* One statement text per filter combination, so each is prepared once and cached. The
   * casts keep PostgreSQL from typing the keyset parameters as the 32-bit position. */
  const char *cols = vz_cols_select(req->arena, cat_cols);
  char sql[640];
  int n = snprintf(sql, sizeof sql, "SELECT %s FROM categories WHERE (position > CAST($1 AS BIGINT)"
                   " OR (position = CAST($1 AS BIGINT) AND id > CAST($2 AS BIGINT)))", cols ? cols : "");
  int arg = 3, a_parent = 0, a_kind = 0, a_q = 0;
  if (parent && !parent_id) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND parent_id IS NULL");
  if (parent_id) { a_parent = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND parent_id = $%d", a_parent); }
  if (kind) { a_kind = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND kind = $%d", a_kind); }
  if (q) { a_q = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND LOWER(name) LIKE $%d ESCAPE '\\'", a_q); }
  snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY position, id LIMIT $%d", arg);
  const char *like = q ? like_pattern(req, q) : NULL;
  if (!cols || (q && !like)) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  vz_stmt *st;
  int rc = db_prepare(req->db_read, sql, &st);
  if (rc < 0) return vz_fail_db(req, rc);
  db_bind_int(st, 1, pg.pos);
  db_bind_int(st, 2, pg.id);
  if (a_parent) db_bind_int(st, a_parent, parent_id);
  if (a_kind) db_bind_text(st, a_kind, kind, -1);
  if (a_q) db_bind_text(st, a_q, like, -1);
  db_bind_int(st, arg, pg.limit + 1);
  while ((rc = db_step(st)) == DB_ROW && vz_page_take(&pg, db_col_int(st, 6), db_col_int(st, 0)))
    vz_page_add(&pg, vz_cols_row(st, cat_cols));
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_page_reply(req, &pg);
}

/* Category id as JSON into *out (what was there is freed): DB_ROW, DB_DONE when there is
 * no such category, or a db.h error; a row that cannot be built is DB_ERROR. Answers
 * nothing, so a db_tx body can return the error for a retry. */
static int load(vz_req *req, vz_db *db, int64_t id, json_t **out) {
  const char *cols = vz_cols_select(req->arena, cat_cols);
  const char *sql = cols ? vz_arena_printf(req->arena, "SELECT %s FROM categories WHERE id = $1", cols) : NULL;
  vz_stmt *st = NULL;
  json_decref(*out);
  *out = NULL;
  int rc = sql ? db_run(db, &st, sql, "i", id) : DB_ERROR;
  if (rc == DB_ROW && !(*out = vz_cols_row(st, cat_cols))) rc = DB_ERROR;
  if (st) db_finalize(st);
  return rc;
}

int category_show(vz_req *req) {
  int64_t id;
  json_t *item = NULL;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  int rc = load(req, req->db_read, id, &item);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such category");
  return vz_reply_item(req, 200, item);
}

/* Slugs are lowercase ASCII letters, digits and single dashes. */
static int slug_ok(const char *s) {
  if (!*s || *s == '-') return 0;
  for (const char *p = s; *p; p++)
    if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || (*p == '-' && p[1] != '-'))) return 0;
  return s[strlen(s) - 1] != '-';
}

static char *slug_from(vz_req *req, const char *name) {
  size_t n = strlen(name);
  char *s = vz_arena_alloc(req->arena, n + 1), *o = s;
  if (!s) return NULL;
  for (const char *p = name; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (isalnum(c) && c < 0x80) *o++ = (char)tolower(c);
    else if (o > s && o[-1] != '-') *o++ = '-';
  }
  while (o > s && o[-1] == '-') o--;
  *o = 0;
  return s;
}

static int64_t json_id(json_t *v) {
  int64_t id = 0;
  if (json_is_integer(v)) return json_integer_value(v);
  if (json_is_string(v)) vz_parse_id(json_string_value(v), &id);
  return id;
}

/* Depth of `parent` into *depth: 1 for a root, 0 when it does not exist, -1 when `self`
 * is on its chain (a cycle) or it is deeper than any allowed. 0, or a db.h error. */
static int parent_depth(vz_db *db, int64_t parent, int64_t self, int *depth) {
  *depth = 0;
  for (int64_t cur = parent; cur; ++*depth) {
    if (cur == self || *depth > MAX_DEPTH + 1) return *depth = -1, 0;
    vz_stmt *st;
    int rc = db_run(db, &st, "SELECT parent_id FROM categories WHERE id = $1", "i", cur);
    if (rc != DB_ROW) {
      if (st) db_finalize(st);
      if (rc < 0) return rc;
      if (*depth) *depth = -1; /* a dangling parent higher up: refuse rather than guess */
      return 0;
    }
    cur = db_col_is_null(st, 0) ? 0 : db_col_int(st, 0);
    db_finalize(st);
  }
  return 0;
}

/* For a db_tx body: 0 when `parent` may hold `self`; DB_EABORT after a 400 naming
 * parent_id; or a db.h error, not answered. */
static int parent_check(vz_req *req, vz_db *db, int64_t parent, int64_t self) {
  int d, rc = parent_depth(db, parent, self, &d);
  if (rc < 0) return rc;
  if (d == 0) return vz_fail(req, 400, "invalid_argument", "parent_id", "no such parent category"), DB_EABORT;
  if (d < 0) return vz_fail(req, 400, "invalid_argument", "parent_id", "a category cannot sit under itself"), DB_EABORT;
  if (d >= MAX_DEPTH)
    return vz_fail(req, 400, "invalid_argument", "parent_id", "categories nest at most %d deep", MAX_DEPTH), DB_EABORT;
  return 0;
}

static const char *str_or(json_t *o, const char *k, const char *dflt) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

/* One write: the parent is checked inside the transaction, so two admins moving
 * categories at once cannot build a loop; the row is read back inside it too. */
typedef struct cat_write { vz_req *req; int64_t id; const char *slug; json_t *item; } cat_write;

static int create_tx(vz_db *db, void *p) {
  cat_write *w = p;
  json_t *in = w->req->json, *pos = json_object_get(in, "position");
  int64_t parent = json_id(json_object_get(in, "parent_id"));
  int rc = parent ? parent_check(w->req, db, parent, w->id) : 0;
  if (rc < 0) return rc;
  rc = db_run(db, NULL,
              "INSERT INTO categories (id, parent_id, slug, name, kind, description, position, created_at, updated_at)"
              " VALUES ($1, NULLIF(CAST($2 AS BIGINT), 0), $3, $4, $5, $6, $7, $8, $8)",
              "iissssii", w->id, parent, w->slug, str_or(in, "name", ""), str_or(in, "kind", "both"),
              str_or(in, "description", ""), (int64_t)(pos ? json_integer_value(pos) : 0), db_now_ms());
  if (rc == DB_ECONSTRAINT) return vz_fail(w->req, 409, "conflict", "slug", "slug %s is taken", w->slug), DB_EABORT;
  if (rc < 0) return rc;
  rc = load(w->req, db, w->id, &w->item);
  return rc == DB_ROW ? 0 : rc < 0 ? rc : DB_ERROR;
}

int category_create(vz_req *req) {
  cat_write w = { .req = req, .id = db_id_new(), .slug = str_or(req->json, "slug", NULL) };
  if (w.slug && !slug_ok(w.slug))
    return vz_fail(req, 400, "invalid_argument", "slug", "slug may hold lowercase letters, digits and single dashes");
  if (!w.slug) {
    w.slug = slug_from(req, str_or(req->json, "name", ""));
    if (w.slug && !*w.slug) w.slug = vz_arena_printf(req->arena, "category-%lld", (long long)w.id);
    if (!w.slug) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  }
  if (vz_tx_or_fail(req, create_tx, &w) < 0) {
    json_decref(w.item);
    return req->status;
  }
  vz_cache_bump("categories");
  vz_add_header(req, "Location", vz_arena_printf(req->arena, "/v1/categories/%lld", (long long)w.id));
  return vz_reply_item(req, 201, w.item);
}

static int update_tx(vz_db *db, void *p) {
  cat_write *w = p;
  json_t *in = w->req->json, *pv = json_object_get(in, "parent_id"), *pos = json_object_get(in, "position");
  int64_t parent = json_id(pv);
  int rc = load(w->req, db, w->id, &w->item); /* it exists (404 before a parent error) */
  if (rc == DB_DONE) return vz_fail(w->req, 404, "not_found", "id", "no such category"), DB_EABORT;
  if (rc < 0 || (parent && (rc = parent_check(w->req, db, parent, w->id)) < 0)) return rc;
  /* COALESCE keeps what the patch leaves out; parent_id is set only when given. */
  rc = db_run(db, NULL,
              "UPDATE categories SET name = COALESCE($2, name), slug = COALESCE($3, slug), kind = COALESCE($4, kind),"
              " description = COALESCE($5, description), position = CASE WHEN $6 < 0 THEN position ELSE $6 END,"
              " parent_id = CASE WHEN $7 = 1 THEN NULLIF(CAST($8 AS BIGINT), 0) ELSE parent_id END, updated_at = $9 WHERE id = $1",
              "issssiiii", w->id, str_or(in, "name", NULL), w->slug, str_or(in, "kind", NULL),
              str_or(in, "description", NULL), (int64_t)(pos ? json_integer_value(pos) : -1), (int64_t)(pv != NULL),
              parent, db_now_ms());
  if (rc == DB_ECONSTRAINT) return vz_fail(w->req, 409, "conflict", "slug", "slug is taken"), DB_EABORT;
  if (rc < 0) return rc;
  rc = load(w->req, db, w->id, &w->item);
  return rc == DB_ROW ? 0 : rc < 0 ? rc : DB_ERROR;
}

int category_update(vz_req *req) {
  cat_write w = { .req = req, .slug = str_or(req->json, "slug", NULL) };
  if (vz_req_param_id_or_fail(req, "id", &w.id)) return req->status;
  if (json_object_size(req->json) == 0) return vz_fail(req, 400, "invalid_argument", NULL, "nothing to change");
  if (w.slug && !slug_ok(w.slug))
    return vz_fail(req, 400, "invalid_argument", "slug", "slug may hold lowercase letters, digits and single dashes");
  if (vz_tx_or_fail(req, update_tx, &w) < 0) {
    json_decref(w.item);
    return req->status;
  }
  vz_cache_bump("categories");
  return vz_reply_item(req, 200, w.item);
}

static int delete_tx(vz_db *db, void *p) {
  cat_write *w = p;
  vz_stmt *st;
  int rc = db_run(db, &st, "SELECT COUNT(*) FROM categories WHERE parent_id = $1", "i", w->id);
  int64_t kids = rc == DB_ROW ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (kids)
    return vz_fail(w->req, 409, "has_children", "id", "move or delete its %lld subcategories first", (long long)kids),
           DB_EABORT;
  rc = db_run(db, &st, "DELETE FROM categories WHERE id = $1", "i", w->id);
  int changed = st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) return rc;
  if (!changed) return vz_fail(w->req, 404, "not_found", "id", "no such category"), DB_EABORT;
  return 0;
}

int category_delete(vz_req *req) {
  cat_write w = { .req = req };
  if (vz_req_param_id_or_fail(req, "id", &w.id) || vz_tx_or_fail(req, delete_tx, &w) < 0) return req->status;
  vz_cache_bump("categories");
  return vz_reply_empty(req, 204);
}
