/* agora_cli.c: `vidzo agora rtc-token|rtm-token`, a token for given inputs, for
 * operators and for reproducible checks against the official builders (--issued-at and
 * --salt fix the two inputs that are otherwise the clock and a random number). Needs no
 * settings, database or data directory; the app id and certificate may come from
 * VIDZO_AGORA_APP_ID / VIDZO_AGORA_APP_CERTIFICATE so the certificate need not be in
 * argv (and so in `ps`). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "integrations/agora.h"

static const char agora_usage[] =
  "usage: vidzo agora rtc-token --app-id A --app-certificate C --channel CH (--uid U | --account NAME)\n"
  "                             --role publisher|subscriber --expire S [--privilege-expire S]\n"
  "                             [--issued-at T --salt N]\n"
  "       vidzo agora rtm-token --app-id A --app-certificate C --user U --expire S [--issued-at T --salt N]\n"
  "  --uid 0 is any uid; --privilege-expire defaults to --expire (0: as long as the token);\n"
  "  --issued-at (unix seconds) and --salt (1-99999999) default to now and a random salt;\n"
  "  --app-id / --app-certificate default to VIDZO_AGORA_APP_ID / VIDZO_AGORA_APP_CERTIFICATE.\n"
  "       vidzo agora decode TOKEN [--app-certificate C]\n"
  "  prints the token's fields as JSON (and whether C signed it); exit 1 when malformed or not signed by C\n"
  "       vidzo agora webhook-check [--signature HEX] [--signature-v2 HEX] < BODY\n"
  "  checks an Agora Notifications body against its Agora-Signature / -V2 headers with\n"
  "  VIDZO_AGORA_WEBHOOK_SECRET and prints the parsed event as JSON; exit 1 when refused.\n";

/* An unsigned 32-bit decimal, all of s, within lo..hi. */
static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return -1;
  *out = (uint32_t)v;
  return 0;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "vidzo agora: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (vidzo agora --help)\n");
  return 2;
}

/* `decode TOKEN [--app-certificate C]`: the fields, for an operator asking why Agora
 * refused a token (wrong app id, expired, missing privilege). */
static int cli_decode(int argc, char **argv) {
  const char *tok = NULL, *cert = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--app-certificate") && i + 1 < argc) cert = argv[++i];
    else if (!strncmp(argv[i], "--app-certificate=", 18)) cert = argv[i] + 18;
    else if (!tok && strncmp(argv[i], "--", 2) != 0) tok = argv[i];
    else return usage_error("unexpected argument '%s'", argv[i]);
  }
  if (!tok) return usage_error("%s", "decode needs a token");
  agora_token t;
  if (agora_token_parse(tok, strlen(tok), &t) < 0) {
    fprintf(stderr, "vidzo agora: not an AccessToken2 (007) token\n");
    return 1;
  }
  json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "app_id", t.app_id, "issued_at", (json_int_t)t.issued_at, "expire",
                        (json_int_t)t.expire, "salt", (json_int_t)t.salt);
  if (o && t.has_rtc) {
    json_t *priv = json_object();
    static const char *const pn[] = { "", "join_channel", "publish_audio", "publish_video", "publish_data" };
    for (int p = 1; p <= 4; p++)
      if (t.rtc_priv_set & (1u << p)) json_object_set_new(priv, pn[p], json_integer(t.rtc_priv[p]));
    json_object_set_new(o, "rtc", json_pack("{s:s, s:s, s:o}", "channel", t.channel, "uid", t.uid, "privileges", priv));
  }
  if (o && t.has_rtm)
    json_object_set_new(o, "rtm", json_pack("{s:s, s:I}", "user", t.rtm_user, "login", (json_int_t)t.rtm_login));
  int verified = cert ? agora_token_verify(&t, cert) == 0 : 0;
  if (o && cert) json_object_set_new(o, "signature_valid", json_boolean(verified));
  char *js = o ? vz_json_dumps(o, NULL) : NULL;
  json_decref(o);
  if (!js) return 1;
  printf("%s\n", js);
  free(js);
  return cert && !verified ? 1 : 0;
}

/* `webhook-check`: the route's check, offline, for an operator setting up Agora
 * Notifications (is the secret right?) and for the e2e stories. */
static int cli_webhook(int argc, char **argv) {
  const char *v1 = NULL, *v2 = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--signature") && i + 1 < argc) v1 = argv[++i];
    else if (!strcmp(argv[i], "--signature-v2") && i + 1 < argc) v2 = argv[++i];
    else return usage_error("unexpected argument '%s'", argv[i]);
  }
  const char *secret = getenv("VIDZO_AGORA_WEBHOOK_SECRET");
  if (!secret || !*secret) return usage_error("%s", "VIDZO_AGORA_WEBHOOK_SECRET is not set");
  size_t cap = 1 << 20, n = 0; /* the server's default body limit */
  char *body = malloc(cap + 1);
  if (!body) return 1;
  size_t got;
  while (n <= cap && (got = fread(body + n, 1, cap + 1 - n, stdin)) > 0) n += got;
  if (n > cap) {
    free(body);
    fprintf(stderr, "vidzo agora: body over 1 MB\n");
    return 1;
  }
  int rc = agora_webhook_verify(secret, body, n, v1, v2);
  agora_event ev;
  if (rc == 0) rc = agora_webhook_parse(body, n, &ev);
  free(body);
  if (rc < 0) {
    fprintf(stderr, "vidzo agora: webhook refused: %s\n", agora_strerror(rc));
    return 1;
  }
  json_t *o = json_pack("{s:s, s:i, s:i, s:I, s:s, s:I, s:s, s:I, s:I}", "notice_id", ev.notice_id, "product_id",
                        ev.product_id, "event_type", ev.event_type, "notify_ms", (json_int_t)ev.notify_ms,
                        "channel", ev.channel, "uid", (json_int_t)ev.uid, "account", ev.account, "client_seq",
                        (json_int_t)ev.client_seq, "ts", (json_int_t)ev.ts);
  char *js = o ? vz_json_dumps(o, NULL) : NULL;
  json_decref(o);
  if (!js) return 1;
  printf("%s\n", js);
  free(js);
  return 0;
}

