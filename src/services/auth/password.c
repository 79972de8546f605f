/* password.c: argon2id through libsodium, plus the rules users are told about.
 * Rules follow NIST SP 800-63B 5.1.1.2 in spirit (length first, up to 128 characters,
 * counted as Unicode code points) with one composition rule: not all from one class, so
 * "aaaaaaaaaa" and "1234567890" are refused with a message saying why. */
#include "services/auth/password.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static unsigned long long cost_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t cost_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

void password_set_cost(unsigned long long ops, size_t mem) {
  if (ops >= crypto_pwhash_OPSLIMIT_MIN) cost_ops = ops;
  if (mem >= crypto_pwhash_MEMLIMIT_MIN) cost_mem = mem;
}

/* Counts code points of valid UTF-8; -1 when the bytes are not UTF-8. */
static long utf8_len(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  long n = 0;
  while (*p) {
    int extra = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
              : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || (extra == 1 && *p < 0xC2)) return -1;
    p++;
    for (int i = 0; i < extra; i++, p++)
      if ((*p & 0xC0) != 0x80) return -1;
    n++;
  }
  return n;
}

int password_check_rules(const char *pw, const char **msg) {
  int lower = 0, upper = 0, digit = 0, other = 0;
  long n;
  if (!pw || (n = utf8_len(pw)) < 0) {
    *msg = "password must be valid UTF-8 text";
    return -1;
  }
  if (n < PASSWORD_MIN) {
    *msg = "password must be at least 10 characters long";
    return -1;
  }
  if (n > PASSWORD_MAX) {
    *msg = "password must be at most 128 characters long";
    return -1;
  }
  for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
    if (*p >= 'a' && *p <= 'z') lower = 1;
    else if (*p >= 'A' && *p <= 'Z') upper = 1;
    else if (*p >= '0' && *p <= '9') digit = 1;
    else if (*p < 0x80 || (*p & 0xC0) != 0x80) other = 1; /* count each code point once */
  }
  if (lower + upper + digit + other < 2) {
    *msg = "password must mix at least two of: lowercase letters, uppercase letters, digits, "
           "symbols";
    return -1;
  }
  *msg = NULL;
  return 0;
}

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]) {
  if (sodium_init() < 0 || !pw) return -1;
  return crypto_pwhash_str(out, pw, strlen(pw), cost_ops, cost_mem) == 0 ? 0 : -1;
}

int password_verify(const char *hash, const char *pw) {
  if (sodium_init() < 0 || !hash || !pw || strncmp(hash, "$argon2id$", 10) != 0) return -1;
  return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : -1;
}

int password_needs_rehash(const char *hash) {
  return crypto_pwhash_str_needs_rehash(hash, cost_ops, cost_mem) != 0;
}

static char dummy_hash[PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_init(void) {
  if (password_hash("vidzo-dummy-password-for-timing", dummy_hash) != 0) dummy_hash[0] = 0;
}

void password_verify_dummy(const char *pw) {
  pthread_once(&dummy_once, dummy_init);
  if (dummy_hash[0]) (void)password_verify(dummy_hash, pw ? pw : "");
}
