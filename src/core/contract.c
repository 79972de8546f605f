/* contract: OpenAPI 3.1 from the route table (contract.h). Walks the registered rows once;
 * the document is built as JSON (jansson) and printed as YAML or JSON. Nothing here
 * guesses from handlers: what a row does not declare is not in the contract, and the
 * problems list names the rows that declare too little. */
#include "core/contract.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/service.h"


void vz_contract_problem(json_t *problems, const char *what, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_array_append_new(problems, json_sprintf("%s: %s", what, msg));
}

json_t *vz_contract_schemas(char *err, size_t errlen) {
  json_t *all = json_object();
  for (const vz_schema_file *f = vz_schema_files; f->path; f++) {
    json_error_t je;
    json_t *one = json_loads(f->json, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(one)) {
      snprintf(err, errlen, "%s:%d: %s", f->path, je.line, one ? "not an object" : je.text);
      json_decref(one);
      json_decref(all);
      return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(one, k, v) {
      if (json_object_get(all, k)) {
        snprintf(err, errlen, "%s: schema %s is defined twice", f->path, k);
        json_decref(one);
        json_decref(all);
        return NULL;
      }
      json_object_set(all, k, v);
    }
    json_decref(one);
  }
  return all;
}

/* "a|b|c" as a JSON array of strings. */
static json_t *choices_array(const char *choices) {
  json_t *a = json_array();
  for (const char *c = choices; c && *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    json_array_append_new(a, json_stringn(c, len));
    c = bar ? bar + 1 : NULL;
  }
  return a;
}

/* What router.c enforces, type by type (check_value_or_fail, vz_validate_query_or_fail). */
json_t *vz_field_schema(const vz_field *f, int in_query) {
  json_t *s = json_object();
  const char *type = NULL;
  switch (f->type) {
  case VZ_STR: case VZ_EMAIL: case VZ_URL:
    type = "string";
    if (f->max) { /* lengths in characters, as JSON Schema counts them */
      if (f->min) json_object_set_new(s, "minLength", json_integer(f->min));
      json_object_set_new(s, "maxLength", json_integer(f->max));
    }
    if (f->type == VZ_EMAIL) json_object_set_new(s, "format", json_string("email"));
    if (f->type == VZ_URL) {
      json_object_set_new(s, "format", json_string("uri"));
      json_object_set_new(s, "pattern", json_string("^https?://[^ \\t\\r\\n<>\"]*$"));
      if (!f->max || f->max > 2048) json_object_set_new(s, "maxLength", json_integer(2048));
    }
    break;
  case VZ_ENUM:
    type = "string";
    json_object_set_new(s, "enum", choices_array(f->choices));
    break;
  case VZ_INT: case VZ_NUM:
    type = f->type == VZ_INT ? "integer" : "number";
    if (f->min || f->max) {
      json_object_set_new(s, "minimum", json_integer(f->min));
      json_object_set_new(s, "maximum", json_integer(f->max));
    }
    break;
  case VZ_ID:
    /* a positive decimal id (vz_parse_id: digits, at most 19, not zero); in a body also a
     * positive integer */
    json_object_set_new(s, "pattern", json_string("^0*[1-9][0-9]*$"));
    json_object_set_new(s, "maxLength", json_integer(19));
    if (in_query) {
      type = "string";
    } else {
      json_object_set_new(s, "type", json_pack("[ss]", "string", "integer"));
      json_object_set_new(s, "minimum", json_integer(1));
    }
    break;
  case VZ_BOOL:
    if (in_query) {
      type = "string";
      json_object_set_new(s, "enum", json_pack("[ssss]", "true", "false", "1", "0"));
    } else {
      type = "boolean";
    }
    break;
  case VZ_OBJ:
    json_decref(s);
    if (f->of) s = vz_fields_schema(f->of);
    else s = json_pack("{ss}", "type", "object");
    type = NULL;
    break;
  case VZ_ARR:
    type = "array";
    if (f->max) {
      if (f->min) json_object_set_new(s, "minItems", json_integer(f->min));
      json_object_set_new(s, "maxItems", json_integer(f->max));
    }
    if (f->of) json_object_set_new(s, "items", vz_field_schema(f->of, 0));
    break;
  default: /* VZ_ANY: any JSON value */
    break;
  }
  if (type) { /* first, where a reader looks */
    json_t *t = json_pack("{ss}", "type", type);
    json_object_update(t, s);
    json_decref(s);
    s = t;
  }
  if (f->flags & VZ_NULLABLE) {
    json_t *t = json_object_get(s, "type");
    if (json_is_string(t)) json_object_set_new(s, "type", json_pack("[Os]", t, "null"));
    else if (json_is_array(t)) json_array_append_new(t, json_string("null"));
    json_t *e = json_object_get(s, "enum");
    if (e) json_array_append_new(e, json_null());
  }
  return s;
}

json_t *vz_fields_schema(const vz_field *fs) {
  json_t *props = json_object(), *req = json_array();
  for (const vz_field *f = fs; f && f->name; f++) {
    json_object_set_new(props, f->name, vz_field_schema(f, 0));
    if (f->flags & VZ_REQUIRED) json_array_append_new(req, json_string(f->name));
  }
  json_t *s = json_pack("{ss}", "type", "object");
  if (json_array_size(req)) json_object_set_new(s, "required", req);
  else json_decref(req);
  json_object_set_new(s, "properties", props);
  json_object_set_new(s, "additionalProperties", json_false());
  return s;
}

const char *vz_res_schema_name(const char *res, char *buf, size_t cap) {
  if (!res || !*res || !strcmp(res, "-")) return NULL;
  if (*res == '=') res++;
  snprintf(buf, cap, "%s", res);
  size_t n = strlen(buf);
  if (n > 2 && !strcmp(buf + n - 2, "[]")) buf[n - 2] = 0;
  return buf;
}

static json_t *ref(const char *kind, const char *name) {
  json_t *o = json_object();
  json_object_set_new(o, "$ref", json_sprintf("#/components/%s/%s", kind, name));
  return o;
}

static json_t *schema_ref(const char *name) { return ref("schemas", name); }

/* The success body of a res string, NULL for none. */
static json_t *res_body_schema(const char *res) {
  char name[96];
  if (!vz_res_schema_name(res, name, sizeof name)) return NULL;
  if (*res == '=') return schema_ref(name);
  size_t n = strlen(res);
  if (n > 2 && !strcmp(res + n - 2, "[]"))
    return json_pack("{ss, s[ss], so, s{s{ss, so}, s{s[ss], ss}}}", "type", "object", "required", "data", "next_cursor",
                     "additionalProperties", json_false(), "properties", "data", "type", "array", "items", schema_ref(name),
                     "next_cursor", "type", "string", "null", "description",
                     "the cursor of the next page, null on the last");
  return json_pack("{ss, s[s], so, s{so}}", "type", "object", "required", "data", "additionalProperties", json_false(),
                   "properties", "data", schema_ref(name));
}

/* OpenAPI's "/v1/users/{id}" for the router's "/v1/users/:id"; names into params. */
static char *oapi_path(const char *path, json_t *names) {
  size_t cap = strlen(path) * 2 + 1, o = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  for (const char *p = path; *p;) {
    if (*p == ':') {
      size_t n = strcspn(p + 1, "/");
      json_array_append_new(names, json_stringn(p + 1, n));
      o += (size_t)snprintf(out + o, cap - o, "{%.*s}", (int)n, p + 1);
      p += n + 1;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
  return out;
}

static int is_id_name(const char *n) {
  size_t l = strlen(n);
  return !strcmp(n, "id") || (l > 3 && !strcmp(n + l - 3, "_id"));
}

static json_t *path_param(const vz_route *r, const char *name) {
  json_t *schema = NULL;
  for (const vz_field *f = r->params; f && f->name; f++)
    if (!strcmp(f->name, name)) schema = vz_field_schema(f, 1);
  if (!schema) schema = is_id_name(name) ? json_pack("{ss, ss}", "type", "string", "pattern", "^[0-9]{1,19}$")
                                         : json_pack("{ss}", "type", "string");
  return json_pack("{ss, ss, sb, so}", "name", name, "in", "path", "required", 1, "schema", schema);
}

static int wants_json_body(const vz_route *r) {
  if (r->flags & VZ_RAW_BODY) return 0;
  return r->body || !strcmp(r->method, "POST") || !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH");
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 302: return "Found: go to Location";
  case 304: return "Not modified (If-None-Match matched the ETag)";
  case 400: return "Bad request: the error names the field";
  case 401: return "Not signed in, the token is invalid or expired, or the credentials are wrong";
  case 402: return "Payment required";
  case 403: return "Forbidden: the role this needs is missing, or the caller may not do this here";
  case 404: return "No such object (or not yours)";
  case 405: return "Method not allowed";
  case 409: return "Conflict with the current state";
  case 410: return "Gone";
  case 412: return "Precondition failed";
  case 413: return "Body too large";
  case 415: return "The body must be Content-Type: application/json";
  case 422: return "Unprocessable (an Idempotency-Key reused for another request)";
  case 423: return "Locked";
  case 429: return "Too many requests: retry after Retry-After seconds";
  case 500: return "Internal error";
  case 502: return "An upstream service failed";
  case 503: return "Busy or unavailable: retry after Retry-After seconds";
  case 504: return "An upstream service timed out";
  default: return "See the error code";
  }
}

/* The error statuses of a row: derived from what the core does before the handler, then
 * the row's own. Sorted, each once. */
static void error_statuses(const vz_route *r, int out[32], int *n) {
  int seen[600] = { 0 };
  *n = 0;
#define ADD(s_) do { if ((s_) >= 400 && (s_) < 600 && !seen[(s_)]) { seen[(s_)] = 1; } } while (0)
  if (!(r->flags & (VZ_ASYNC | VZ_PREFIX))) ADD(400); /* query and body validation */
  if (r->flags & (VZ_AUTH | VZ_ROLE_FLAGS)) ADD(401);
  if (r->flags & VZ_ROLE_FLAGS) ADD(403);
  if (strchr(r->path, ':')) ADD(404);
  if (wants_json_body(r)) ADD(415);
  if (wants_json_body(r) || (r->flags & VZ_RAW_BODY)) ADD(413); /* the body limit */
  if (r->flags & VZ_IDEMPOTENT) ADD(422);
  if (r->rate_per_min) ADD(429);
  if (vz_route_on_pool(r)) {
    ADD(500); /* a database error that is neither busy nor a constraint (vz_fail_db) */
    ADD(503); /* database busy or unavailable */
  }
  for (const char *e = r->errors; e && *e;) {
    char *end;
    long s = strtol(e, &end, 10);
    if (end == e) break;
    ADD((int)s);
    e = end;
  }
#undef ADD
  for (int s = 400; s < 600 && *n < 32; s++)
    if (seen[s]) out[(*n)++] = s;
}

static json_t *op_of(const vz_route *r, const char *what, json_t *problems) {
  json_t *op = json_object();
  if (!r->op || !*r->op) vz_contract_problem(problems, what, "no .op (operationId)");
  if (!r->summary || !*r->summary) vz_contract_problem(problems, what, "no .summary");
  if (!r->res) vz_contract_problem(problems, what, "no .res (the success body: \"Name\", \"Name[]\", \"=Name\" or \"-\")");
  json_object_set_new(op, "operationId", json_string(r->op ? r->op : ""));
  json_object_set_new(op, "summary", json_string(r->summary ? r->summary : ""));
  if (r->desc) json_object_set_new(op, "description", json_string(r->desc));
  json_object_set_new(op, "tags", json_pack("[s]", r->tag ? r->tag : "core"));
  if (r->flags & (VZ_AUTH | VZ_ROLE_FLAGS)) {
    json_object_set_new(op, "security", json_pack("[{s[]}]", "bearer"));
    if (r->flags & VZ_ROLE_FLAGS) {
      json_t *roles = json_array();
      if (r->flags & VZ_ROLE_SELLER) json_array_append_new(roles, json_string("seller"));
      if (r->flags & VZ_ROLE_MODERATOR) json_array_append_new(roles, json_string("moderator"));
      json_array_append_new(roles, json_string("admin"));
      json_object_set_new(op, "x-roles", roles);
    }
  } else {
    json_object_set_new(op, "security", json_array()); /* public, said explicitly */
  }
  if (r->rate_per_min)
    json_object_set_new(op, "x-rate-limit", json_pack("{si, ss}", "per_minute", r->rate_per_min, "per",
                                                       (r->flags & VZ_RATE_USER) ? "user" : "ip"));
  if (r->flags & VZ_AUDIT) json_object_set_new(op, "x-audited", json_true());

  json_t *params = json_array(), *names = json_array();
  char *p = oapi_path(r->path, names);
  free(p);
  size_t i;
  json_t *nm;
  json_array_foreach(names, i, nm) json_array_append_new(params, path_param(r, json_string_value(nm)));
  json_decref(names);
  for (const vz_field *f = r->query; f && f->name; f++) {
    json_t *q = json_pack("{ss, ss, so}", "name", f->name, "in", "query", "schema", vz_field_schema(f, 1));
    if (f->flags & VZ_REQUIRED) json_object_set_new(q, "required", json_true());
    json_array_append_new(params, q);
  }
  size_t rl = r->res ? strlen(r->res) : 0;
  int is_page = rl > 2 && !strcmp(r->res + rl - 2, "[]");
  if (is_page) {
    json_array_append_new(params, ref("parameters", "Limit"));
    json_array_append_new(params, ref("parameters", "Cursor"));
  }
  if (r->res && *r->res != '=' && strcmp(r->res, "-") && !strcmp(r->method, "GET"))
    json_array_append_new(params, ref("parameters", "Fields"));
  if (r->flags & VZ_IDEMPOTENT) json_array_append_new(params, ref("parameters", "IdempotencyKey"));
  if (json_array_size(params)) json_object_set_new(op, "parameters", params);
  else json_decref(params);

  if (r->body) {
    int required = 0;
    for (const vz_field *f = r->body; f->name; f++) required |= f->flags & VZ_REQUIRED;
    json_object_set_new(op, "requestBody", json_pack("{sb, s{s{so}}}", "required", required, "content", "application/json",
                                                     "schema", vz_fields_schema(r->body)));
  } else if (r->flags & VZ_RAW_BODY) {
    json_object_set_new(op, "requestBody",
                        json_pack("{sb, s{s{s{ss, ss}}}}", "required", 1, "content", "application/octet-stream", "schema",
                                  "type", "string", "contentMediaType", "application/octet-stream"));
  }

  json_t *responses = json_object();
  int ok = r->ok ? r->ok : (r->res && !strcmp(r->res, "-")) ? 204 : 200;
  json_t *okr = json_pack("{ss, s{s{ss}}}", "description", reason(ok), "headers", "X-Request-Id", "$ref",
                          "#/components/headers/RequestId");
  /* headers the core adds to some successes */
  json_t *okh = json_object_get(okr, "headers");
  if (r->flags & VZ_IDEMPOTENT)
    json_object_set_new(okh, "Idempotent-Replayed",
                        json_pack("{ss, s{ss}}", "description", "true when this is the stored answer to an earlier request "
                                  "with the same Idempotency-Key", "schema", "const", "true"));
  if (r->cache_ms)
    json_object_set_new(okh, "X-Cache", json_pack("{ss, s{ss}}", "description", "hit when answered from the response "
                                                  "cache (anonymous GETs, at most a few seconds old)", "schema", "const", "hit"));
  json_t *body = res_body_schema(r->res);
  if (body) {
    if (r->res_type && strncmp(r->res_type, "application/json", 16)) {
      json_decref(body);
      char name[96];
      body = schema_ref(vz_res_schema_name(r->res, name, sizeof name));
    }
    json_object_set_new(okr, "content", json_pack("{s{so}}", r->res_type ? r->res_type : "application/json", "schema", body));
  }
  char code[8];
  snprintf(code, sizeof code, "%d", ok);
  /* other successes the row names (a 200 beside a 201, a 304): the same body, or none */
  for (const char *e = r->errors; e && *e;) {
    char *end;
    long st = strtol(e, &end, 10);
    if (end == e) break;
    e = end;
    if (st < 200 || st >= 400 || st == ok) continue;
    json_t *alt = json_deep_copy(okr);
    json_object_set_new(alt, "description", json_string(reason((int)st)));
    if (st == 204 || st == 304) json_object_del(alt, "content");
    char c2[8];
    snprintf(c2, sizeof c2, "%ld", st);
    json_object_set_new(responses, c2, alt);
  }
  json_object_set_new(responses, code, okr);
  int errs[32], nerr;
  error_statuses(r, errs, &nerr);
  for (int k = 0; k < nerr; k++) {
    snprintf(code, sizeof code, "%d", errs[k]);
    const char *name = errs[k] == 401 ? "Unauthorized" : errs[k] == 429 ? "TooManyRequests" : errs[k] == 503 ? "RetryLater" : "Error";
    json_t *e = json_pack("{ss}", "$ref", "");
    json_object_set_new(e, "$ref", json_sprintf("#/components/responses/%s", name));
    json_object_set_new(e, "description", json_string(reason(errs[k])));
    json_object_set_new(responses, code, e);
  }
  json_object_set_new(op, "responses", responses);
  return op;
}

/* The parts every operation shares: errors, headers, parameters, security. Written as
 * JSON text: the common-parameter bounds are router.c's common_query. */
static const char common_components[] =
    "{\"securitySchemes\": {\"bearer\": {\"type\": \"http\", \"scheme\": \"bearer\", \"bearerFormat\": \"JWT\","
    "   \"description\": \"The access token from sign-in (Authorization: Bearer <token>)\"}},"
    " \"headers\": {"
    "  \"RequestId\": {\"description\": \"The request's id (the client's X-Request-Id when it sent a valid one); quote it when"
    " reporting a problem\", \"required\": true, \"schema\": {\"type\": \"string\", \"pattern\": \"^[A-Za-z0-9._-]{1,64}$\"}},"
    "  \"RetryAfter\": {\"description\": \"Seconds to wait before retrying\", \"required\": true,"
    "   \"schema\": {\"type\": \"string\", \"pattern\": \"^[0-9]+$\"}},"
    "  \"WwwAuthenticate\": {\"description\": \"Bearer, with error=\\\"invalid_token\\\" when a token was sent and refused;"
    " on the routes that need a token (a refused sign-in has none)\", \"schema\": {\"type\": \"string\", \"pattern\": \"^Bearer\"}},"
    "  \"RetryAfterKnown\": {\"description\": \"Seconds to wait before retrying, when the limit knows\","
    "   \"schema\": {\"type\": \"string\", \"pattern\": \"^[0-9]+$\"}}},"
    " \"parameters\": {"
    "  \"Limit\": {\"name\": \"limit\", \"in\": \"query\", \"description\": \"Page size\","
    "   \"schema\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100, \"default\": 20}},"
    "  \"Cursor\": {\"name\": \"cursor\", \"in\": \"query\", \"description\": \"next_cursor of the previous page (opaque)\","
    "   \"schema\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 512}},"
    "  \"Fields\": {\"name\": \"fields\", \"in\": \"query\", \"description\": \"Comma-separated names: the answer keeps only these\","
    "   \"schema\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 512}},"
    "  \"IdempotencyKey\": {\"name\": \"Idempotency-Key\", \"in\": \"header\", \"description\": \"Retry-safe key, per user and"
    " route, kept 24 h: the same request again gets the first answer (with Idempotent-Replayed: true); another request"
    " under the key is a 422\", \"schema\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 255, \"pattern\": \"^[ -~]+$\"}}},"
    " \"responses\": {"
    "  \"Error\": {\"description\": \"An error\", \"headers\": {\"X-Request-Id\": {\"$ref\": \"#/components/headers/RequestId\"}},"
    "   \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/Error\"}}}},"
    "  \"Unauthorized\": {\"description\": \"Not signed in\", \"headers\": {\"X-Request-Id\": {\"$ref\": \"#/components/headers/RequestId\"},"
    "   \"WWW-Authenticate\": {\"$ref\": \"#/components/headers/WwwAuthenticate\"}},"
    "   \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/Error\"}}}},"
    "  \"TooManyRequests\": {\"description\": \"Too many requests\", \"headers\": {\"X-Request-Id\": {\"$ref\": \"#/components/headers/RequestId\"},"
    "   \"Retry-After\": {\"$ref\": \"#/components/headers/RetryAfterKnown\"}},"
    "   \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/Error\"}}}},"
    "  \"RetryLater\": {\"description\": \"Retry later\", \"headers\": {\"X-Request-Id\": {\"$ref\": \"#/components/headers/RequestId\"},"
    "   \"Retry-After\": {\"$ref\": \"#/components/headers/RetryAfter\"}},"
    "   \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/Error\"}}}}}}";

static json_t *components(json_t *schemas) {
  json_t *c = json_loads(common_components, 0, NULL);
  if (!c) abort(); /* a constant: broken only by an edit, which the first run shows */
  json_object_set_new(c, "schemas", schemas);
  return c;
}

static void check_refs(const json_t *v, const json_t *schemas, const char *what, json_t *problems) {
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      if (!strcmp(k, "$ref") && json_is_string(x) && !strncmp(json_string_value(x), "#/components/schemas/", 21) &&
          !json_object_get(schemas, json_string_value(x) + 21))
        vz_contract_problem(problems, what, "no component schema %s (add it to a schemas.json)", json_string_value(x) + 21);
      check_refs(x, schemas, what, problems);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) check_refs(x, schemas, what, problems);
  }
}