int agora_cli(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    fputs(agora_usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  if (!strcmp(argv[0], "decode")) return cli_decode(argc, argv);
  if (!strcmp(argv[0], "webhook-check")) return cli_webhook(argc, argv);
  int rtc = !strcmp(argv[0], "rtc-token"), rtm = !strcmp(argv[0], "rtm-token");
  if (!rtc && !rtm) return usage_error("unknown command '%s'", argv[0]);
  static const char *const names[] = { "app-id", "app-certificate", "channel", "uid", "account", "role", "expire",
                                       "privilege-expire", "issued-at", "salt", "user", NULL };
  enum { APP_ID, CERT, CHANNEL, UID, ACCOUNT, ROLE, EXPIRE, PRIV_EXPIRE, ISSUED_AT, SALT, USER, NOPTS };
  const char *v[NOPTS] = { 0 };
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) return usage_error("unexpected argument '%s'", a);
    a += 2;
    const char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    int k = 0;
    while (names[k] && !(strlen(names[k]) == nl && !strncmp(names[k], a, nl))) k++;
    if (!names[k]) return usage_error("unknown flag '%s'", argv[i]);
    if (!eq && i + 1 >= argc) return usage_error("flag '%s' needs a value", argv[i]);
    v[k] = eq ? eq + 1 : argv[++i];
  }
  if (!v[APP_ID]) v[APP_ID] = getenv("VIDZO_AGORA_APP_ID");
  if (!v[CERT]) v[CERT] = getenv("VIDZO_AGORA_APP_CERTIFICATE");
  if (!v[APP_ID] || !*v[APP_ID]) return usage_error("%s: --app-id is required", argv[0]);
  if (!v[CERT] || !*v[CERT]) return usage_error("%s: --app-certificate is required", argv[0]);
  uint32_t expire = 0, priv = 0, issued = 0, salt = 0, uid = 0;
  if (!v[EXPIRE] || parse_u32(v[EXPIRE], 1, UINT32_MAX, &expire) < 0)
    return usage_error("--expire must be seconds, 1 or more (got '%s')", v[EXPIRE] ? v[EXPIRE] : "");
  if (v[ISSUED_AT] && parse_u32(v[ISSUED_AT], 1, UINT32_MAX, &issued) < 0)
    return usage_error("--issued-at must be unix seconds (got '%s')", v[ISSUED_AT]);
  if (v[SALT] && parse_u32(v[SALT], 1, AGORA_SALT_MAX, &salt) < 0)
    return usage_error("--salt must be 1-99999999 (got '%s')", v[SALT]);
  char tok[AGORA_TOKEN_MAX];
  int rc;
  if (rtc) {
    if (v[USER]) return usage_error("%s", "--user is for rtm-token; rtc-token takes --uid or --account");
    if (!v[CHANNEL]) return usage_error("%s", "--channel is required");
    if (!v[UID] == !v[ACCOUNT]) return usage_error("%s", "give one of --uid or --account");
    if (v[UID] && parse_u32(v[UID], 0, UINT32_MAX, &uid) < 0)
      return usage_error("--uid must be 0-4294967295 (got '%s'); use --account for names", v[UID]);
    int role = !v[ROLE] ? 0 : !strcmp(v[ROLE], "publisher") ? AGORA_ROLE_PUBLISHER
                          : !strcmp(v[ROLE], "subscriber") ? AGORA_ROLE_SUBSCRIBER : 0;
    if (!role) return usage_error("--role must be publisher or subscriber (got '%s')", v[ROLE] ? v[ROLE] : "");
    priv = expire;
    if (v[PRIV_EXPIRE] && parse_u32(v[PRIV_EXPIRE], 0, UINT32_MAX, &priv) < 0)
      return usage_error("--privilege-expire must be seconds (got '%s')", v[PRIV_EXPIRE]);
    rc = agora_rtc_token(&(agora_rtc_req){ .app_id = v[APP_ID], .app_certificate = v[CERT], .channel = v[CHANNEL],
                                           .account = v[ACCOUNT], .uid = uid, .role = role, .expire = expire,
                                           .privilege_expire = priv, .issued_at = issued, .salt = salt },
                         tok, sizeof tok);
  } else {
    if (v[CHANNEL] || v[UID] || v[ACCOUNT] || v[ROLE] || v[PRIV_EXPIRE])
      return usage_error("%s", "rtm-token takes --user, not --channel/--uid/--account/--role/--privilege-expire");
    if (!v[USER]) return usage_error("%s", "--user is required");
    rc = agora_rtm_token(&(agora_rtm_req){ .app_id = v[APP_ID], .app_certificate = v[CERT], .user = v[USER],
                                           .expire = expire, .issued_at = issued, .salt = salt },
                         tok, sizeof tok);
  }
  if (rc < 0) return usage_error("%s", agora_strerror(rc));
  printf("%s\n", tok);
  return 0;
}
