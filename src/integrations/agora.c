/* agora.c: AccessToken2 ("007") building and decoding, and the webhook signature check.
 * Pure functions: every input is an argument, so they run on any thread and the CLI,
 * the unit tests and the fuzzer call them as the server does. The layout and the
 * signing chain are in agora.h; the builder packs into a fixed buffer (no allocation
 * but zlib's), the decoder bounds every read and the inflated size. */
#include "integrations/agora.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/json.h"
#include "lib/base64.h"

const char *agora_strerror(int rc) {
  switch (rc) {
  case 0: return "ok";
  case AGORA_EAPP_ID: return "app id must be 32 hex characters";
  case AGORA_ECERTIFICATE: return "app certificate must be 32 hex characters";
  case AGORA_ECHANNEL: return "channel must be 1-64 characters: letters, digits, space and !#$%&()+-:;<=.>?@[]^_{|}~,";
  case AGORA_EACCOUNT: return "account must be 1-255 characters: letters, digits, space and !#$%&()+-:;<=.>?@[]^_{|}~,";
  case AGORA_EROLE: return "role must be publisher or subscriber";
  case AGORA_EEXPIRE: return "expire must be at least 1 second";
  case AGORA_ENOSPACE: return "token buffer too small";
  case AGORA_EINTERNAL: return "token could not be built";
  case AGORA_EDISABLED: return "Agora is not configured";
  case AGORA_ESIGNATURE: return "signature missing or wrong";
  case AGORA_EFORMAT: return "malformed";
  default: return "unknown error";
  }
}

static int is_hex32(const char *s) {
  if (!s) return 0;
  for (int i = 0; i < 32; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
  return s[32] == 0;
}

/* Agora's character set for channel names and user accounts (joinChannel docs). */
static int agora_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr(" !#$%&()+-:;<=.>?@[]^_{|}~,", c));
}

static int name_valid(const char *s, size_t max) {
  if (!s || !*s) return 0;
  size_t n = 0;
  for (; s[n]; n++)
    if (n >= max || !agora_char((unsigned char)s[n])) return 0;
  return 1;
}

int agora_channel_valid(const char *channel) { return name_valid(channel, AGORA_CHANNEL_MAX); }

/* ---- packing ---------------------------------------------------------------- */

typedef struct pack {
  unsigned char *b;
  size_t n, cap;
  int over; /* something did not fit: the result is refused, never truncated */
} pack;

static void put_u16(pack *p, unsigned v) {
  if (p->n + 2 > p->cap) { p->over = 1; return; }
  p->b[p->n++] = (unsigned char)(v & 0xff);
  p->b[p->n++] = (unsigned char)((v >> 8) & 0xff);
}