void vz_contract_check_refs(const json_t *v, const json_t *schemas, const char *what, json_t *problems) {
  check_refs(v, schemas, what, problems);
}

static void collect_refs(const json_t *v, const json_t *schemas, json_t *used) {
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      if (!strcmp(k, "$ref") && json_is_string(x) && !strncmp(json_string_value(x), "#/components/schemas/", 21)) {
        const char *name = json_string_value(x) + 21;
        json_t *s = json_object_get(schemas, name);
        if (s && !json_object_get(used, name)) {
          json_object_set(used, name, s);
          collect_refs(s, schemas, used);
        }
      }
      collect_refs(x, schemas, used);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) collect_refs(x, schemas, used);
  }
}

json_t *vz_contract_used_schemas(const json_t *v, const json_t *schemas) {
  json_t *used = json_object(), *sorted = json_object();
  collect_refs(v, schemas, used);
  /* in the files' order, not the order of discovery: a new route does not reshuffle */
  const char *k;
  json_t *x;
  json_object_foreach((json_t *)schemas, k, x)
    if (json_object_get(used, k)) json_object_set(sorted, k, x);
  json_decref(used);
  return sorted;
}

/* A tag's description: the owning service's about line. */
static const char *tag_about(const vz_service *const *list, const char *tag) {
  if (!strcmp(tag, "ops")) return "Probes and metrics for operators and load balancers";
  /* hooks the deployment's own parts call (nginx-rtmp): documented and checked like the
   * rest, but no app calls them */
  if (!strcmp(tag, "internal")) return "Hooks for VidZo's own infrastructure (nginx-rtmp callbacks), not for apps";
  for (const vz_service *const *s = list; s && *s; s++)
    if (!strcmp((*s)->name, tag)) return (*s)->about;
  return NULL;
}

