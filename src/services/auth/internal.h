/* Shared by the auth route files only. */
#ifndef VZ_AUTH_INTERNAL_H
#define VZ_AUTH_INTERNAL_H
#include "core/http.h"

/* Admin and moderator accounts must have TOTP on before their token carries the role
 * (VIDZO_TOTP_OPTIONAL=1 turns this off for development). */
extern int auth_totp_required;

int auth_h_signup(vz_req *req);
int auth_h_verify_email(vz_req *req);
int auth_h_signin(vz_req *req);
int auth_h_refresh(vz_req *req);
int auth_h_signout(vz_req *req);
int auth_h_sessions(vz_req *req);
int auth_h_session_revoke(vz_req *req);
int auth_h_otp_request(vz_req *req);
int auth_h_otp_verify(vz_req *req);
int auth_h_forgot(vz_req *req);
int auth_h_reset(vz_req *req);
int auth_h_oauth(vz_req *req);
int auth_h_totp_setup(vz_req *req);
int auth_h_totp_enable(vz_req *req);
#endif
