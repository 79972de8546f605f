/* oauth.c: Google / Apple ID-token verification with a per-provider JWKS cache.
 *
 * The cached ring is reference counted: a verifier takes a reference under the mutex and
 * verifies without it, so a refresh never frees a ring in use. The JWKS is refetched
 * when its max-age passes, or at most once a minute when a token names a kid we do not
 * have (the provider rotated keys). The fetch runs on the integrations thread (breaker
 * "jwks"); a worker thread waits for it (its routes run on the pool), never an event loop. */
#include "services/auth/oauth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "integrations/http.h"
#include "services/auth/auth.h"
#include "services/auth/jwt.h"

#define JWKS_MAX (256 * 1024)
#define JWKS_DEFAULT_TTL 3600
#define JWKS_MIN_REFETCH 60

typedef struct shared_ring { jwt_ring *ring; int refs; } shared_ring;

typedef struct provider {
  const char *name;
  const char *issuers[3];
  char source[1024];   /* https URL or file path; empty: provider disabled */
  char auds[1024];     /* comma-separated client ids */
  pthread_mutex_t mu;
  shared_ring *cur;
  time_t expires, fetched;
} provider;

static provider providers[] = {
    {"google", {"https://accounts.google.com", "accounts.google.com", NULL}, "", "",
     PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0},
    {"apple", {"https://appleid.apple.com", NULL, NULL}, "", "", PTHREAD_MUTEX_INITIALIZER,
     NULL, 0, 0},
};
#define NPROV (sizeof providers / sizeof providers[0])

static void ring_release(provider *p, shared_ring *s) {
  if (!s) return;
  pthread_mutex_lock(&p->mu);
  int last = --s->refs == 0;
  pthread_mutex_unlock(&p->mu);
  if (last) {
    jwt_ring_free(s->ring);
    free(s);
  }
}

typedef struct buf { char *p; size_t n; long max_age; } buf;

static size_t on_body(char *d, size_t sz, size_t nm, void *ud) {
  buf *b = ud;
  size_t n = sz * nm;
  if (b->n + n > JWKS_MAX) return 0; /* aborts the transfer */
  char *np = realloc(b->p, b->n + n + 1);
  if (!np) return 0;
  memcpy(np + b->n, d, n);
  b->p = np;
  b->n += n;
  b->p[b->n] = 0;
  return n;
}

/* Reads the JWKS document; *ttl gets its lifetime in seconds. */
static int jwks_load(const char *src, buf *b) {
  memset(b, 0, sizeof *b);
  b->max_age = JWKS_DEFAULT_TTL;
  if (strncmp(src, "https://", 8) == 0) {
    /* Fetched by the integrations thread (breaker "jwks"); this worker waits for it. */
    integ_request rq = {.integration = "jwks", .url = src, .protocols = "https",
                        .timeout_ms = 5000, .deadline_ms = 5000, .max_retries = 1,
                        .idempotent = 1, .max_response = JWKS_MAX};
    integ_response res;
    char cc[256];
    if (integ_call_sync(&rq, &res) != INTEG_OK || res.status != 200) {
      integ_response_clear(&res);
      goto fail;
    }
    if (integ_response_header(&res, "cache-control", cc, sizeof cc) > 0) {
      char *m = strcasestr(cc, "max-age=");
      if (m) b->max_age = strtol(m + 8, NULL, 10);
    }
    b->p = res.body; /* taken from the response */
    b->n = res.body_len;
    res.body = NULL;
    integ_response_clear(&res);
  } else {
    FILE *f = fopen(src, "rb");
    char chunk[4096];
    size_t n;
    if (!f) return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
      if (on_body(chunk, 1, n, b) != n) break;
    fclose(f);
    b->max_age = 5; /* files are for tests: re-read them often */
  }
  if (!b->p) goto fail;
  return 0;
fail:
  free(b->p);
  b->p = NULL;
  return -1;
}

/* Returns a referenced ring for p, refreshing it when stale or when force is set and the
 * last fetch is over a minute old. NULL when no JWKS could ever be loaded. */
static shared_ring *ring_get(provider *p, int force) {
  time_t now = time(NULL);
  shared_ring *s = NULL;
  pthread_mutex_lock(&p->mu);
  if (!p->cur || now >= p->expires || (force && now - p->fetched >= JWKS_MIN_REFETCH)) {
    buf b;
    p->fetched = now;
    if (jwks_load(p->source, &b) == 0) {
      shared_ring *n = calloc(1, sizeof *n);
      if (n && (n->ring = jwt_ring_new()) && jwt_ring_load_jwks(n->ring, b.p, b.n) > 0) {
        n->refs = 1;
        if (p->cur && --p->cur->refs == 0) {
          jwt_ring_free(p->cur->ring);
          free(p->cur);
        }
        p->cur = n;
        p->expires = now + (b.max_age > 0 ? b.max_age : JWKS_DEFAULT_TTL);
      } else if (n) {
        jwt_ring_free(n->ring);
        free(n);
      }
      free(b.p);
    }
  }
  if (p->cur) {
    s = p->cur;
    s->refs++;
  }
  pthread_mutex_unlock(&p->mu);
  return s;
}