json_t *vz_openapi(const vz_service *const *list, json_t *problems) {
  char err[256];
  json_t *schemas = vz_contract_schemas(err, sizeof err);
  if (!schemas) {
    vz_contract_problem(problems, "schemas.json", "%s", err);
    return NULL;
  }
  json_t *paths = json_object(), *ops = json_object(), *tags = json_array(), *tagset = json_object();
  for (int i = 0; i < vz_route_count(); i++) {
    const vz_route *r = vz_route_at(i);
    if (r->flags & (VZ_UNLISTED | VZ_PREFIX) || !strcmp(r->method, "*")) continue;
    char what[200];
    snprintf(what, sizeof what, "route %s %s", r->method, r->path);
    json_t *names = json_array();
    char *p = oapi_path(r->path, names);
    json_decref(names);
    if (!p) continue;
    json_t *item = json_object_get(paths, p);
    if (!item) json_object_set_new(paths, p, item = json_object());
    free(p);
    char method[16];
    snprintf(method, sizeof method, "%s", r->method);
    for (char *c = method; *c; c++) *c = (char)(*c | 0x20);
    json_t *op = op_of(r, what, problems);
    check_refs(op, schemas, what, problems);
    if (r->op && json_object_get(ops, r->op))
      vz_contract_problem(problems, what, "op %s is also %s", r->op, json_string_value(json_object_get(ops, r->op)));
    else if (r->op)
      json_object_set_new(ops, r->op, json_string(what + 6));
    json_object_set_new(item, method, op);
    const char *tag = r->tag ? r->tag : "core";
    if (!json_object_get(tagset, tag)) {
      json_object_set_new(tagset, tag, json_true());
      const char *about = tag_about(list, tag);
      if (!about) vz_contract_problem(problems, what, "service %s has no .about (its tag's description)", tag);
      json_array_append_new(tags, json_pack("{ss, ss}", "name", tag, "description", about ? about : ""));
    }
  }
  check_refs(schemas, schemas, "schemas.json", problems);
  /* the error envelope is named by the shared responses; the rest only when used */
  json_t *all = schemas;
  json_t *usedby = json_pack("{sO, s{ss}}", "paths", paths, "e", "$ref", "#/components/schemas/Error");
  schemas = vz_contract_used_schemas(usedby, all);
  json_decref(usedby);
  json_decref(all);
  json_decref(ops);
  json_decref(tagset);
  json_t *doc = json_pack(
      "{ss, s{ss, ss, ss, s{ss, ss}}, s[{ss, ss}], so, so, so}", "openapi", "3.1.0", "info", "title", "VidZo API",
      "version", VZ_API_VERSION, "description",
      "Live streaming and live shopping. Generated from the route tables by `vidzo openapi`: do not edit.\n\n"
      "Errors have one shape, `{\"error\": {\"code\", \"message\", \"field\"}}`; ids are decimal strings; times are "
      "RFC 3339 UTC; lists are cursor pages (`limit`, `cursor`, `next_cursor`) and GETs take `fields=` to trim "
      "the answer. Socket.IO events are in docs/asyncapi.yaml.",
      "license", "name", "Proprietary", "identifier", "LicenseRef-VidZo",
      "servers", "url", "/", "description", "the server that serves this document",
      "tags", tags, "paths", paths, "components", components(schemas));
  return doc;
}

