/* contract: the API contract generated from the route rows (issue 21). `vidzo openapi`
 * prints it, GET /v1/openapi.json serves it, docs/openapi.yaml is a copy the test run
 * compares with the binary's output. Operations come from the registered vz_route rows
 * (their contract fields, flags, declared input); response bodies are component schemas
 * kept in schemas.json files (src/core/schemas.json for the shared ones, a service's own
 * in src/services/<name>/schemas.json), compiled into the binary. The socket events'
 * AsyncAPI document is realtime/sio_contract.h. See docs/internals/contract.md. */
#ifndef VZ_CONTRACT_H
#define VZ_CONTRACT_H
#include <jansson.h>

#include "core/http.h"

/* The contract's version (info.version of both documents). It follows the API: the test
 * run fails when the generated contract's fingerprint is not VZ_API_FINGERPRINT, and says
 * what to bump: the minor for additions, the major for anything a client may rely on
 * that changed or went away. Then set the fingerprint it prints. */
#define VZ_API_VERSION "1.7.0"
#define VZ_API_FINGERPRINT "50370b346e23"

/* The schemas.json files, embedded at build time (scripts/embed-schemas.sh). */
typedef struct vz_schema_file { const char *path, *json; } vz_schema_file;
extern const vz_schema_file vz_schema_files[];

/* Every component schema, merged from the files; NULL with err on bad JSON or a name
 * defined twice. New reference. */
json_t *vz_contract_schemas(char *err, size_t errlen);
/* One declared field as JSON Schema, saying exactly what the validator (router.c)
 * enforces; in_query: the query-string form (every value a string on the wire). */
json_t *vz_field_schema(const vz_field *f, int in_query);
/* A field table as an object schema (required, additionalProperties: false). */
json_t *vz_fields_schema(const vz_field *fs);
/* The component schema a res string names ("Faq", "Faq[]", "=Faq"), NULL for "-". */
const char *vz_res_schema_name(const char *res, char *buf, size_t cap);
/* Appends "<what>: <problem>" to problems (a JSON array). */
void vz_contract_problem(json_t *problems, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The schemas that v refers to, directly or through other schemas (a new object): a
 * document carries only what it uses. */
json_t *vz_contract_used_schemas(const json_t *v, const json_t *schemas);
/* Checks every $ref "#/components/schemas/X" under v names a schema in schemas. */
void vz_contract_check_refs(const json_t *v, const json_t *schemas, const char *what, json_t *problems);

/* The OpenAPI 3.1 document of the registered routes (VZ_UNLISTED and VZ_PREFIX rows
 * left out). Problems (a row without op, summary or res; an op used twice; a schema
 * that does not exist) are appended to `problems`: the document is still whole, so a
 * diff shows the rest. New reference, NULL on a schemas.json error (in problems). */
struct vz_service;
json_t *vz_openapi(const struct vz_service *const *list, json_t *problems);
/* Fingerprint of a document without info.version and without its prose (summaries and
 * descriptions): 12 hex characters. */
void vz_contract_fingerprint(const json_t *doc, char out[13]);
/* Serves GET /v1/openapi.json and the /docs reference page (registered by ops). */
int vz_contract_routes_add(void);
#endif