static void put_u32(pack *p, uint32_t v) {
  if (p->n + 4 > p->cap) { p->over = 1; return; }
  for (int i = 0; i < 4; i++) p->b[p->n++] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static void put_bytes(pack *p, const void *s, size_t len) {
  if (len > 0xffff || p->n + 2 + len > p->cap) { p->over = 1; return; }
  put_u16(p, (unsigned)len);
  memcpy(p->b + p->n, s, len);
  p->n += len;
}

static void put_str(pack *p, const char *s) { put_bytes(p, s, strlen(s)); }

/* key = HMAC(u32 salt, HMAC(u32 issued_at, certificate)); sig = HMAC(key, info). */
static int sign(const char *cert, uint32_t issued_at, uint32_t salt, const unsigned char *info, size_t n,
                unsigned char sig[32]) {
  unsigned char ts[4], sl[4], k1[32], k2[32];
  unsigned int len = 0;
  for (int i = 0; i < 4; i++) {
    ts[i] = (unsigned char)(issued_at >> (8 * i));
    sl[i] = (unsigned char)(salt >> (8 * i));
  }
  int ok = HMAC(EVP_sha256(), ts, 4, (const unsigned char *)cert, strlen(cert), k1, &len) && len == 32 &&
           HMAC(EVP_sha256(), sl, 4, k1, 32, k2, &len) && len == 32 &&
           HMAC(EVP_sha256(), k2, 32, info, n, sig, &len) && len == 32;
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  return ok ? 0 : AGORA_EINTERNAL;
}

/* One service of a token being built: its privileges (ascending, as npm's object keys
 * iterate) and its trailing strings. */
typedef struct svc {
  unsigned type, npriv;
  unsigned priv[4];
  uint32_t priv_expire[4];
  const char *s1, *s2; /* s2 NULL: one string (RTM) */
} svc;

static int build(const char *app_id, const char *cert, uint32_t issued_at, uint32_t expire, uint32_t salt,
                 const svc *s, char *out, size_t cap) {
  if (!is_hex32(app_id)) return AGORA_EAPP_ID;
  if (!is_hex32(cert)) return AGORA_ECERTIFICATE;
  if (expire == 0) return AGORA_EEXPIRE;
  if (issued_at == 0) issued_at = (uint32_t)time(NULL);
  if (salt == 0) {
    if (sodium_init() < 0) return AGORA_EINTERNAL;
    salt = randombytes_uniform(AGORA_SALT_MAX) + 1;
  }
  /* content = string(signature) + signing_info; signing_info starts at 34 */
  unsigned char buf[34 + 1024];
  pack p = { buf + 34, 0, sizeof buf - 34, 0 };
  put_str(&p, app_id);
  put_u32(&p, issued_at);
  put_u32(&p, expire);
  put_u32(&p, salt);
  put_u16(&p, 1);
  put_u16(&p, s->type);
  put_u16(&p, s->npriv);
  for (unsigned i = 0; i < s->npriv; i++) {
    put_u16(&p, s->priv[i]);
    put_u32(&p, s->priv_expire[i]);
  }
  put_str(&p, s->s1);
  if (s->s2) put_str(&p, s->s2);
  if (p.over) return AGORA_ENOSPACE;
  buf[0] = 32;
  buf[1] = 0;
  int rc = sign(cert, issued_at, salt, buf + 34, p.n, buf + 2);
  if (rc < 0) return rc;
  /* compress2 at the default level is what Node's zlib.deflateSync() writes */
  unsigned char z[sizeof buf + 64];
  uLongf zn = sizeof z;
  if (compress2(z, &zn, buf, 34 + p.n, Z_DEFAULT_COMPRESSION) != Z_OK) return AGORA_EINTERNAL;
  if (cap < 4 || vz_b64_len(zn, VZ_B64_STD) + 4 > cap) return AGORA_ENOSPACE;
  memcpy(out, "007", 3);
  long bn = vz_b64_encode(z, zn, out + 3, cap - 3, VZ_B64_STD);
  if (bn < 0) return AGORA_ENOSPACE;
  return (int)bn + 3;
}

int agora_rtc_token(const agora_rtc_req *r, char *out, size_t cap) {
  if (!agora_channel_valid(r->channel)) return AGORA_ECHANNEL;
  if (r->role != AGORA_ROLE_PUBLISHER && r->role != AGORA_ROLE_SUBSCRIBER) return AGORA_EROLE;
  char uidbuf[16] = "";
  const char *uid = uidbuf;
  if (r->account) {
    if (!name_valid(r->account, AGORA_ACCOUNT_MAX)) return AGORA_EACCOUNT;
    uid = r->account;
  } else if (r->uid) {
    snprintf(uidbuf, sizeof uidbuf, "%u", (unsigned)r->uid); /* uid 0 stays "": any uid */
  }
  svc s = { .type = AGORA_SERVICE_RTC, .s1 = r->channel, .s2 = uid };
  s.priv[s.npriv] = AGORA_PRIV_JOIN;
  s.priv_expire[s.npriv++] = r->privilege_expire;
  if (r->role == AGORA_ROLE_PUBLISHER) {
    for (unsigned p = AGORA_PRIV_PUB_AUDIO; p <= AGORA_PRIV_PUB_DATA; p++) {
      s.priv[s.npriv] = p;
      s.priv_expire[s.npriv++] = r->privilege_expire;
    }
  }
  return build(r->app_id, r->app_certificate, r->issued_at, r->expire, r->salt, &s, out, cap);
}

int agora_rtm_token(const agora_rtm_req *r, char *out, size_t cap) {
  /* RTM user ids: 1-64 bytes of printable ASCII (Agora RTM login rules) */
  if (!r->user || !*r->user || strlen(r->user) > 64) return AGORA_EACCOUNT;
  for (const char *c = r->user; *c; c++)
    if (*c < 0x20 || *c > 0x7e) return AGORA_EACCOUNT;
  svc s = { .type = AGORA_SERVICE_RTM, .npriv = 1, .priv = { AGORA_PRIV_RTM_LOGIN }, .priv_expire = { r->expire },
            .s1 = r->user };
  return build(r->app_id, r->app_certificate, r->issued_at, r->expire, r->salt, &s, out, cap);
}

/* ---- decoding (untrusted input) ------------------------------------------- */

typedef struct rd {
  const unsigned char *b;
  size_t n, at;
  int bad;
} rd;

static uint32_t get_u(rd *r, int bytes) {
  if (r->bad || r->n - r->at < (size_t)bytes) { r->bad = 1; return 0; }
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint32_t)r->b[r->at + i] << (8 * i);
  r->at += (size_t)bytes;
  return v;
}