/* Prose is not the contract: summaries and descriptions (string values; a property
 * named "description" has an object schema and stays) may be reworded without a new
 * version. */
static void drop_prose(json_t *v) {
  if (json_is_object(v)) {
    json_t *s;
    if ((s = json_object_get(v, "summary")) && json_is_string(s)) json_object_del(v, "summary");
    if ((s = json_object_get(v, "description")) && json_is_string(s)) json_object_del(v, "description");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) drop_prose(x);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) drop_prose(x);
  }
}

void vz_contract_fingerprint(const json_t *doc, char out[13]) {
  json_t *copy = json_deep_copy(doc);
  json_t *info = json_object_get(copy, "info");
  if (info) json_object_del(info, "version");
  drop_prose(copy);
  char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
  unsigned char h[32];
  crypto_generichash(h, sizeof h, (const unsigned char *)(text ? text : ""), text ? strlen(text) : 0, NULL, 0);
  sodium_bin2hex(out, 13, h, 6);
  free(text);
  json_decref(copy);
}

/* ---- serving ----------------------------------------------------------------------- */
/* The document is built once, on the first request (the tables are fixed by then), on
 * the worker pool: some milliseconds of work that must not stall an io loop. */
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;
static char *doc_text;

static void doc_build(void) {
  json_t *problems = json_array();
  json_t *doc = vz_openapi(vz_services_current(), problems);
  if (doc) doc_text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  json_decref(problems); /* the test run reports them (vidzo openapi); serving says what it has */
}

