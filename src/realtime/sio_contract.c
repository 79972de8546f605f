/* sio_contract: AsyncAPI 3.0 from the services' sio_event rows (sio_contract.h). */
#include "realtime/sio_contract.h"

#include <stdio.h>
#include <string.h>

#include "core/contract.h"
#include "realtime/sio_events.h"

/* "root" for "/", else the namespace without its slash ("/test" -> "test"). */
static void channel_id(const char *nsp, char *out, size_t cap) {
  snprintf(out, cap, "%s", strcmp(nsp, "/") ? nsp + 1 : "root");
  for (char *c = out; *c; c++)
    if (*c == '/') *c = '_';
}

static json_t *ref_to(const char *fmt, const char *a, const char *b) {
  json_t *o = json_object();
  json_object_set_new(o, "$ref", json_sprintf(fmt, a, b));
  return o;
}

/* The ack: one argument, the REST envelope ({"data": ...} or {"error": ...}). */
static json_t *ack_schema(const char *res) {
  char name[96];
  json_t *err = json_pack("{s:s}", "$ref", "#/components/schemas/Error");
  json_t *ok;
  if (!vz_res_schema_name(res, name, sizeof name)) ok = json_pack("{ss, s{}, sb}", "type", "object", "properties", "additionalProperties", 0);
  else if (*res == '=') ok = ref_to("#/components/schemas/%s%s", name, "");
  else ok = json_pack("{ss, s[s], so, s{so}}", "type", "object", "required", "data", "additionalProperties", json_false(),
                      "properties", "data", ref_to("#/components/schemas/%s%s", name, ""));
  return json_pack("{ss, si, si, s{s[oo]}}", "type", "array", "minItems", 1, "maxItems", 1, "items", "oneOf", ok, err);
}

static json_t *used_only(const json_t *channels, json_t *schemas) {
  json_t *used = vz_contract_used_schemas(channels, schemas);
  json_decref(schemas);
  return used;
}

json_t *sio_asyncapi(const vz_service *const *list, json_t *problems) {
  char err[256];
  json_t *schemas = vz_contract_schemas(err, sizeof err);
  if (!schemas) {
    vz_contract_problem(problems, "schemas.json", "%s", err);
    return NULL;
  }
  json_t *channels = json_object(), *ops = json_object();
  for (const vz_service *const *s = list; *s; s++)
    for (const sio_event *e = (*s)->events; e && e->event; e++) {
      char what[160], ch[64], msg[96];
      snprintf(what, sizeof what, "socket event %s %s", e->nsp, e->event);
      if (!e->op || !*e->op) vz_contract_problem(problems, what, "no .op (operationId)");
      if (!e->summary || !*e->summary) vz_contract_problem(problems, what, "no .summary");
      if (!e->res) vz_contract_problem(problems, what, "no .res (the ack's data, or the emitted payload)");
      channel_id(e->nsp, ch, sizeof ch);
      json_t *c = json_object_get(channels, ch);
      if (!c) {
        c = json_pack("{ss, ss, s{}}", "address", e->nsp, "description", "", "messages");
        json_object_set_new(c, "description", json_sprintf("The Socket.IO namespace %s (Engine.IO at /socket.io/)", e->nsp));
        json_object_set_new(channels, ch, c);
      }
      json_t *msgs = json_object_get(c, "messages");
      int emitted = e->flags & SIO_EMITTED;
      json_t *payload;
      if (emitted) {
        char name[96];
        payload = vz_res_schema_name(e->res, name, sizeof name) ? ref_to("#/components/schemas/%s%s", name, "")
                                                                : json_pack("{ss}", "type", "object");
      } else {
        payload = e->in ? vz_fields_schema(e->in) : json_pack("{ss, sb}", "type", "object", "additionalProperties", 0);
      }
      json_t *m = json_pack("{ss, ss, so}", "name", e->event, "summary", e->summary ? e->summary : "", "payload", payload);
      if (e->desc) json_object_set_new(m, "description", json_string(e->desc));
      if (emitted && e->room) json_object_set_new(m, "x-room", json_string(e->room));
      snprintf(msg, sizeof msg, "%s", e->event);
      for (char *x = msg; *x; x++)
        if (*x == ':' || *x == '/' || *x == ' ') *x = '_';
      json_object_set_new(msgs, msg, m);
      json_t *op = json_pack("{ss, so, s[o], ss}", "action", emitted ? "send" : "receive", "channel",
                             ref_to("#/channels/%s%s", ch, ""), "messages",
                             ref_to("#/channels/%s/messages/%s", ch, msg), "summary", e->summary ? e->summary : "");
      if (!emitted) {
        char ack[110];
        snprintf(ack, sizeof ack, "%s_ack", msg);
        json_object_set_new(msgs, ack, json_pack("{ss, ss, so}", "name", "ack", "summary", "The acknowledgement", "payload",
                                                  ack_schema(e->res)));
        json_object_set_new(op, "reply", json_pack("{s o, s[o]}", "channel", ref_to("#/channels/%s%s", ch, ""), "messages",
                                                   ref_to("#/channels/%s/messages/%s", ch, ack)));
        json_t *x = json_object();
        if (e->flags & (VZ_AUTH | VZ_ROLE_FLAGS)) json_object_set_new(x, "auth", json_true());
        if (e->flags & VZ_ROLE_FLAGS) {
          json_t *roles = json_array();
          if (e->flags & VZ_ROLE_SELLER) json_array_append_new(roles, json_string("seller"));
          if (e->flags & VZ_ROLE_MODERATOR) json_array_append_new(roles, json_string("moderator"));
          json_array_append_new(roles, json_string("admin"));
          json_object_set_new(x, "roles", roles);
        }
        if (e->rate_per_min) json_object_set_new(x, "rate_per_minute", json_integer(e->rate_per_min));
        if (json_object_size(x)) json_object_set_new(op, "x-vidzo", x);
        else json_decref(x);
      }
      const char *id = e->op && *e->op ? e->op : e->event;
      if (json_object_get(ops, id)) vz_contract_problem(problems, what, "op %s is used twice", id);
      json_object_set_new(ops, id, op);
      vz_contract_check_refs(op, schemas, what, problems);
      vz_contract_check_refs(m, schemas, what, problems);
    }
  return json_pack(
      "{ss, s{ss, ss, ss}, s{s{ss, ss, ss, ss}}, ss, so, so, s{so}}", "asyncapi", "3.0.0", "info", "title",
      "VidZo realtime", "version", VZ_API_VERSION, "description",
      "Socket.IO (v4, Engine.IO 4) events, generated from the event tables by `vidzo asyncapi`: do not edit. "
      "A client event's first argument is its payload; the acknowledgement is one argument, {\"data\": ...} "
      "or the REST error envelope {\"error\": {\"code\", \"message\", \"field\"}}.",
      "servers", "local", "host", "localhost:8080", "protocol", "ws", "pathname", "/socket.io/", "description",
      "a local `make run`; authenticate with {token: <access token>} in the handshake auth",
      "defaultContentType", "application/json", "channels", channels, "operations", ops, "components", "schemas",
      used_only(channels, schemas));
}
