/* audit: the platform-wide trail of privileged actions (table audit_log, migration 105).
 * Every admin or moderator action, seller approval, role change and account deletion
 * records one row, inside the same transaction as the change when there is one. */
#ifndef VZ_AUDIT_H
#define VZ_AUDIT_H
#include <stdint.h>

typedef struct vz_db vz_db;

/* actor 0: the system or the CLI. detail_json: a JSON object or NULL ("{}"); ip may be
 * NULL. Returns 0 or a negative DB_* code. */
int audit_record(vz_db *db, int64_t actor, const char *action, const char *target_type,
                 int64_t target_id, const char *detail_json);
int audit_record_ip(vz_db *db, int64_t actor, const char *action, const char *target_type,
                    int64_t target_id, const char *detail_json, const char *ip);
/* vz_hook.audit: the row of a VZ_AUDIT route, inside the request transaction (hook.c). */
struct vz_req;
void audit_hook(struct vz_req *req);
/* Installs audit_hook (the routes are the descriptor's). */
int audit_init(void);
extern const struct vz_service audit_service;
#endif