/* A string into dst (cap includes the NUL); longer than the field or holding a NUL: bad. */
static void get_str(rd *r, char *dst, size_t cap) {
  size_t len = get_u(r, 2);
  if (r->bad || r->n - r->at < len || len >= cap || memchr(r->b + r->at, 0, len)) {
    r->bad = 1;
    if (cap) dst[0] = 0;
    return;
  }
  memcpy(dst, r->b + r->at, len);
  dst[len] = 0;
  r->at += len;
}

static void skip_str(rd *r) {
  size_t len = get_u(r, 2);
  if (r->bad || r->n - r->at < len) { r->bad = 1; return; }
  r->at += len;
}

/* Privileges of one service; RTC ones are kept, the others only read past. */
static void get_privs(rd *r, agora_token *t, int rtc, int rtm) {
  unsigned np = get_u(r, 2);
  for (unsigned i = 0; i < np && !r->bad; i++) {
    unsigned k = get_u(r, 2);
    uint32_t v = get_u(r, 4);
    if (rtc && k >= 1 && k <= 4) { t->rtc_priv[k] = v; t->rtc_priv_set |= 1u << k; }
    if (rtm && k == AGORA_PRIV_RTM_LOGIN) t->rtm_login = v;
  }
}

int agora_token_parse(const char *token, size_t n, agora_token *t) {
  memset(t, 0, sizeof *t);
  if (n < 4 || n > 4 * AGORA_TOKEN_MAX || memcmp(token, "007", 3) != 0) return AGORA_EFORMAT;
  unsigned char z[3 * AGORA_TOKEN_MAX];
  long zn = vz_b64_decode(token + 3, n - 3, z, sizeof z, VZ_B64_STD);
  if (zn <= 0) return AGORA_EFORMAT;
  /* inflate into a fixed buffer: a stream that would grow past it is refused */
  unsigned char content[34 + sizeof t->signing_info];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) return AGORA_EINTERNAL;
  zs.next_in = z;
  zs.avail_in = (uInt)zn;
  zs.next_out = content;
  zs.avail_out = sizeof content;
  int zrc = inflate(&zs, Z_FINISH);
  size_t cn = sizeof content - zs.avail_out;
  inflateEnd(&zs);
  if (zrc != Z_STREAM_END) return AGORA_EFORMAT;
  rd r = { content, cn, 0, 0 };
  size_t siglen = get_u(&r, 2);
  if (r.bad || siglen != 32 || cn - r.at < 32) return AGORA_EFORMAT;
  memcpy(t->signature, content + r.at, 32);
  r.at += 32;
  t->signing_len = cn - r.at;
  memcpy(t->signing_info, content + r.at, t->signing_len);
  get_str(&r, t->app_id, sizeof t->app_id);
  t->issued_at = get_u(&r, 4);
  t->expire = get_u(&r, 4);
  t->salt = get_u(&r, 4);
  unsigned ns = get_u(&r, 2);
  for (unsigned i = 0; i < ns && !r.bad; i++) {
    unsigned type = get_u(&r, 2);
    if (type == AGORA_SERVICE_RTC && !t->has_rtc) {
      get_privs(&r, t, 1, 0);
      get_str(&r, t->channel, sizeof t->channel);
      get_str(&r, t->uid, sizeof t->uid);
      t->has_rtc = 1;
    } else if (type == AGORA_SERVICE_RTM && !t->has_rtm) {
      get_privs(&r, t, 0, 1);
      get_str(&r, t->rtm_user, sizeof t->rtm_user);
      t->has_rtm = 1;
    } else if (type == AGORA_SERVICE_RTC || type == AGORA_SERVICE_RTM) {
      get_privs(&r, t, 0, 0); /* a second one: read past, the first is what we show */
      skip_str(&r);
      if (type == AGORA_SERVICE_RTC) skip_str(&r);
    } else {
      break; /* a type we do not know: its layout is unknown, stop as npm does */
    }
  }
  return r.bad ? AGORA_EFORMAT : 0;
}