static int openapi_json(vz_req *req) {
  pthread_once(&doc_once, doc_build);
  if (!doc_text) return vz_fail(req, 503, "unavailable", NULL, "the contract could not be built");
  vz_add_header(req, "Cache-Control", "no-cache");
  return vz_reply_bytes(req, 200, "application/json", doc_text, strlen(doc_text));
}

/* The Redoc bundle (npm redoc, pinned in the Makefile) is linked in by build/<flavor>/gen/
 * redoc.o; builds without it (the fuzzers) answer 503. Weak: absent means NULL. */
extern const char vz_redoc_js[] __attribute__((weak));
extern const char vz_redoc_js_end[] __attribute__((weak));

static int reference_page(vz_req *req) {
  static const char html[] =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>VidZo API reference</title>\n</head>\n<body>\n"
      "<redoc spec-url=\"/v1/openapi.json\"></redoc>\n"
      "<script src=\"/docs/redoc.standalone.js\"></script>\n</body>\n</html>\n";
  vz_add_header(req, "Cache-Control", "no-cache");
  return vz_reply_bytes(req, 200, "text/html; charset=utf-8", html, sizeof html - 1);
}

static int reference_js(vz_req *req) {
  const char *b = vz_redoc_js, *e = vz_redoc_js_end;
  if (!b || !e || e <= b) return vz_fail(req, 503, "unavailable", NULL, "this build has no reference bundle");
  vz_add_header(req, "Cache-Control", "public, max-age=86400");
  return vz_reply_bytes(req, 200, "text/javascript; charset=utf-8", b, (size_t)(e - b));
}

static vz_route contract_routes[] = {
  VZ_GET("/v1/openapi.json", openapi_json, .op = "getOpenApi", .summary = "This contract, as OpenAPI 3.1 JSON",
         .res = "=OpenApiDocument", .tag = "ops", .flags = VZ_NO_LOG),
  /* the human-readable reference: a page, not an API (under /docs only) */
  VZ_GET("/docs", reference_page, .flags = VZ_ON_LOOP | VZ_NO_LOG | VZ_UNLISTED),
  VZ_GET("/docs/", reference_page, .flags = VZ_ON_LOOP | VZ_NO_LOG | VZ_UNLISTED),
  VZ_GET("/docs/redoc.standalone.js", reference_js, .flags = VZ_ON_LOOP | VZ_NO_LOG | VZ_UNLISTED),
  { 0 },
};

int vz_contract_routes_add(void) { return vz_routes_add(contract_routes); }
