/* categories.c: category logic on the worker pool. The tree is kept acyclic and shallow
 * (MAX_DEPTH levels) by walking parents inside the write transaction, so two admins
 * moving categories at once cannot build a loop. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/respcache.h"
#include "db/db.h"
#include "services/categories/internal.h"

#define MAX_DEPTH 4
#define COLS "id, parent_id, slug, name, kind, description, position, created_at, updated_at"

static json_t *row_json(vz_stmt *st) {
  json_t *o = json_object();
  json_object_set_new(o, "id", vz_json_id(db_col_int(st, 0)));
  json_object_set_new(o, "parent_id", db_col_is_null(st, 1) ? json_null() : vz_json_id(db_col_int(st, 1)));
  json_object_set_new(o, "slug", json_string(db_col_text(st, 2)));
  json_object_set_new(o, "name", json_string(db_col_text(st, 3)));
  json_object_set_new(o, "kind", json_string(db_col_text(st, 4)));
  json_object_set_new(o, "description", json_string(db_col_text(st, 5)));
  json_object_set_new(o, "position", json_integer(db_col_int(st, 6)));
  json_object_set_new(o, "created_at", vz_json_time(db_col_int(st, 7)));
  json_object_set_new(o, "updated_at", vz_json_time(db_col_int(st, 8)));
  return o;
}

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

int category_list(vz_req *req) {
  int limit = vz_req_limit(req);
  const char *parent = vz_req_query(req, "parent_id"), *kind = vz_req_query(req, "kind");
  const char *q = vz_req_query(req, "q"), *cursor = vz_req_query(req, "cursor");
  int64_t parent_id = 0, after_pos = -1, after_id = 0;
  if (parent && strcmp(parent, "root") && vz_parse_id(parent, &parent_id))
    return vz_fail(req, 400, "invalid_argument", "parent_id", "parent_id must be an id or \"root\"");
  if (cursor) {
    const char *plain = vz_cursor_decode_or_fail(req, cursor);
    long long pos, id;
    if (!plain) return 400;
    if (sscanf(plain, "%lld:%lld", &pos, &id) != 2 || pos < 0 || id <= 0)
      return vz_fail(req, 400, "invalid_argument", "cursor", "cursor is not one this server issued");
    after_pos = pos;
    after_id = id;
  }
  /* One statement text per filter combination, so each is prepared once and cached. */
  char sql[640];
  int n = snprintf(sql, sizeof sql, "SELECT " COLS " FROM categories WHERE 1=1");
  int arg = 1;
  int a_parent = 0, a_kind = 0, a_q = 0, a_cur = 0;
  if (parent && !parent_id) n += snprintf(sql + n, sizeof sql - (size_t)n, " AND parent_id IS NULL");
  if (parent_id) { a_parent = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND parent_id = $%d", a_parent); }
  if (kind) { a_kind = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND kind = $%d", a_kind); }
  if (q) { a_q = arg++; n += snprintf(sql + n, sizeof sql - (size_t)n, " AND LOWER(name) LIKE $%d ESCAPE '\\'", a_q); }
  if (cursor) {
    a_cur = arg;
    arg += 2;
    n += snprintf(sql + n, sizeof sql - (size_t)n, " AND (position > $%d OR (position = $%d AND id > $%d))", a_cur,
                  a_cur, a_cur + 1);
  }
  snprintf(sql + n, sizeof sql - (size_t)n, " ORDER BY position, id LIMIT $%d", arg);
  vz_stmt *st;
  int rc = db_prepare(req->db_read, sql, &st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (a_parent) db_bind_int(st, a_parent, parent_id);
  if (a_kind) db_bind_text(st, a_kind, kind, -1);
  if (a_q) db_bind_text(st, a_q, like_pattern(req, q), -1);
  if (a_cur) { db_bind_int(st, a_cur, after_pos); db_bind_int(st, a_cur + 1, after_id); }
  db_bind_int(st, arg, limit + 1);
  json_t *items = json_array();
  int64_t last_pos = 0, last_id = 0;
  int count = 0, more = 0;
  while ((rc = db_step(st)) == DB_ROW) {
    if (count == limit) { more = 1; break; }
    json_array_append_new(items, row_json(st));
    last_id = db_col_int(st, 0);
    last_pos = db_col_int(st, 6);
    count++;
  }
  db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  char *next = NULL;
  if (more) next = vz_cursor_encode(req->arena, vz_arena_printf(req->arena, "%lld:%lld", (long long)last_pos, (long long)last_id));
  return vz_reply_list(req, items, next);
}

static int load(vz_req *req, vz_db *db, int64_t id, json_t **out) {
  vz_stmt *st;
  int rc = db_run(db, &st, "SELECT " COLS " FROM categories WHERE id = $1", "i", id);
  if (rc == DB_ROW) *out = row_json(st);
  if (st) db_finalize(st);
  if (rc == DB_DONE) return vz_fail(req, 404, "not_found", "id", "no such category");
  if (rc < 0) return vz_fail_db(req, rc);
  return 0;
}

int category_show(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  json_t *item = NULL;
  int rc = load(req, req->db_read, id, &item);
  if (rc) return rc;
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
  for (const char *p = name; *p && s; p++) {
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

/* Depth of `parent` (1 for a root); -1 when `self` is on its chain (a cycle), 0 when missing. */
static int parent_depth(vz_db *db, int64_t parent, int64_t self) {
  int depth = 0;
  for (int64_t cur = parent; cur; depth++) {
    if (cur == self || depth > MAX_DEPTH + 1) return -1;
    vz_stmt *st;
    int rc = db_run(db, &st, "SELECT parent_id FROM categories WHERE id = $1", "i", cur);
    if (rc != DB_ROW) { if (st) db_finalize(st); return rc < 0 ? rc - 100 : (depth ? -1 : 0); }
    cur = db_col_is_null(st, 0) ? 0 : db_col_int(st, 0);
    db_finalize(st);
  }
  return depth;
}

static int check_parent(vz_req *req, int64_t parent, int64_t self) {
  int d = parent_depth(req->db, parent, self);
  if (d < -50) return vz_fail_db(req, d + 100);
  if (d == 0) return vz_fail(req, 400, "invalid_argument", "parent_id", "no such parent category");
  if (d < 0) return vz_fail(req, 400, "invalid_argument", "parent_id", "a category cannot sit under itself");
  if (d >= MAX_DEPTH) return vz_fail(req, 400, "invalid_argument", "parent_id", "categories nest at most %d deep", MAX_DEPTH);
  return 0;
}

static const char *str_or(json_t *o, const char *k, const char *dflt) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

int category_create(vz_req *req) {
  json_t *in = req->json;
  const char *name = str_or(in, "name", "");
  const char *slug = str_or(in, "slug", NULL);
  if (slug && !slug_ok(slug))
    return vz_fail(req, 400, "invalid_argument", "slug", "slug may hold lowercase letters, digits and single dashes");
  int64_t id = db_id_new(), now = db_now_ms();
  if (!slug) {
    slug = slug_from(req, name);
    if (!*slug) slug = vz_arena_printf(req->arena, "category-%lld", (long long)id);
  }
  int64_t parent = json_id(json_object_get(in, "parent_id"));
  json_t *pos = json_object_get(in, "position");
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  if (parent && (rc = check_parent(req, parent, id))) goto fail;
  rc = db_run(req->db, NULL,
              "INSERT INTO categories (id, parent_id, slug, name, kind, description, position, created_at, updated_at)"
              " VALUES ($1, NULLIF(CAST($2 AS BIGINT), 0), $3, $4, $5, $6, $7, $8, $8)",
              "iissssii", id, parent, slug, name, str_or(in, "kind", "both"),
              str_or(in, "description", ""), (int64_t)(pos ? json_integer_value(pos) : 0), now);
  if (rc == DB_ECONSTRAINT) { rc = vz_fail(req, 409, "conflict", "slug", "slug %s is taken", slug); goto fail; }
  if (rc < 0 || (rc = db_commit(req->db)) < 0) { rc = vz_fail_db(req, rc); goto fail; }
  vz_cache_bump("categories");
  json_t *item = NULL;
  if ((rc = load(req, req->db, id, &item))) return rc;
  vz_add_header(req, "Location", vz_arena_printf(req->arena, "/v1/categories/%lld", (long long)id));
  return vz_reply_item(req, 201, item);
fail:
  db_rollback(req->db);
  return rc;
}

int category_update(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  json_t *in = req->json;
  if (json_object_size(in) == 0) return vz_fail(req, 400, "invalid_argument", NULL, "nothing to change");
  const char *slug = str_or(in, "slug", NULL);
  if (slug && !slug_ok(slug))
    return vz_fail(req, 400, "invalid_argument", "slug", "slug may hold lowercase letters, digits and single dashes");
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  json_t *cur = NULL;
  if ((rc = load(req, req->db, id, &cur))) goto fail;
  json_decref(cur);
  json_t *pv = json_object_get(in, "parent_id");
  int64_t parent = json_id(pv);
  if (parent && (rc = check_parent(req, parent, id))) goto fail;
  /* COALESCE keeps what the patch leaves out; parent_id is set only when given. */
  json_t *pos = json_object_get(in, "position");
  rc = db_run(req->db, NULL,
              "UPDATE categories SET name = COALESCE($2, name), slug = COALESCE($3, slug), kind = COALESCE($4, kind),"
              " description = COALESCE($5, description), position = CASE WHEN $6 < 0 THEN position ELSE $6 END,"
              " parent_id = CASE WHEN $7 = 1 THEN NULLIF(CAST($8 AS BIGINT), 0) ELSE parent_id END, updated_at = $9 WHERE id = $1",
              "issssiiii", id, str_or(in, "name", NULL), slug, str_or(in, "kind", NULL),
              str_or(in, "description", NULL), (int64_t)(pos ? json_integer_value(pos) : -1), (int64_t)(pv != NULL),
              parent, db_now_ms());
  if (rc == DB_ECONSTRAINT) { rc = vz_fail(req, 409, "conflict", "slug", "slug is taken"); goto fail; }
  if (rc < 0 || (rc = db_commit(req->db)) < 0) { rc = vz_fail_db(req, rc); goto fail; }
  vz_cache_bump("categories");
  json_t *item = NULL;
  if ((rc = load(req, req->db, id, &item))) return rc;
  return vz_reply_item(req, 200, item);
fail:
  db_rollback(req->db);
  return rc;
}

int category_delete(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return 404;
  int rc = db_begin(req->db);
  if (rc < 0) return vz_fail_db(req, rc);
  vz_stmt *st;
  rc = db_run(req->db, &st, "SELECT COUNT(*) FROM categories WHERE parent_id = $1", "i", id);
  int64_t kids = rc == DB_ROW ? db_col_int(st, 0) : 0;
  if (st) db_finalize(st);
  if (rc < 0) { rc = vz_fail_db(req, rc); goto fail; }
  if (kids) { rc = vz_fail(req, 409, "has_children", "id", "move or delete its %lld subcategories first", (long long)kids); goto fail; }
  rc = db_run(req->db, &st, "DELETE FROM categories WHERE id = $1", "i", id);
  int changed = st ? db_changes(st) : 0;
  if (st) db_finalize(st);
  if (rc < 0) { rc = vz_fail_db(req, rc); goto fail; }
  if (!changed) { rc = vz_fail(req, 404, "not_found", "id", "no such category"); goto fail; }
  if ((rc = db_commit(req->db)) < 0) { rc = vz_fail_db(req, rc); goto fail; }
  vz_cache_bump("categories");
  return vz_reply_empty(req, 204);
fail:
  db_rollback(req->db);
  return rc;
}
