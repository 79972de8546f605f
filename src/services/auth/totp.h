/* totp: RFC 6238 time-based one-time passwords (HMAC-SHA-1, 30 s steps, 6 digits) for
 * two-factor sign-in of admin and moderator accounts, with RFC 4648 base32 secrets as
 * authenticator apps expect them. */
#ifndef VZ_AUTH_TOTP_H
#define VZ_AUTH_TOTP_H
#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP 30
#define TOTP_SECRET_BYTES 20 /* RFC 4226 4 R6: 160 bits recommended */
#define TOTP_SECRET_B32 33   /* 32 base32 characters + NUL */

/* RFC 4226 HOTP value of counter, reduced to digits (6..8). */
uint32_t totp_hotp(const unsigned char *key, size_t klen, uint64_t counter, int digits);
/* Code for unix time t. */
uint32_t totp_at(const unsigned char *key, size_t klen, int64_t t, int digits);
/* Checks a 6-digit code at now with one step of drift either way. Steps at or before
 * *last_step are refused (a code works once); on success *last_step is the matched step. */
int totp_verify(const char *secret_b32, const char *code, int64_t now, int64_t *last_step);
/* Database side (totp_store.c): records step as the last one used by account uid, with a
 * conditional UPDATE (... AND totp_last_step < step), so of parallel sign-ins holding the
 * same code exactly one gets 0; the others get TOTP_EUSED. <0 other: database error. */
typedef struct vz_db vz_db;
#define TOTP_EUSED 1
int totp_take_step(vz_db *db, int64_t uid, int64_t step);

/* A fresh random secret, base32 without padding. */
int totp_new_secret(char out[TOTP_SECRET_B32]);
/* otpauth://totp/<issuer>:<account>?secret=..&issuer=..  (the Key Uri Format apps scan). */
int totp_uri(const char *issuer, const char *account, const char *secret, char *out, size_t cap);

/* RFC 4648 section 6, upper case, no padding; decode accepts lower case and ignores '='
 * padding and spaces at the end. Return lengths or -1. */
int base32_encode(const unsigned char *in, size_t len, char *out, size_t cap);
int base32_decode(const char *in, unsigned char *out, size_t cap);
#endif
