/* password: argon2id hashing (libsodium crypto_pwhash_str) and the password rules.
 * The cost is process-wide and set once at start-up (tests lower it to stay fast);
 * hashes carry their own parameters, so raising the cost later only means
 * password_needs_rehash() turns true and the next sign-in stores a fresh hash. */
#ifndef VZ_AUTH_PASSWORD_H
#define VZ_AUTH_PASSWORD_H
#include <stddef.h>

#define PASSWORD_MIN 10
#define PASSWORD_MAX 128
#define PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* Call before any thread hashes. ops >= 1, mem >= 8 KiB; 0 keeps the default
 * (ops 2, 64 MiB: libsodium's INTERACTIVE level, about 50 ms here). */
void password_set_cost(unsigned long long ops, size_t mem);

/* 0 when pw is acceptable; else -1 and *msg says what to change, in words a user reads. */
int password_check_rules(const char *pw, const char **msg);
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);
/* 0 on match, -1 otherwise (including a NULL or malformed hash). */
int password_verify(const char *hash, const char *pw);
int password_needs_rehash(const char *hash);
/* Spends the time of one verification, so "no such account" takes as long as "wrong
 * password" and response time does not reveal which emails exist. */
void password_verify_dummy(const char *pw);
#endif
