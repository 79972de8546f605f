/* services: the one place that knows every service, so main.c starts them all and each
 * service stays unaware of the others (they meet through hooks and events). */
#ifndef VZ_SERVICES_H
#define VZ_SERVICES_H
#include <stddef.h>
typedef struct vz_db vz_db;
int services_init(void);      /* registers routes and hooks, before the loops start */
void services_shutdown(void); /* after the loops stopped */
/* -2: bad input (exit 2), -1: failure. */
int services_admin_create(vz_db *db, const char *email, const char *password, int if_missing, char *err, size_t errlen);
#endif
