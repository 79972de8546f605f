/* http: the request every handler sees, the route table services declare, and the
 * reply helpers. A service writes a table of vz_route rows; the core parses, routes,
 * runs the fixed middleware (request id, CORS, body limit, rate limit, auth/role,
 * validation) and only then calls the handler, so handlers start with valid input. */
#ifndef VZ_HTTP_H
#define VZ_HTTP_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"

typedef struct vz_req vz_req;
typedef struct vz_db vz_db;
typedef struct vz_loop vz_loop;
typedef int (*vz_handler)(vz_req *req);

/* Field types for declared input (body JSON fields and query parameters). */
enum vz_type { VZ_STR = 1, VZ_INT, VZ_ID, VZ_BOOL, VZ_NUM, VZ_EMAIL, VZ_URL, VZ_ENUM, VZ_OBJ, VZ_ARR, VZ_ANY };
enum { VZ_REQUIRED = 1, VZ_NULLABLE = 2 };

typedef struct vz_field {
  const char *name;
  int type;
  int flags;
  long long min, max;     /* VZ_INT/VZ_NUM: value range; VZ_STR/EMAIL/URL: length in characters
                           * (every string declares a max); VZ_ARR: max items; 0,0: no bound */
  const char *choices;    /* VZ_ENUM: "a|b|c" */
  /* Nested content, checked with the same rules and named by path ("links[2].label"):
   * VZ_ARR: one field, the element's spec (its name is unused); VZ_OBJ: the nested
   * field table (unknown keys refused). Every array and object declares one. */
  const struct vz_field *of;
} vz_field;

/* Route flags. A route runs on the worker pool, with req->db, unless it says VZ_ON_LOOP or
 * VZ_ASYNC: blocking the loop stalls every connection it owns, so staying off the pool is
 * the exception that has to be written down. Roles: a route with a role flag admits that
 * role and admin (vz_role_allows). */
enum {
  VZ_AUTH = 1 << 0,           /* any signed-in user */
  VZ_ROLE_SELLER = 1 << 1,
  VZ_ROLE_MODERATOR = 1 << 2,
  VZ_ROLE_ADMIN = 1 << 3,
  VZ_ON_LOOP = 1 << 4,        /* runs on the io loop: no req->db, must not block (health,
                               * answers from memory) */
  VZ_ASYNC = 1 << 5,          /* runs on the loop and may reply later (return VZ_PENDING) */
  VZ_AUDIT = 1 << 6,          /* a successful call is written to the audit log, in the
                               * change's transaction (pool only; idempotency.h) */
  VZ_RAW_BODY = 1 << 7,       /* body is not JSON (uploads): no JSON parsing */
  VZ_PREFIX = 1 << 8,         /* path matches as a prefix (static files, /socket.io/) */
  VZ_IDEMPOTENT = 1 << 9,     /* honours Idempotency-Key: replays the stored answer
                               * (pool only, signed-in callers; idempotency.h) */
  VZ_NO_LOG = 1 << 10,        /* no access log line (health probes) */
  VZ_RATE_USER = 1 << 11,     /* rate_per_min counts per signed-in user (after auth), not per
                               * IP: many users share one address behind a NAT; anonymous
                               * callers still count per IP */
  VZ_UNLISTED = 1 << 12,      /* not part of the public contract (debug and test routes):
                               * `vidzo openapi` leaves it out */
  VZ_FALLBACK = 1 << 13,      /* only when no other route's path matches and the path's
                               * first segment is no other route's (the web app's files at /,
                               * services/web): registration order never lets it shadow an
                               * API route, and an unknown /v1/... stays the API's 404 */
};
#define VZ_ROLE_FLAGS (VZ_ROLE_SELLER | VZ_ROLE_MODERATOR | VZ_ROLE_ADMIN)
/* The one role enum (auth's tokens carry it; auth_role_* names the same values). */
enum vz_role { VZ_R_NONE = 0, VZ_R_USER = 1, VZ_R_SELLER = 2, VZ_R_MODERATOR = 3, VZ_R_ADMIN = 4 };
/* The one role policy: may a caller with role `have` (VZ_R_*) use a route whose flags are
 * `need`? No VZ_AUTH and no role flag: anyone. VZ_AUTH alone: any signed-in role. Role
 * flags: one of those roles, or admin (who may do everything). */
int vz_role_allows(int have, int need);
/* The role flag that admits role r (VZ_AUTH for a plain user, 0 for none). */
int vz_role_flag(int r);

/* A row of a route table; write it with the macros below. method, path and handler stay
 * the first three members, in this order: the macros name the first two and the handler
 * follows positionally (C11 6.7.9: an initializer after a designator fills the next one). */
