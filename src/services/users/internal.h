/* Shared by the .c files of services/users only; not part of the module interface. */
#ifndef VZ_USERS_INTERNAL_H
#define VZ_USERS_INTERNAL_H
#include "services/users/users.h"

void users_fail(users_err *e, int status, const char *code, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
#define USERS_DBERR(e) (users_fail((e), 503, "unavailable", NULL, "database unavailable"), USERS_EDB)
#define USERS_PAGE_MAX 100
#define USERS_AVATAR_MAX (2u << 20) /* bytes of image */

#include "core/http.h"
#include "core/list.h"
int users_h_search(vz_req *req);
/* A page of users selected with avatar_media_id: rows whose mids[i] is set get the same
 * avatar_url as GET /v1/users/:id (the media's 480 px WebP, null while processing),
 * one media query per 32 rows. 0 or a db.h code. */
int users_avatars_fill(vz_db *db, vz_page *pg, const int64_t *mids, int n);
int users_h_device_add(vz_req *req);
int users_h_device_list(vz_req *req);
int users_h_device_delete(vz_req *req);
int users_h_seller_apply(vz_req *req);
int users_h_seller_mine(vz_req *req);
int users_h_seller_list(vz_req *req);
int users_h_seller_approve(vz_req *req);
int users_h_seller_reject(vz_req *req);
int users_h_avatar_put(vz_req *req);
int users_h_suspend(vz_req *req);
int users_h_unsuspend(vz_req *req);
extern const vz_field users_suspend_in[];
#endif
