/* agora: our AccessToken2 builder writes exactly the AgoraIO/Tools test vectors (the
 * ones agora-token 2.0.6 ships in test/AccessToken2Test.js and RtcTokenBuilder2Test.js);
 * the decoder reads back every field and the signature verifies only with the right
 * certificate; bad inputs are refused with their code; the webhook check accepts the
 * signatures of Agora's own documentation example and refuses a changed body, a wrong
 * secret, a missing header or a truncated one; the webhook parser fills the event. */
#include <stdint.h>
#include <stdlib.h>

#include "integrations/agora.h"
#include "../test.h"

#define APP_ID "970CA35de60c44645bbae8a215061b33"
#define CERT "5CFd2fd1755d40ecb72977518be15d3b"
#define CHANNEL "7d72365eb983485397e3e3f9d460bdda"

/* AccessToken_Test: RTC service, uid 2882341273, join privilege 600, ts 1111111, salt 1.
 * Our publisher/subscriber builders add more privileges, so this vector is built with
 * the subscriber role (join only) and privilege expire = expire = 600. */
TEST(agora_rtc_token_matches_tools_vector) {
  char tok[AGORA_TOKEN_MAX];
  int n = agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = CHANNEL,
                                            .uid = 2882341273u, .role = AGORA_ROLE_SUBSCRIBER, .expire = 600,
                                            .privilege_expire = 600, .issued_at = 1111111, .salt = 1 },
                          tok, sizeof tok);
  CHECK(n > 0);
  CHECK_EQ_STR(tok, "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4y"
                    "N3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj");
  CHECK_EQ_INT(n, (int)strlen(tok));
  /* the string-account form of the same number is the same token (AccessToken_Test3) */
  char tok2[AGORA_TOKEN_MAX];
  CHECK(agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = CHANNEL,
                                          .account = "2882341273", .role = AGORA_ROLE_SUBSCRIBER, .expire = 600,
                                          .privilege_expire = 600, .issued_at = 1111111, .salt = 1 },
                        tok2, sizeof tok2) > 0);
  CHECK_EQ_STR(tok2, tok);
  /* uid 0 is "" (AccessToken_Test2) */
  CHECK(agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = CHANNEL, .uid = 0,
                                          .role = AGORA_ROLE_SUBSCRIBER, .expire = 600, .privilege_expire = 600,
                                          .issued_at = 1111111, .salt = 1 },
                        tok2, sizeof tok2) > 0);
  CHECK_EQ_STR(tok2, "007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcw"
                     "Mk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=");
}

TEST(agora_token_round_trips_through_the_decoder) {
  char tok[AGORA_TOKEN_MAX];
  int n = agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = "live 42",
                                            .account = "alice@vidzo", .role = AGORA_ROLE_PUBLISHER, .expire = 3600,
                                            .privilege_expire = 1800, .issued_at = 1764000000, .salt = 77 },
                          tok, sizeof tok);
  CHECK(n > 0);
  agora_token t;
  CHECK_EQ_INT(agora_token_parse(tok, (size_t)n, &t), 0);
  CHECK_EQ_STR(t.app_id, APP_ID);
  CHECK_EQ_INT(t.issued_at, 1764000000);
  CHECK_EQ_INT(t.expire, 3600);
  CHECK_EQ_INT(t.salt, 77);
  CHECK(t.has_rtc && !t.has_rtm);
  CHECK_EQ_STR(t.channel, "live 42");
  CHECK_EQ_STR(t.uid, "alice@vidzo");
  CHECK_EQ_INT(t.rtc_priv_set, 0x1e); /* join + publish audio, video, data */
  for (int p = 1; p <= 4; p++) CHECK_EQ_INT(t.rtc_priv[p], 1800);
  CHECK_EQ_INT(agora_token_verify(&t, CERT), 0);
  CHECK_EQ_INT(agora_token_verify(&t, "5CFd2fd1755d40ecb72977518be15d3c"), AGORA_ESIGNATURE);
  /* subscriber: join only */
  n = agora_rtc_token(&(agora_rtc_req){ .app_id = APP_ID, .app_certificate = CERT, .channel = "c", .uid = 7,
                                        .role = AGORA_ROLE_SUBSCRIBER, .expire = 60 },
                      tok, sizeof tok);
  CHECK(n > 0);
  CHECK_EQ_INT(agora_token_parse(tok, (size_t)n, &t), 0);
  CHECK_EQ_INT(t.rtc_priv_set, 0x2);
  CHECK_EQ_STR(t.uid, "7");
  CHECK(t.salt >= 1 && t.salt <= AGORA_SALT_MAX); /* random when not given */
  CHECK(t.issued_at > 1700000000);                 /* now when not given */
  /* RTM */
  n = agora_rtm_token(&(agora_rtm_req){ .app_id = APP_ID, .app_certificate = CERT, .user = "test_user",
                                        .expire = 600, .issued_at = 1111111, .salt = 1 },
                      tok, sizeof tok);
  CHECK(n > 0);
  CHECK_EQ_INT(agora_token_parse(tok, (size_t)n, &t), 0);
  CHECK(t.has_rtm && !t.has_rtc);
  CHECK_EQ_STR(t.rtm_user, "test_user");
  CHECK_EQ_INT(t.rtm_login, 600);
  CHECK_EQ_INT(agora_token_verify(&t, CERT), 0);
}