typedef struct vz_route {
  const char *method;         /* "GET", "POST", ...; "*" any */
  const char *path;           /* "/v1/categories/:id" */
  vz_handler handler;
  const vz_field *body;       /* declared JSON body fields (unknown ones are refused), NULL: none */
  int flags;
  const vz_field *query;      /* declared query parameters; NULL: only fields/limit/cursor */
  size_t max_body;            /* 0: server default */
  int rate_per_min;           /* per client IP (per user with VZ_RATE_USER); 0: none */
  int idx;                    /* set at registration: metrics label index */
  int cache_ms;               /* >0: anonymous 200 GETs served from memory (respcache.h) */
  const char *cache_group;    /* invalidated together by vz_cache_bump(group) */

  /* The contract: `vidzo openapi` walks the rows (docs/internals/contract.md). A listed row
   * without op, summary and res still compiles and serves, but the contract check fails
   * naming it. Everything else about the operation comes from the fields above: input
   * schemas from body/query, security from the flags, 401/403/400/415/429 from flags,
   * body and rate_per_min. */
  const char *op;             /* operationId, unique, lowerCamel verb first: "listFaq" */
  const char *summary;        /* one line, no final period */
  const char *desc;           /* longer description (markdown), optional */
  const char *tag;            /* group in the reference; NULL: the owning service's name */
  const char *res;            /* the success body, a component schema (schemas.json):
                               *   "Faq"    {"data": Faq}          (vz_reply_item)
                               *   "Faq[]"  {"data": [Faq], "next_cursor"} (a page; adds
                               *            limit/cursor/fields parameters)
                               *   "=Name"  the schema is the whole body (no envelope)
                               *   "-"      no body (204, or ok says which) */
  int ok;                     /* success status; 0: 204 with res "-", else 200 */
  const char *res_type;       /* success media type; NULL: application/json */
  const char *errors;         /* statuses besides the derived ones: "404 409" */
  const vz_field *params;     /* path parameters (contract only; handlers check them):
                               * NULL: :id and :*_id are decimal ids, others strings */
} vz_route;

/* Route rows, designated: the handler, then only what differs from the defaults:
 *   VZ_POST("/v1/me/devices", h_device_add, .body = device_in,
 *           .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 20),
 * A table ends with { 0 }. */
#define VZ_ROUTE(method_, path_, ...) { .method = (method_), .path = (path_), __VA_ARGS__ }
#define VZ_GET(path_, ...) VZ_ROUTE("GET", path_, __VA_ARGS__)
#define VZ_POST(path_, ...) VZ_ROUTE("POST", path_, __VA_ARGS__)
#define VZ_PUT(path_, ...) VZ_ROUTE("PUT", path_, __VA_ARGS__)
#define VZ_PATCH(path_, ...) VZ_ROUTE("PATCH", path_, __VA_ARGS__)
#define VZ_DELETE(path_, ...) VZ_ROUTE("DELETE", path_, __VA_ARGS__)
#define VZ_ANY_METHOD(path_, ...) VZ_ROUTE("*", path_, __VA_ARGS__)

/* 1 when the route's handler runs on the worker pool (the default). */
static inline int vz_route_on_pool(const vz_route *r) { return !(r->flags & (VZ_ON_LOOP | VZ_ASYNC)); }

#define VZ_PENDING (-1000)    /* VZ_ASYNC handler: reply comes later via vz_req_finish */
#define VZ_MAX_PARAMS 6

typedef struct vz_header { const char *name, *value; } vz_header;

struct vz_req {
  vz_arena *arena;
  const char *method;         /* "GET" */
  const char *path;           /* decoded, without query */
  const char *query;          /* raw, without '?', "" when none */
  vz_header *headers;
  int nheaders;
  const char *body;
  size_t body_len;
  json_t *json;               /* parsed body object (owned by the arena) */
  const vz_route *route;
  const char *param_names[VZ_MAX_PARAMS], *param_values[VZ_MAX_PARAMS];
  int nparams;
  char request_id[68];
  char ip[48];
  int64_t user_id;            /* 0: anonymous */
  int role;
  int64_t session_id;         /* refresh-token family of the access token, 0 when none */
  vz_db *db;                  /* on the pool: this worker's connection (NULL on the loop) */
  vz_db *db_read;             /* on the pool: replica when configured, else db */
  void *user;                 /* free for the handler */
  void (*on_abort)(vz_req *); /* VZ_ASYNC: client went away before the reply */
  vz_loop *loop;              /* owning io loop */

  /* reply */
  int status;
  char *res_body;             /* malloc'd, owned by the request until written */
  size_t res_len;
  const char *res_type;
  vz_header res_headers[12];  /* the core adds up to 7 (CORS, security); a replayed
                               * idempotent answer adds one to the handler's */
  int nres_headers;

