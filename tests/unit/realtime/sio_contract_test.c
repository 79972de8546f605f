/* The AsyncAPI document of declared socket events (realtime/sio_contract.c): a client
 * event is a receive operation whose payload is its declared input and whose reply is
 * the ack envelope; a SIO_EMITTED row is a send operation with its payload schema and
 * room; a row without its contract fields is named in the problems. */
#include <stdlib.h>

#include "../test.h"
#include "realtime/sio_contract.h"
#include "realtime/sio_events.h"

static int h_ok(vz_req *r) { (void)r; return 200; }

TEST(sio_contract_describes_client_events_acks_and_server_emits) {
  static const vz_field in[] = { { "text", VZ_STR, VZ_REQUIRED, 1, 100, 0 }, { 0 } };
  static sio_event events[] = {
    { .nsp = "/t", .event = "say", .handler = h_ok, .in = in, .flags = VZ_AUTH | VZ_ROLE_SELLER, .rate_per_min = 30,
      .op = "say", .summary = "Say something", .res = "Error" },
    { .nsp = "/t", .event = "said", .flags = SIO_EMITTED, .op = "onSaid", .summary = "Someone said something",
      .res = "Error", .room = "t:{id}" },
    { .nsp = "/t", .event = "bare", .handler = h_ok },
    { 0 } };
  const vz_service svc = { .name = "t", .events = events };
  const vz_service *const list[] = { &svc, NULL };
  json_t *problems = json_array();
  json_t *doc = sio_asyncapi(list, problems);
  CHECK(doc != NULL);
  char *p = json_dumps(problems, 0);
  CHECK(strstr(p, "socket event /t bare: no .op"));
  CHECK(strstr(p, "socket event /t bare: no .res"));
  CHECK(!strstr(p, "say:") && !strstr(p, "said:"));
  free(p);
  json_t *ops = json_object_get(doc, "operations");
  json_t *say = json_object_get(ops, "say"), *said = json_object_get(ops, "onSaid");
  CHECK_EQ_STR(json_string_value(json_object_get(say, "action")), "receive");
  CHECK(json_object_get(say, "reply") != NULL);
  CHECK_EQ_INT((int)json_array_size(json_object_get(json_object_get(say, "x-vidzo"), "roles")), 2);
  CHECK_EQ_STR(json_string_value(json_object_get(said, "action")), "send");
  CHECK(json_object_get(said, "reply") == NULL);
  json_t *msgs = json_object_get(json_object_get(json_object_get(doc, "channels"), "t"), "messages");
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(msgs, "said"), "x-room")), "t:{id}");
  json_t *payload = json_object_get(json_object_get(msgs, "say"), "payload");
  CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(payload, "required"), 0)), "text");
  json_t *ack = json_object_get(json_object_get(msgs, "say_ack"), "payload");
  CHECK_EQ_INT((int)json_integer_value(json_object_get(ack, "maxItems")), 1);
  CHECK(json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "Error") != NULL);
  json_decref(doc);
  json_decref(problems);
}
