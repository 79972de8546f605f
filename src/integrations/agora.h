/* agora: Agora's AccessToken2 ("007") tokens and the checks on Agora's channel-event
 * webhooks. Written here on OpenSSL HMAC-SHA256 and zlib (ARCHITECTURE.md), checked
 * byte for byte against npm agora-token 2.0.6 (tests/e2e/integrations/agora.mjs) and
 * the AgoraIO/Tools test vector (tests/unit/integrations/agora_test.c).
 *
 * Two layers:
 *  - pure functions (agora_rtc_token, agora_rtm_token, agora_token_parse/verify,
 *    agora_webhook_verify/parse): every input passed in, no settings, any thread;
 *  - the "agora" settings service (agora_service, listed in services.c before streams):
 *    VIDZO_AGORA_APP_ID / _APP_CERTIFICATE / _TOKEN_EXPIRE / _PRIVILEGE_EXPIRE /
 *    _WEBHOOK_SECRET, and agora_issue_* / agora_webhook_check that use them. The
 *    certificate and the webhook secret are never logged or returned.
 *
 * Token layout (AccessToken2, all integers little endian, strings u16 length + bytes):
 *   "007" + base64(deflate( string(signature) + signing_info ))
 *   signing_info = string(app_id) u32(issued_at) u32(expire) u32(salt) u16(n_services)
 *                  services sorted by type: u16(type) u16(n_priv) {u16 priv, u32 expire}
 *                  sorted by priv, then RTC: string(channel) string(uid or account),
 *                  RTM: string(user)
 *   key       = HMAC-SHA256(key = u32(salt), HMAC-SHA256(key = u32(issued_at), certificate))
 *   signature = HMAC-SHA256(key, signing_info)
 * expire and every privilege expire are seconds after issued_at; a privilege expire
 * of 0 means the privilege lasts as long as the token. */
#ifndef VZ_AGORA_H
#define VZ_AGORA_H
#include <stddef.h>
#include <stdint.h>

#define AGORA_CHANNEL_MAX 64  /* Agora's limit on channel names, bytes */
#define AGORA_ACCOUNT_MAX 255 /* Agora's limit on user accounts, bytes */
#define AGORA_TOKEN_MAX 1024  /* a token for the longest channel and account, with NUL */
#define AGORA_SALT_MAX 99999999u /* npm's random salt is in 1..99999999 */

enum { AGORA_ROLE_PUBLISHER = 1, AGORA_ROLE_SUBSCRIBER = 2 };

/* AccessToken2 service types and privileges (only the two we issue). */
enum { AGORA_SERVICE_RTC = 1, AGORA_SERVICE_RTM = 2 };
enum { AGORA_PRIV_JOIN = 1, AGORA_PRIV_PUB_AUDIO = 2, AGORA_PRIV_PUB_VIDEO = 3, AGORA_PRIV_PUB_DATA = 4,
       AGORA_PRIV_RTM_LOGIN = 1 };

enum {
  AGORA_EAPP_ID = -1,      /* app id is not 32 hex characters */
  AGORA_ECERTIFICATE = -2, /* app certificate is not 32 hex characters */
  AGORA_ECHANNEL = -3,     /* channel empty, too long or outside Agora's characters */
  AGORA_EACCOUNT = -4,     /* account / RTM user empty, too long or not printable ASCII */
  AGORA_EROLE = -5,
  AGORA_EEXPIRE = -6,      /* expire 0 */
  AGORA_ENOSPACE = -7,     /* the output buffer is too small */
  AGORA_EINTERNAL = -8,    /* OpenSSL or zlib failed (out of memory) */
  AGORA_EDISABLED = -9,    /* the settings this call needs are not set */
  AGORA_ESIGNATURE = -10,  /* webhook: no signature header, or one that does not match */
  AGORA_EFORMAT = -11,     /* token or webhook body malformed */
};
const char *agora_strerror(int rc);

/* One RTC token. account NULL: the uid form (uid 0 = any uid, encoded as ""); else the
 * string-account form (uid ignored). Publisher: join + publish audio, video, data;
 * subscriber: join only (RtcTokenBuilder2's roles). issued_at 0: now; salt 0: random. */
typedef struct agora_rtc_req {
  const char *app_id, *app_certificate, *channel, *account;
  uint32_t uid;
  int role;
  uint32_t expire, privilege_expire;
  uint32_t issued_at, salt;
} agora_rtc_req;

/* One RTM (signaling) login token for user, valid expire seconds. */
typedef struct agora_rtm_req {
  const char *app_id, *app_certificate, *user;
  uint32_t expire;
  uint32_t issued_at, salt;
} agora_rtm_req;

/* Write the token and a NUL into out; return its length or a negative AGORA_E*. */
int agora_rtc_token(const agora_rtc_req *r, char *out, size_t cap);
int agora_rtm_token(const agora_rtm_req *r, char *out, size_t cap);

/* Channel names Agora accepts: 1..64 bytes of a-z A-Z 0-9 space and
 * !#$%&()+-:;<=.>?@[]^_{|}~, (Agora's joinChannel rules). */
int agora_channel_valid(const char *channel);

/* A decoded token: for tests, operators and the fuzzer (the input is untrusted). The
 * RTC and RTM parts are filled when present; services of other types are skipped. */