/* The two-service vector (AccessToken_Test4: RTC with four privileges + RTM) decodes
 * and verifies: the decoder walks more than one service. */
TEST(agora_decoder_reads_the_two_service_vector) {
  const char *v = "007eJxTYOAQsrQ5s3TfH+1tvy8zZZ46EpCc0V43JXdGd2jS8porKo4KDJbmBs6OxqYpqWYGySYmZiamSUmJqRaJRoamBmaGScbG7l8EGC"
                  "KYGBgYGRgYmBgYGVgYGMF8JjDJDCZZwKQCg3mKuZGxmWlqkqWFsYmFqbGleapxqnGaZYqJmUFSSkoiF4ORhYWRsYmhkbkxyCyISZwMJa"
                  "nFJfGlxalFACKnKng=";
  agora_token t;
  CHECK_EQ_INT(agora_token_parse(v, strlen(v), &t), 0);
  CHECK(t.has_rtc && t.has_rtm);
  CHECK_EQ_STR(t.uid, "2882341273");
  CHECK_EQ_STR(t.rtm_user, "test_user");
  CHECK_EQ_INT(t.rtc_priv_set, 0x1e);
  CHECK_EQ_INT(agora_token_verify(&t, CERT), 0);
}

TEST(agora_builder_refuses_bad_input) {
  char tok[AGORA_TOKEN_MAX];
  agora_rtc_req r = { .app_id = APP_ID, .app_certificate = CERT, .channel = "ok", .uid = 1,
                      .role = AGORA_ROLE_PUBLISHER, .expire = 60 };
  agora_rtc_req b = r;
  b.app_id = "970CA35de60c44645bbae8a215061b3";
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_EAPP_ID);
  b = r;
  b.app_certificate = "zzFd2fd1755d40ecb72977518be15d3b";
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_ECERTIFICATE);
  b = r;
  b.channel = "";
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_ECHANNEL);
  b.channel = "no/slash";
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_ECHANNEL);
  b.channel = "12345678901234567890123456789012345678901234567890123456789012345"; /* 65 */
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_ECHANNEL);
  b.channel = "1234567890123456789012345678901234567890123456789012345678901234"; /* 64 */
  CHECK(agora_rtc_token(&b, tok, sizeof tok) > 0);
  b = r;
  b.role = 3;
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_EROLE);
  b = r;
  b.expire = 0;
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_EEXPIRE);
  b = r;
  b.account = "tab\there";
  CHECK_EQ_INT(agora_rtc_token(&b, tok, sizeof tok), AGORA_EACCOUNT);
  CHECK_EQ_INT(agora_rtc_token(&r, tok, 20), AGORA_ENOSPACE);
  /* the longest channel and account fit AGORA_TOKEN_MAX */
  char acc[AGORA_ACCOUNT_MAX + 1];
  memset(acc, 'a', AGORA_ACCOUNT_MAX);
  acc[AGORA_ACCOUNT_MAX] = 0;
  b = r;
  b.channel = "1234567890123456789012345678901234567890123456789012345678901234";
  b.account = acc;
  CHECK(agora_rtc_token(&b, tok, sizeof tok) > 0);
  CHECK_EQ_INT(agora_rtm_token(&(agora_rtm_req){ .app_id = APP_ID, .app_certificate = CERT, .user = "", .expire = 1 },
                               tok, sizeof tok),
               AGORA_EACCOUNT);
}

