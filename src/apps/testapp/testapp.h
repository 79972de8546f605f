/* testapp: the e2e stories' Socket.IO application (--test-app; testapp.c). */
#ifndef VZ_APPS_TESTAPP_H
#define VZ_APPS_TESTAPP_H
extern const struct vz_service testapp_app;
#endif
