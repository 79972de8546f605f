/* conformance: the official Socket.IO suites' application (--conformance; conformance.c). */
#ifndef VZ_APPS_CONFORMANCE_H
#define VZ_APPS_CONFORMANCE_H
extern const struct vz_service conformance_app;
#endif