TEST(agora_decoder_refuses_garbage) {
  agora_token t;
  CHECK_EQ_INT(agora_token_parse("", 0, &t), AGORA_EFORMAT);
  CHECK_EQ_INT(agora_token_parse("006abc", 6, &t), AGORA_EFORMAT);
  CHECK_EQ_INT(agora_token_parse("007!!!!", 7, &t), AGORA_EFORMAT);
  CHECK_EQ_INT(agora_token_parse("007eJw=", 7, &t), AGORA_EFORMAT); /* a truncated zlib stream */
  /* a valid token cut short anywhere is refused, never read past its end */
  char tok[AGORA_TOKEN_MAX];
  int n = agora_rtm_token(&(agora_rtm_req){ .app_id = APP_ID, .app_certificate = CERT, .user = "u", .expire = 9,
                                            .issued_at = 5, .salt = 5 },
                          tok, sizeof tok);
  CHECK(n > 8);
  for (int cut = 3; cut < n; cut += 4) CHECK_EQ_INT(agora_token_parse(tok, (size_t)cut, &t), AGORA_EFORMAT);
}

/* Agora's documentation example (Notifications, "verify the signature"). */
static const char doc_body[] = "{\"eventType\":10,\"noticeId\":\"4eb720f0-8da7-11e9-a43e-53f411c2761f\","
                               "\"notifyMs\":1560408533119,\"payload\":{\"a\":\"1\",\"b\":2},\"productId\":1}";
#define DOC_V1 "5a3bb6a6d9fad2ea9ae3fb707a14c9d7f3136df1"
#define DOC_V2 "de96da5acf03b0021ac3b4fa2225e7ae6f3533a30d50bb02c08ea4fa748bda24"

TEST(agora_webhook_signatures_as_agora_documents) {
  size_t n = strlen(doc_body);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, DOC_V1, DOC_V2), 0);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, NULL, DOC_V2), 0);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, DOC_V1, NULL), 0);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, "5A3BB6A6D9FAD2EA9AE3FB707A14C9D7F3136DF1", NULL), 0);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, NULL, NULL), AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("secreT", doc_body, n, DOC_V1, DOC_V2), AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n - 1, DOC_V1, DOC_V2), AGORA_ESIGNATURE);
  /* one good and one bad header: refused (both are Agora's, both must hold) */
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, "5a3bb6a6d9fad2ea9ae3fb707a14c9d7f3136df0", DOC_V2),
               AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, DOC_V1, "de96"), AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, DOC_V2, NULL), AGORA_ESIGNATURE); /* swapped */
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, "", NULL), AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("secret", doc_body, n, "zz3bb6a6d9fad2ea9ae3fb707a14c9d7f3136df1", NULL),
               AGORA_ESIGNATURE);
  CHECK_EQ_INT(agora_webhook_verify("", doc_body, n, DOC_V1, DOC_V2), AGORA_EDISABLED);
}

TEST(agora_webhook_parse_fills_the_event) {
  const char *b = "{\"noticeId\":\"2000001428:4330:107\",\"productId\":1,\"eventType\":103,\"notifyMs\":1611566412672,"
                  "\"sid\":\"C866467GVJJ54687\",\"payload\":{\"channelName\":\"vz-s-42\",\"uid\":12121212,"
                  "\"platform\":1,\"clientSeq\":1625051030746,\"ts\":1560396843}}";
  agora_event ev;
  CHECK_EQ_INT(agora_webhook_parse(b, strlen(b), &ev), 0);
  CHECK_EQ_STR(ev.notice_id, "2000001428:4330:107");
  CHECK_EQ_INT(ev.product_id, 1);
  CHECK_EQ_INT(ev.event_type, AGORA_EV_BROADCASTER_JOIN);
  CHECK_EQ_INT(ev.notify_ms, 1611566412672LL);
  CHECK_EQ_STR(ev.channel, "vz-s-42");
  CHECK_EQ_INT(ev.uid, 12121212);
  CHECK_EQ_INT(ev.client_seq, 1625051030746LL);
  CHECK_EQ_INT(ev.ts, 1560396843);
  CHECK_EQ_INT(ev.platform, 1);
  const char *bad[] = {
    "", "[]", "{\"productId\":1,\"eventType\":103}",
    "{\"noticeId\":\"x\",\"productId\":1,\"eventType\":103,\"payload\":{}}",            /* no channel */
    "{\"noticeId\":\"x\",\"productId\":\"1\",\"eventType\":103}",                       /* string product */
    "{\"noticeId\":\"x\",\"productId\":1,\"eventType\":103,\"payload\":{\"channelName\":\"c\",\"uid\":-1}}",
    "{\"noticeId\":\"x\",\"productId\":1,\"eventType\":103,\"payload\":{\"channelName\":\"c\",\"uid\":\"1\"}}",
    "{\"noticeId\":\"x\",\"productId\":1,\"eventType\":102,\"payload\":[]}",
    "{\"noticeId\":\"x\",\"noticeId\":\"y\",\"productId\":1,\"eventType\":101,\"payload\":{\"channelName\":\"c\"}}",
    NULL,
  };
  for (int i = 0; bad[i]; i++) CHECK_EQ_INT(agora_webhook_parse(bad[i], strlen(bad[i]), &ev), AGORA_EFORMAT);
  /* other products' events parse without a channel */
  const char *other = "{\"noticeId\":\"x\",\"productId\":3,\"eventType\":40,\"payload\":{}}";
  CHECK_EQ_INT(agora_webhook_parse(other, strlen(other), &ev), 0);
}

