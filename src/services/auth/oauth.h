/* oauth: verifies Google and Apple ID tokens (OpenID Connect Core 1.0 3.1.3.7) against
 * the provider's JWKS, fetched over HTTPS and cached, or read from a file in tests. */
#ifndef VZ_AUTH_OAUTH_H
#define VZ_AUTH_OAUTH_H
#include <stddef.h>

struct auth_config;

/* OAUTH_ENOMEM: the token could not be checked for want of memory (not a bad token). */
enum { OAUTH_OK = 0, OAUTH_EPROVIDER = -1, OAUTH_EJWKS = -2, OAUTH_EINVALID = -3, OAUTH_ENOMEM = -4 };

typedef struct oauth_identity {
  char provider[16];   /* "google" | "apple" */
  char subject[256];   /* sub: stable per provider */
  char email[320];     /* may be empty (Apple after the first sign-in) */
  int email_verified;
  char name[128];      /* Google "name" when present */
} oauth_identity;

int oauth_setup(const struct auth_config *cfg, char *err, size_t errlen);
void oauth_shutdown(void);
/* nonce: what the client sent to the provider (NULL: no nonce check). */
int oauth_verify_id_token(const char *provider, const char *id_token, const char *nonce,
                          oauth_identity *out);
#endif