  /* internal */
  struct vz_conn *conn;
  uint64_t start_ns;
  unsigned keep_alive : 1, accepts_gzip : 1, head_only : 1, replied : 1, cors_ok : 1, parser_http10 : 1;
  unsigned db_busy : 1;       /* the reply is vz_fail_db's for DB_EBUSY (the request transaction retries) */
  const char *origin;
  uint64_t db_ns;
  unsigned cache_gen;         /* respcache generation when the request was dispatched */
};

/* Registration (before serve starts). Tables end with a zeroed row. All or nothing: -1,
 * with the route named in the log, when the table is full or a row asks for what its
 * thread cannot give (VZ_AUDIT / VZ_IDEMPOTENT on the loop). */
int vz_routes_add(vz_route *table);
/* As vz_routes_add, with `tag` for rows that name none (the service's name). */
int vz_routes_add_tagged(vz_route *table, const char *tag);
int vz_route_count(void);
const vz_route *vz_route_at(int idx);

/* Request accessors. */
const char *vz_req_header(const vz_req *req, const char *name);   /* case-insensitive */
const char *vz_req_param(const vz_req *req, const char *name);    /* path :param */
const char *vz_req_query(vz_req *req, const char *name);          /* decoded, NULL when absent */
int vz_req_param_id_or_fail(vz_req *req, const char *name, int64_t *out); /* 0, or replies 404 and returns <0 */

/* Replies. Each returns the status so a handler can `return vz_reply_json(...)`. */
int vz_reply_json(vz_req *req, int status, json_t *body);         /* steals the reference */
int vz_reply_item(vz_req *req, int status, json_t *item);         /* {"data": item}, fields= applied */
int vz_reply_list(vz_req *req, json_t *items, const char *next_cursor); /* {"data":[...],"next_cursor":...} */
int vz_reply_bytes(vz_req *req, int status, const char *type, const void *body, size_t len);
int vz_reply_empty(vz_req *req, int status);
int vz_fail(vz_req *req, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Maps a db_* error to the envelope: 503 + Retry-After, 409 conflict, or 500. A 503 from
 * vz_fail carries Retry-After too (1 s unless the caller set one). */
int vz_fail_db(vz_req *req, int rc);
/* db_tx (db.h) on req->db: fn's value (>= 0) after the commit, or -1 with the reply sent:
 * vz_fail_db for a database error, fn's own for DB_EABORT (fn replied, e.g. 404). */
int vz_tx_or_fail(vz_req *req, int (*fn)(vz_db *db, void *ctx), void *ctx);
int vz_add_header(vz_req *req, const char *name, const char *value); /* value copied to the arena */
/* VZ_ASYNC: send the reply set with vz_reply_* on the owning loop. */
void vz_req_finish(vz_req *req);

/* Cursor pagination: opaque base64url of a short string (e.g. "position:id"). */
char *vz_cursor_encode(vz_arena *a, const char *plain);
const char *vz_cursor_decode_or_fail(vz_req *req, const char *cursor); /* NULL: replied 400 */
/* Page size from ?limit= (validated 1..100, default 20). */
int vz_req_limit(vz_req *req);

/* JSON helpers: ids as strings (63-bit ids do not fit a JS number), times as ISO 8601. */
json_t *vz_json_id(int64_t id);
json_t *vz_json_time(int64_t ms);
void vz_format_time(char out[32], int64_t ms);                      /* 2025-01-01T12:00:00.000Z */
json_t *vz_arena_json(vz_req *req, json_t *v);                    /* decref with the arena */
int vz_parse_id(const char *s, int64_t *out);                       /* 0 on a valid positive id */

/* Hooks the services install (auth, audit). */
typedef struct vz_hooks {
  /* Turns a bearer token into a user; 0 when valid. Runs on the io loop. */
  int (*authenticate)(const char *token, int64_t *user_id, int *role, int64_t *session_id);
  /* Records a VZ_AUDIT call that answered 2xx: on the worker, with req->db, inside the
   * request transaction before COMMIT (core/idempotency.h). When the row cannot be
   * written it replaces the answer with the error (vz_fail_db), which rolls the change
   * back. Installed by the audit service. */
  void (*audit)(vz_req *req);
  /* Extra readiness check (e.g. Redis), 0 when ready. */
  int (*ready)(void);
  /* Readiness of a supervised part (the streams service's nginx-rtmp): 0 when ready, else
   * nonzero with why filled; /readyz answers 503 with it in the message. Chain the
   * previous value when installing. */
  int (*ready_why)(char *why, size_t n);
  /* A session was signed out or revoked (any thread): what depends on it ends too
   * (realtime installs it: the session's sockets disconnect). */
  void (*session_revoked)(int64_t session_id);
} vz_hooks;
extern vz_hooks vz_hook;
#endif
