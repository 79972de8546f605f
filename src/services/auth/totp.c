/* totp.c: RFC 6238 over RFC 4226. HMAC-SHA-1 is what every authenticator app computes
 * by default; SHA-1's collision weakness does not matter for HMAC (RFC 6194 3.3). */
#include "services/auth/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_encode(const unsigned char *in, size_t len, char *out, size_t cap) {
  size_t o = 0;
  unsigned buf = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    buf = (buf << 8) | in[i];
    bits += 8;
    while (bits >= 5) {
      if (o + 1 >= cap) return -1;
      out[o++] = b32[(buf >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    if (o + 1 >= cap) return -1;
    out[o++] = b32[(buf << (5 - bits)) & 31];
  }
  if (o >= cap) return -1;
  out[o] = 0;
  return (int)o;
}

int base32_decode(const char *in, unsigned char *out, size_t cap) {
  size_t o = 0;
  unsigned buf = 0;
  int bits = 0;
  for (const char *p = in; *p; p++) {
    int c = *p, v;
    if (c == '=' || c == ' ') {
      for (; *p; p++)
        if (*p != '=' && *p != ' ') return -1;
      break;
    }
    if (c >= 'a' && c <= 'z') c -= 32;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return -1;
    buf = ((buf << 5) | (unsigned)v) & 0xFFFF;
    bits += 5;
    if (bits >= 8) {
      if (o >= cap) return -1;
      out[o++] = (unsigned char)(buf >> (bits - 8));
      bits -= 8;
    }
  }
  return (int)o;
}

uint32_t totp_hotp(const unsigned char *key, size_t klen, uint64_t counter, int digits) {
  unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
  unsigned int ml = 0;
  for (int i = 7; i >= 0; i--, counter >>= 8) msg[i] = (unsigned char)(counter & 0xff);
  if (!HMAC(EVP_sha1(), key, (int)klen, msg, sizeof msg, mac, &ml) || ml != 20) return 0;
  /* RFC 4226 5.3: dynamic truncation */
  int off = mac[19] & 0xf;
  uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                 ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
  uint32_t mod = 1;
  for (int i = 0; i < digits; i++) mod *= 10;
  return bin % mod;
}

uint32_t totp_at(const unsigned char *key, size_t klen, int64_t t, int digits) {
  /* RFC 6238 4.2: T = (Current Unix time - T0) / X, T0 = 0, X = 30 */
  return totp_hotp(key, klen, (uint64_t)(t / TOTP_STEP), digits);
}

int totp_verify(const char *secret_b32, const char *code, int64_t now, int64_t *last_step) {
  unsigned char key[64];
  char want[8], got[8];
  int kl = base32_decode(secret_b32, key, sizeof key), ok = -1;
  if (kl < 10 || !code || strlen(code) != 6) return -1;
  snprintf(got, sizeof got, "%s", code);
  int64_t step = now / TOTP_STEP;
  /* RFC 6238 5.2: allow one step of network delay / clock drift each way */
  for (int64_t s = step - 1; s <= step + 1; s++) {
    snprintf(want, sizeof want, "%06u", (unsigned)totp_hotp(key, (size_t)kl, (uint64_t)s, 6));
    if (sodium_memcmp(want, got, 6) == 0 && s > *last_step && ok < 0) {
      *last_step = s; /* RFC 6238 5.2: the verifier MUST NOT accept the second attempt */
      ok = 0;
    }
  }
  sodium_memzero(key, sizeof key);
  return ok;
}

int totp_new_secret(char out[TOTP_SECRET_B32]) {
  unsigned char k[TOTP_SECRET_BYTES];
  if (sodium_init() < 0) return -1;
  randombytes_buf(k, sizeof k);
  int n = base32_encode(k, sizeof k, out, TOTP_SECRET_B32);
  sodium_memzero(k, sizeof k);
  return n == 32 ? 0 : -1;
}

/* Percent-encodes the label parts; issuer and account come from our config and users. */
static size_t pct(const char *s, char *out, size_t cap) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '.' || *p == '_' || *p == '@')
      out[o++] = (char)*p;
    else
      o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
  }
  out[o] = 0;
  return o;
}

int totp_uri(const char *issuer, const char *account, const char *secret, char *out, size_t cap) {
  char i[256], a[512];
  pct(issuer, i, sizeof i);
  pct(account, a, sizeof a);
  int n = snprintf(out, cap, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30",
                   i, a, secret, i);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}
