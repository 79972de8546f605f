/* testapp: the e2e stories' Socket.IO application (--test-app; testapp.c). */
#ifndef VZ_APPS_TESTAPP_H
#define VZ_APPS_TESTAPP_H
extern const struct vz_service testapp_app;
/* Debug builds: the payment-provider routes /v1/_test/payments/... (payments.c). */
int testapp_payments_routes_add(void);
#endif
