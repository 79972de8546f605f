/* agora_service.c: the "agora" settings service and the calls that use its settings.
 * Agora's credentials belong to the integration, not to the service that happens to
 * issue tokens (streams today): one settings table, checked once at start, and the
 * certificate never leaves this file except inside a signed token. The descriptor has
 * no routes: streams owns POST /v1/streams/:id/token and the webhook route and calls
 * agora_issue_* / agora_webhook_check from them (docs/internals/agora.md). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/service.h"
#include "integrations/agora.h"

static struct {
  char app_id[64];
  char app_certificate[64];
  int token_expire;     /* seconds */
  int privilege_expire; /* seconds; 0: as the token */
  char webhook_secret[256];
} agora_settings;

static const vz_opt agora_opts[] = {
  VZ_OPT("agora-app-id", "VIDZO_AGORA_APP_ID", VZ_OPT_STR, agora_settings.app_id, 0, 0,
         "Agora project App ID, 32 hex characters (none: Agora tokens off)"),
  VZ_OPT("agora-app-certificate", "VIDZO_AGORA_APP_CERTIFICATE", VZ_OPT_STR, agora_settings.app_certificate, 0, 0,
         "Agora project primary certificate, 32 hex characters (secret; none: Agora tokens off)"),
  VZ_OPT("agora-token-expire", "VIDZO_AGORA_TOKEN_EXPIRE", VZ_OPT_INT, agora_settings.token_expire, 60, 86400,
         "seconds an Agora token is valid (3600; Agora allows at most 86400)"),
  VZ_OPT("agora-privilege-expire", "VIDZO_AGORA_PRIVILEGE_EXPIRE", VZ_OPT_INT, agora_settings.privilege_expire, 0,
         86400, "seconds the join/publish privileges last (0: as long as the token)"),
  VZ_OPT("agora-webhook-secret", "VIDZO_AGORA_WEBHOOK_SECRET", VZ_OPT_STR, agora_settings.webhook_secret, 0, 0,
         "secret of Agora Notifications, checks channel-event webhooks (secret; none: webhooks refused)"),
  { 0 },
};

/* Both credentials or neither; a half-configured project would hand out tokens Agora
 * refuses. The message names the setting, never its value. */
static int agora_init(void) {
  if (agora_settings.token_expire == 0) agora_settings.token_expire = 3600;
  int has_id = agora_settings.app_id[0] != 0, has_cert = agora_settings.app_certificate[0] != 0;
  const char *bad = NULL;
  if (has_id != has_cert) bad = has_id ? "VIDZO_AGORA_APP_CERTIFICATE is not set (VIDZO_AGORA_APP_ID is)"
                                       : "VIDZO_AGORA_APP_ID is not set (VIDZO_AGORA_APP_CERTIFICATE is)";
  else if (has_id && strlen(agora_settings.app_id) != 32) bad = "VIDZO_AGORA_APP_ID must be 32 hex characters";
  else if (has_cert && strlen(agora_settings.app_certificate) != 32)
    bad = "VIDZO_AGORA_APP_CERTIFICATE must be 32 hex characters";
  if (!bad && has_id) {
    /* a dry run checks the hex of both with the builder's own rules */
    char tok[AGORA_TOKEN_MAX];
    int rc = agora_rtm_token(&(agora_rtm_req){ .app_id = agora_settings.app_id,
                                               .app_certificate = agora_settings.app_certificate,
                                               .user = "check", .expire = 60, .issued_at = 1, .salt = 1 },
                             tok, sizeof tok);
    if (rc == AGORA_EAPP_ID) bad = "VIDZO_AGORA_APP_ID must be 32 hex characters";
    else if (rc == AGORA_ECERTIFICATE) bad = "VIDZO_AGORA_APP_CERTIFICATE must be 32 hex characters";
  }
  if (bad) {
    vz_log_error("agora settings refused", "reason", bad);
    fprintf(stderr, "vidzo: %s\n", bad);
    return -1;
  }
  return 0;
}

const vz_service agora_service = { .name = "agora", .about = "Agora tokens and channel-event webhooks (settings)",
                                   .opts = agora_opts, .init = agora_init };

int agora_enabled(void) { return agora_settings.app_id[0] && agora_settings.app_certificate[0]; }
int agora_webhook_enabled(void) { return agora_settings.webhook_secret[0] != 0; }
const char *agora_app_id(void) { return agora_settings.app_id; }

static uint32_t now_s(void) { return (uint32_t)time(NULL); }

int agora_issue_rtc(const char *channel, const char *account, uint32_t uid, int role, char *out, size_t cap,
                    int64_t *expires_at) {
  if (!agora_enabled()) return AGORA_EDISABLED;
  uint32_t now = now_s();
  int rc = agora_rtc_token(&(agora_rtc_req){ .app_id = agora_settings.app_id,
                                             .app_certificate = agora_settings.app_certificate,
                                             .channel = channel, .account = account, .uid = uid, .role = role,
                                             .expire = (uint32_t)agora_settings.token_expire,
                                             .privilege_expire = (uint32_t)agora_settings.privilege_expire,
                                             .issued_at = now },
                           out, cap);
  if (rc >= 0 && expires_at) {
    int64_t tok = (int64_t)now + agora_settings.token_expire;
    int64_t priv = agora_settings.privilege_expire ? (int64_t)now + agora_settings.privilege_expire : tok;
    *expires_at = priv < tok ? priv : tok; /* the first of the two the client hits */
  }
  return rc;
}

int agora_issue_rtm(const char *user, char *out, size_t cap, int64_t *expires_at) {
  if (!agora_enabled()) return AGORA_EDISABLED;
  uint32_t now = now_s();
  int rc = agora_rtm_token(&(agora_rtm_req){ .app_id = agora_settings.app_id,
                                             .app_certificate = agora_settings.app_certificate, .user = user,
                                             .expire = (uint32_t)agora_settings.token_expire, .issued_at = now },
                           out, cap);
  if (rc >= 0 && expires_at) *expires_at = (int64_t)now + agora_settings.token_expire;
  return rc;
}

int agora_webhook_check(const void *body, size_t n, const char *sig_v1, const char *sig_v2) {
  if (!agora_webhook_enabled()) return AGORA_EDISABLED;
  return agora_webhook_verify(agora_settings.webhook_secret, body, n, sig_v1, sig_v2);
}
