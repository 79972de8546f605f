/* services: the one place that knows every service, as a list of descriptors
 * (core/service.h) that main.c walks; each service stays unaware of the others (they
 * meet through hooks and events). */
#ifndef VZ_SERVICES_H
#define VZ_SERVICES_H
#include <stddef.h>
typedef struct vz_db vz_db;
typedef struct vz_service vz_service;
extern const vz_service *const vz_service_list[]; /* NULL-terminated, in start order */
/* -2: bad input (exit 2), -1: failure. */
int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err, size_t errlen);
#endif