int oauth_setup(const struct auth_config *cfg, char *err, size_t errlen) {
  const char *src[NPROV] = {cfg->google_jwks, cfg->apple_jwks};
  const char *aud[NPROV] = {cfg->google_client_ids, cfg->apple_client_ids};
  for (size_t i = 0; i < NPROV; i++) {
    providers[i].source[0] = providers[i].auds[0] = 0;
    if (!aud[i] || !*aud[i]) continue;
    if (!src[i] || !*src[i]) {
      snprintf(err, errlen, "auth: %s client ids set but no JWKS source", providers[i].name);
      return -1;
    }
    if (strncmp(src[i], "https://", 8) == 0 && integ_register(&(integ_conf){.name = "jwks"}) < 0) {
      snprintf(err, errlen, "auth: cannot register the jwks integration");
      return -1;
    }
    snprintf(providers[i].source, sizeof providers[i].source, "%s", src[i]);
    snprintf(providers[i].auds, sizeof providers[i].auds, "%s", aud[i]);
  }
  return 0;
}

void oauth_shutdown(void) {
  for (size_t i = 0; i < NPROV; i++) {
    provider *p = &providers[i];
    pthread_mutex_lock(&p->mu);
    shared_ring *s = p->cur;
    p->cur = NULL;
    p->expires = p->fetched = 0;
    pthread_mutex_unlock(&p->mu);
    ring_release(p, s);
  }
}

/* OIDC Core 3.1.3.7 steps 2-3: aud must contain our client id; we accept any of ours. */
static int verify_with(provider *p, shared_ring *s, const char *tok, const char *nonce,
                       json_t **claims) {
  char auds[1024], *save = NULL;
  int rc = JWT_EAUD;
  snprintf(auds, sizeof auds, "%s", p->auds);
  for (char *a = strtok_r(auds, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
    jwt_expect ex = {.iss = p->issuers, .aud = a, .nonce = nonce, .leeway = 60};
    rc = jwt_verify(s->ring, tok, &ex, claims);
    if (rc != JWT_EAUD) break;
  }
  return rc;
}

int oauth_verify_id_token(const char *name, const char *tok, const char *nonce,
                          oauth_identity *out) {
  provider *p = NULL;
  json_t *c = NULL;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < NPROV; i++)
    if (name && strcmp(providers[i].name, name) == 0 && providers[i].source[0]) p = &providers[i];
  if (!p) return OAUTH_EPROVIDER;
  shared_ring *s = ring_get(p, 0);
  if (!s) return OAUTH_EJWKS;
  int rc = verify_with(p, s, tok, nonce, &c);
  if (rc == JWT_EKEY) { /* maybe the provider rotated: refetch (rate limited) and retry */
    ring_release(p, s);
    if (!(s = ring_get(p, 1))) return OAUTH_EJWKS;
    rc = verify_with(p, s, tok, nonce, &c);
  }
  ring_release(p, s);
  if (rc == JWT_ENOMEM) return OAUTH_ENOMEM;
  if (rc != JWT_OK) return OAUTH_EINVALID;
  const char *sub = json_string_value(json_object_get(c, "sub"));
  const char *email = json_string_value(json_object_get(c, "email"));
  const char *nm = json_string_value(json_object_get(c, "name"));
  json_t *ev = json_object_get(c, "email_verified");
  if (!sub || !*sub || strlen(sub) >= sizeof out->subject) {
    json_decref(c);
    return OAUTH_EINVALID;
  }
  snprintf(out->provider, sizeof out->provider, "%s", p->name);
  snprintf(out->subject, sizeof out->subject, "%s", sub);
  if (email && strlen(email) < sizeof out->email) snprintf(out->email, sizeof out->email, "%s", email);
  if (nm) snprintf(out->name, sizeof out->name, "%s", nm);
  /* Google sends a boolean; Apple has sent the string "true". */
  out->email_verified = out->email[0] && (json_is_true(ev) ||
                        (json_is_string(ev) && strcmp(json_string_value(ev), "true") == 0));
  json_decref(c);
  return OAUTH_OK;
}