int agora_token_verify(const agora_token *t, const char *app_certificate) {
  unsigned char sig[32];
  if (!is_hex32(app_certificate) || t->signing_len == 0) return AGORA_ESIGNATURE;
  if (sign(app_certificate, t->issued_at, t->salt, t->signing_info, t->signing_len, sig) < 0) return AGORA_EINTERNAL;
  return CRYPTO_memcmp(sig, t->signature, 32) == 0 ? 0 : AGORA_ESIGNATURE;
}

/* ---- webhooks ------------------------------------------------------------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* 1 when hex (exactly 2 * len characters) decodes to the MAC of body. The MAC is
 * compared whole with CRYPTO_memcmp, so timing says nothing about where it differs. */
static int mac_matches(const EVP_MD *md, size_t len, const char *secret, const void *body, size_t n,
                       const char *hex) {
  unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
  unsigned int wl = 0;
  size_t hl = strlen(hex);
  while (hl && (hex[hl - 1] == ' ' || hex[hl - 1] == '\t')) hl--; /* header value OWS */
  if (hl != 2 * len) return 0;
  int bad = 0;
  for (size_t i = 0; i < len; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    bad |= (hi < 0) | (lo < 0);
    got[i] = (unsigned char)(((hi & 15) << 4) | (lo & 15));
  }
  if (!HMAC(md, secret, (int)strlen(secret), body, n, want, &wl) || wl != len) return 0;
  int same = CRYPTO_memcmp(want, got, len) == 0;
  OPENSSL_cleanse(want, sizeof want);
  return same && !bad;
}

int agora_webhook_verify(const char *secret, const void *body, size_t n, const char *sig_v1, const char *sig_v2) {
  if (!secret || !*secret) return AGORA_EDISABLED;
  if (!sig_v1 && !sig_v2) return AGORA_ESIGNATURE;
  if (!body) n = 0;
  if (sig_v2 && !mac_matches(EVP_sha256(), 32, secret, body ? body : "", n, sig_v2)) return AGORA_ESIGNATURE;
  if (sig_v1 && !mac_matches(EVP_sha1(), 20, secret, body ? body : "", n, sig_v1)) return AGORA_ESIGNATURE;
  return 0;
}