TEST(agora_cli_refuses_bad_usage) {
  char *a1[] = { "rtc-token", "--app-id", APP_ID, "--app-certificate", CERT, "--channel", "c", "--uid", "1",
                 "--role", "host", "--expire", "60", NULL };
  CHECK_EQ_INT(agora_cli(13, a1), 2);
  char *a2[] = { "rtc-token", "--app-id", APP_ID, "--app-certificate", CERT, "--channel", "c", "--uid", "-1",
                 "--role", "publisher", "--expire", "60", NULL };
  CHECK_EQ_INT(agora_cli(13, a2), 2);
  char *a3[] = { "rtc-token", "--app-id", APP_ID, "--app-certificate", CERT, "--channel", "c", "--uid", "1",
                 "--account", "a", "--role", "publisher", "--expire", "60", NULL };
  CHECK_EQ_INT(agora_cli(15, a3), 2);
  char *a4[] = { "rtm-token", "--app-id", APP_ID, "--app-certificate", CERT, "--user", "u", "--expire", "60",
                 "--salt", "100000000", NULL };
  CHECK_EQ_INT(agora_cli(11, a4), 2);
  char *a5[] = { "rtm-token", "--bogus", "1", NULL };
  CHECK_EQ_INT(agora_cli(3, a5), 2);
  char *a6[] = { "nope", NULL };
  CHECK_EQ_INT(agora_cli(1, a6), 2);
}

TEST(agora_event_actions_and_channel_names) {
  agora_event ev = { .product_id = 1 };
  int want[][2] = { { AGORA_EV_BROADCASTER_JOIN, AGORA_ACT_LIVE }, { AGORA_EV_ROLE_TO_BROADCASTER, AGORA_ACT_LIVE },
                    { AGORA_EV_BROADCASTER_LEAVE, AGORA_ACT_GONE }, { AGORA_EV_ROLE_TO_AUDIENCE, AGORA_ACT_GONE },
                    { AGORA_EV_CHANNEL_DESTROY, AGORA_ACT_END }, { AGORA_EV_CHANNEL_CREATE, AGORA_ACT_NONE },
                    { AGORA_EV_AUDIENCE_JOIN, AGORA_ACT_NONE }, { AGORA_EV_AUDIENCE_LEAVE, AGORA_ACT_NONE } };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ev.event_type = want[i][0];
    CHECK_EQ_INT(agora_event_action(&ev), want[i][1]);
  }
  ev.product_id = 3;
  ev.event_type = AGORA_EV_CHANNEL_DESTROY;
  CHECK_EQ_INT(agora_event_action(&ev), AGORA_ACT_NONE); /* cloud recording's 102 is not ours */
  char ch[AGORA_CHANNEL_MAX + 1];
  int64_t id = 0;
  CHECK_EQ_INT(agora_channel_of_stream(9223372036854775807LL, ch, sizeof ch), 0);
  CHECK(agora_channel_valid(ch));
  CHECK_EQ_INT(agora_stream_of_channel(ch, &id), 0);
  CHECK_EQ_INT(id, 9223372036854775807LL);
  CHECK_EQ_INT(agora_channel_of_stream(0, ch, sizeof ch), -1);
  CHECK_EQ_INT(agora_channel_of_stream(42, ch, 6), -1);
  const char *bad[] = { "vz-s-", "vz-s-0", "vz-s-01", "vz-s--1", "vz-s-1x", "vz-s-9223372036854775808", "other-1", NULL };
  for (int i = 0; bad[i]; i++) CHECK_EQ_INT(agora_stream_of_channel(bad[i], &id), -1);
}