typedef struct agora_token {
  char app_id[33];
  uint32_t issued_at, expire, salt;
  int has_rtc, has_rtm;
  char channel[AGORA_CHANNEL_MAX + 1], uid[AGORA_ACCOUNT_MAX + 1]; /* RTC */
  uint32_t rtc_priv[5];  /* by privilege 1..4 */
  unsigned rtc_priv_set; /* bit p: privilege p present */
  char rtm_user[AGORA_ACCOUNT_MAX + 1];
  uint32_t rtm_login;
  unsigned char signature[32];
  size_t signing_len;
  unsigned char signing_info[1024]; /* what the signature covers */
} agora_token;
/* 0, or AGORA_EFORMAT (bad prefix, base64, deflate stream, field past the end, string
 * longer than Agora allows or holding a NUL). Inflates at most sizeof signing_info + 34. */
int agora_token_parse(const char *token, size_t n, agora_token *t);
/* 0 when the signature is the one certificate makes, else AGORA_ESIGNATURE. */
int agora_token_verify(const agora_token *t, const char *app_certificate);

/* Channel-event webhooks (Agora Notifications). Agora signs the raw body with the
 * webhook secret twice: Agora-Signature = hex HMAC-SHA1, Agora-Signature-V2 = hex
 * HMAC-SHA256. Pass each header's value or NULL when absent. Accepted when at least
 * one is present and every one present matches (constant-time, hex of either case);
 * else AGORA_ESIGNATURE. The signature covers the body only: dedupe on notice_id
 * (Agora resends with a new notifyMs) and order by client_seq. */
#define AGORA_HDR_SIGNATURE "Agora-Signature"
#define AGORA_HDR_SIGNATURE_V2 "Agora-Signature-V2"
int agora_webhook_verify(const char *secret, const void *body, size_t n, const char *sig_v1, const char *sig_v2);

/* eventType of productId 1 (RTC channel events), from Agora's channel event types. */
enum {
  AGORA_EV_CHANNEL_CREATE = 101,
  AGORA_EV_CHANNEL_DESTROY = 102,
  AGORA_EV_BROADCASTER_JOIN = 103,
  AGORA_EV_BROADCASTER_LEAVE = 104,
  AGORA_EV_AUDIENCE_JOIN = 105,
  AGORA_EV_AUDIENCE_LEAVE = 106,
  AGORA_EV_USER_JOIN_COMM = 107,
  AGORA_EV_USER_LEAVE_COMM = 108,
  AGORA_EV_ROLE_TO_BROADCASTER = 111,
  AGORA_EV_ROLE_TO_AUDIENCE = 112,
};
typedef struct agora_event {
  char notice_id[129];
  int product_id, event_type;
  int64_t notify_ms;
  char channel[AGORA_CHANNEL_MAX + 1];
  uint32_t uid;                           /* payload.uid (0 when absent) */
  char account[AGORA_ACCOUNT_MAX + 1];    /* payload.account when Agora sends one */
  int64_t client_seq, ts;                 /* payload.clientSeq (-1 absent), payload.ts (s) */
  int platform, reason;                   /* payload.platform, payload.reason (0 absent) */
} agora_event;
/* Parses a (verified) body. 0, or AGORA_EFORMAT: not a JSON object, noticeId /
 * productId / eventType missing or of the wrong type, payload.channelName missing
 * for an RTC channel event, a string longer than the fields above. */
int agora_webhook_parse(const char *body, size_t n, agora_event *ev);

/* What a channel event means for the stream broadcasting in that channel, the same moves
 * as the RTMP hooks: LIVE (broadcaster joined, or an audience member became one: check
 * ev->uid is the host's), GONE (the broadcaster left or stepped down: the reconnect grace
 * starts), END (channel destroyed), NONE (audience events, other products). */
enum { AGORA_ACT_NONE = 0, AGORA_ACT_LIVE, AGORA_ACT_GONE, AGORA_ACT_END };
int agora_event_action(const agora_event *ev);

/* A stream's channel name, "vz-s-<id>" (never the title: Agora's character set is
 * narrow), and back: 0 and *id, or -1 for a channel that is not one of ours. */
int agora_channel_of_stream(int64_t stream_id, char *out, size_t cap);
int agora_stream_of_channel(const char *channel, int64_t *stream_id);

/* The settings service and calls that use its settings. */
struct vz_service;
extern const struct vz_service agora_service;

/* 1 when app id and certificate are set (tokens can be issued). */
int agora_enabled(void);
/* 1 when the webhook secret is set (webhooks can be checked). */
int agora_webhook_enabled(void);
/* The app id clients join with ("" when unset). Public; the certificate is not. */
const char *agora_app_id(void);
/* A token for the configured app with the configured lifetimes (a renewal is one more
 * call). *expires_at: unix seconds the token stops working. AGORA_EDISABLED when off. */
int agora_issue_rtc(const char *channel, const char *account, uint32_t uid, int role, char *out, size_t cap,
                    int64_t *expires_at);
int agora_issue_rtm(const char *user, char *out, size_t cap, int64_t *expires_at);
/* agora_webhook_verify with the configured secret (AGORA_EDISABLED when unset). */
int agora_webhook_check(const void *body, size_t n, const char *sig_v1, const char *sig_v2);

/* `vidzo agora rtc-token|rtm-token ...`: prints a token (exit 0), a usage error
 * (exit 2). The certificate may come from VIDZO_AGORA_APP_CERTIFICATE instead of
 * argv, so it need not show in `ps`. */
int agora_cli(int argc, char **argv);
#endif
