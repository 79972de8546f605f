/* clock: GET /v1/time and the "time" socket event (clock.c). */
#ifndef VZ_CLOCK_H
#define VZ_CLOCK_H
extern const struct vz_service clock_service;
#endif
