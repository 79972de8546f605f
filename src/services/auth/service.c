/* auth/service.c: the auth service's descriptor (core/service.h) and its settings. Each
 * is a flag and a VIDZO_* variable like every other setting; flags win. */
#include "core/service.h"
#include "services/auth/auth.h"
#include "services/auth/internal.h"

auth_settings_t auth_settings;

static const vz_opt auth_opts[] = {
  VZ_OPT("google-client-ids", "VIDZO_GOOGLE_CLIENT_IDS", VZ_OPT_STR, auth_settings.google_client_ids, 0, 0,
         "accepted Google ID token audiences, comma list (none: Google sign-in off)"),
  VZ_OPT("google-jwks", "VIDZO_GOOGLE_JWKS", VZ_OPT_STR, auth_settings.google_jwks, 0, 0,
         "Google's JWKS: https URL or file path"),
  VZ_OPT("apple-client-ids", "VIDZO_APPLE_CLIENT_IDS", VZ_OPT_STR, auth_settings.apple_client_ids, 0, 0,
         "accepted Sign in with Apple audiences, comma list (none: off)"),
  VZ_OPT("apple-jwks", "VIDZO_APPLE_JWKS", VZ_OPT_STR, auth_settings.apple_jwks, 0, 0,
         "Apple's JWKS: https URL or file path"),
  VZ_OPT("jwt-keys", "VIDZO_JWT_KEYS", VZ_OPT_STR, auth_settings.jwt_keys, 0, 0,
         "access-token key ring kid:secret,... newest first (derived from --jwt-secret)"),
  VZ_OPT("jwt-alg", "VIDZO_JWT_ALG", VZ_OPT_STR, auth_settings.jwt_alg, 0, 0, "HS256 (default) or EdDSA"),
  VZ_OPT("totp-optional", "VIDZO_TOTP_OPTIONAL", VZ_OPT_BOOL, auth_settings.totp_optional, 0, 1,
         "admin and moderator roles work before TOTP is enrolled (demo and tests only)"),
  VZ_OPT("auth-ip-limit-scale", "VIDZO_AUTH_IP_LIMIT_SCALE", VZ_OPT_INT, auth_settings.ip_limit_scale, 1, 1000,
         "multiplies the per-IP auth limits (1; 100 under --dev); per-account limits never scale"),
  VZ_OPT("password-cost-fast", "VIDZO_PASSWORD_COST_FAST", VZ_OPT_BOOL, auth_settings.password_cost_fast, 0, 1,
         "cheap argon2id parameters, for tests only"),
  { 0 },
};

const vz_service auth_service = {
  .name = "auth", .about = "Accounts, sign-in (password, codes, providers, two-factor) and sessions",
  .opts = auth_opts, .routes = auth_routes, .on = auth_on,
  .init = auth_init, .start = auth_start, .stop = auth_shutdown,
};
