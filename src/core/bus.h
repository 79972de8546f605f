/* bus: one cross-instance message bus for every module. With Redis configured, messages
 * travel over Redis pub/sub (channel "vz:<topic>"); without it they are delivered in
 * process. Handlers run on the subscriber thread (or the publisher's, locally): they must
 * only hand work over (vz_loop_post, atomics), never block. One subscriber thread serves
 * all topics, so modules register a prefix here instead of calling cache_pubsub_start. */
#ifndef VZ_BUS_H
#define VZ_BUS_H
#include <stddef.h>
typedef void (*vz_bus_fn)(const char *topic, const void *data, size_t len);
/* Before vz_bus_start. topic_prefix without "vz:", e.g. "sio:" or "inv:". */
int vz_bus_subscribe(const char *topic_prefix, vz_bus_fn fn);
int vz_bus_start(const char *redis_url_or_null);
void vz_bus_stop(void);
/* From any thread; returns <0 when the bus is down (the message is lost). */
int vz_bus_publish(const char *topic, const void *data, size_t len);
#endif
