/* Invariant: Socket.IO v5 packets decode to the fields the reference parser gives,
 * encode back to the same text, and every malformed packet (type, attachments,
 * namespace, ack id overflow, JSON, payload shape, placeholders) is refused. */
#include <stdlib.h>

#include "realtime/sio_codec.h"
#include "../test.h"

TEST(sio_decode_fields) {
  sio_packet p;
  const char *s = "2/admin,13[\"chat\",{\"a\":1}]";
  CHECK_EQ_INT(sio_packet_decode(s, strlen(s), &p), 0);
  CHECK_EQ_INT(p.type, SIO_EVENT);
  CHECK_EQ_STR(p.nsp, "/admin");
  CHECK_EQ_INT(p.ack_id, 13);
  CHECK_EQ_STR(json_string_value(json_array_get(p.data, 0)), "chat");
  sio_packet_clear(&p);
  s = "0";
  CHECK_EQ_INT(sio_packet_decode(s, 1, &p), 0);
  CHECK_EQ_STR(p.nsp, "/");
  CHECK(p.data == NULL);
  s = "0/chat,{\"token\":\"t\"}";
  CHECK_EQ_INT(sio_packet_decode(s, strlen(s), &p), 0);
  CHECK_EQ_STR(p.nsp, "/chat");
  CHECK_EQ_STR(json_string_value(json_object_get(p.data, "token")), "t");
  sio_packet_clear(&p);
  s = "1/chat,";
  CHECK_EQ_INT(sio_packet_decode(s, strlen(s), &p), 0);
  CHECK_EQ_INT(p.type, SIO_DISCONNECT);
  s = "51-[\"up\",{\"_placeholder\":true,\"num\":0}]";
  CHECK_EQ_INT(sio_packet_decode(s, strlen(s), &p), 0);
  CHECK_EQ_INT(p.attachments, 1);
  CHECK_EQ_INT(sio_placeholder_num(json_array_get(p.data, 1)), 0);
  sio_packet_clear(&p);
  s = "37[\"ok\"]";
  CHECK_EQ_INT(sio_packet_decode(s, strlen(s), &p), 0);
  CHECK_EQ_INT(p.ack_id, 7);
  sio_packet_clear(&p);
}

TEST(sio_decode_refuses_malformed) {
  const char *bad[] = {
    "", "7", "x", "2", "2{}", "2[]", "2[\"connect\"]", "2[\"a\"", "3[]", "1{}", "0[]",
    "2999999999999999999[\"a\"]", "29007199254740992[\"a\"]", "5-[\"a\"]", "5x-[\"a\"]",
    "599-[\"a\"]", "52-[\"a\",{\"_placeholder\":true,\"num\":0}]",
    "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",
    "52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":0}]",
    "4[1]", "01{}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sio_packet p;
    int rc = sio_packet_decode(bad[i], strlen(bad[i]), &p);
    if (rc == 0) fprintf(stderr, "  accepted: %s\n", bad[i]);
    CHECK(rc < 0);
  }
  char nsp[300] = "2/";
  memset(nsp + 2, 'n', 200);
  memcpy(nsp + 202, ",[\"a\"]", 7);
  sio_packet p;
  CHECK(sio_packet_decode(nsp, strlen(nsp), &p) < 0);
}

TEST(sio_encode_round_trip) {
  char *buf;
  json_t *d = json_pack("[s,{s:s}]", "chat", "room", "r1");
  long n = sio_packet_encode(SIO_EVENT, "/", 5, 0, d, 1, &buf);
  CHECK(n > 0);
  CHECK_EQ_STR(buf + 1, "25[\"chat\",{\"room\":\"r1\"}]");
  free(buf);
  json_t *err = json_pack("{s:s}", "message", "Invalid namespace");
  n = sio_packet_encode(SIO_CONNECT_ERROR, "/x", -1, 0, err, 0, &buf);
  json_decref(err);
  CHECK_EQ_STR(buf, "4/x,{\"message\":\"Invalid namespace\"}");
  free(buf);
  json_array_append_new(d, sio_placeholder(0));
  n = sio_packet_encode(SIO_BINARY_EVENT, "/b", -1, 1, d, 0, &buf);
  sio_packet p;
  CHECK_EQ_INT(sio_packet_decode(buf, (size_t)n, &p), 0);
  CHECK_EQ_INT(p.attachments, 1);
  CHECK_EQ_STR(p.nsp, "/b");
  sio_packet_clear(&p);
  free(buf);
  json_decref(d);
}