static int copy_str(json_t *v, char *dst, size_t cap) {
  const char *s = json_string_value(v);
  size_t len = s ? json_string_length(v) : 0;
  if (!s || len >= cap || memchr(s, 0, len)) return -1;
  memcpy(dst, s, len + 1);
  return 0;
}

int agora_webhook_parse(const char *body, size_t n, agora_event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->client_seq = -1;
  json_error_t jerr;
  json_t *o = vz_json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr, NULL);
  int rc = AGORA_EFORMAT;
  if (!json_is_object(o)) goto out;
  json_t *nid = json_object_get(o, "noticeId"), *pid = json_object_get(o, "productId"),
         *et = json_object_get(o, "eventType"), *nms = json_object_get(o, "notifyMs"),
         *pl = json_object_get(o, "payload");
  if (copy_str(nid, ev->notice_id, sizeof ev->notice_id) < 0 || !json_is_integer(pid) || !json_is_integer(et))
    goto out;
  json_int_t p = json_integer_value(pid), e = json_integer_value(et);
  if (p < 0 || p > 1000000 || e < 0 || e > 1000000) goto out;
  ev->product_id = (int)p;
  ev->event_type = (int)e;
  if (json_is_integer(nms)) ev->notify_ms = json_integer_value(nms);
  if (pl && !json_is_object(pl)) goto out;
  json_t *ch = json_object_get(pl, "channelName");
  if (ch && copy_str(ch, ev->channel, sizeof ev->channel) < 0) goto out;
  /* RTC channel events always name their channel */
  if (ev->product_id == 1 && ev->event_type >= 101 && ev->event_type <= 112 && !ev->channel[0]) goto out;
  json_t *uid = json_object_get(pl, "uid");
  if (json_is_integer(uid)) {
    json_int_t u = json_integer_value(uid);
    if (u < 0 || u > UINT32_MAX) goto out;
    ev->uid = (uint32_t)u;
  } else if (uid) {
    goto out;
  }
  json_t *acc = json_object_get(pl, "account");
  if (acc && copy_str(acc, ev->account, sizeof ev->account) < 0) goto out;
  json_t *seq = json_object_get(pl, "clientSeq"), *ts = json_object_get(pl, "ts");
  if (json_is_integer(seq)) ev->client_seq = json_integer_value(seq);
  if (json_is_integer(ts)) ev->ts = json_integer_value(ts);
  json_t *pf = json_object_get(pl, "platform"), *rs = json_object_get(pl, "reason");
  if (json_is_integer(pf)) ev->platform = (int)(json_integer_value(pf) & 0xffff);
  if (json_is_integer(rs)) ev->reason = (int)(json_integer_value(rs) & 0xffff);
  rc = 0;
out:
  json_decref(o);
  return rc;
}

int agora_event_action(const agora_event *ev) {
  if (ev->product_id != 1) return AGORA_ACT_NONE;
  switch (ev->event_type) {
  case AGORA_EV_BROADCASTER_JOIN:
  case AGORA_EV_ROLE_TO_BROADCASTER: return AGORA_ACT_LIVE;
  case AGORA_EV_BROADCASTER_LEAVE:
  case AGORA_EV_ROLE_TO_AUDIENCE: return AGORA_ACT_GONE;
  case AGORA_EV_CHANNEL_DESTROY: return AGORA_ACT_END;
  default: return AGORA_ACT_NONE;
  }
}

int agora_channel_of_stream(int64_t stream_id, char *out, size_t cap) {
  if (stream_id <= 0) return -1;
  int n = snprintf(out, cap, "vz-s-%lld", (long long)stream_id);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

int agora_stream_of_channel(const char *channel, int64_t *stream_id) {
  if (strncmp(channel, "vz-s-", 5) != 0) return -1;
  const char *p = channel + 5;
  if (*p < '1' || *p > '9') return -1; /* no sign, no leading zero: one spelling per id */
  int64_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10) return -1;
    v = v * 10 + (*p - '0');
  }
  *stream_id = v;
  return 0;
}
