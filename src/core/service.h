/* service: everything a service plugs into the server, as one constant struct (nginx's
 * ngx_module_t, h2o's one register call per feature). services.c lists the descriptors;
 * the core walks that list, so a new service is its own folder plus one line there.
 *
 *   const vz_service orders_service = {
 *     .name = "orders", .opts = orders_opts, .routes = orders_routes,
 *     .queues = orders_queues, .topics = orders_topics, .on = orders_on,
 *     .metrics = orders_metrics, .init = orders_init, .start = orders_start, .stop = orders_stop };
 *
 * Lifecycle, in list order (stop in reverse):
 *   settings   opts rows join the one config table (flags, VIDZO_* env, help, "flags win")
 *   init       after settings: check them, build memory state, register what is not data.
 *              No files, no connections: `vidzo routes` runs only this far.
 *   register   routes, job queues, bus topics, event subscriptions (core/events.h: the
 *              core's own first, then each service's; ASYNC ones get their job queue),
 *              metrics writer, loop hooks (by the core); then the subscriptions are sealed
 *   start      `vidzo serve` only, before the loops: files, database, threads
 *   loop_start on each io loop's thread before it runs; drain on each loop at SIGTERM
 *   stop       after the loops ended
 * A registry that is full or a name taken twice stops start-up with the service named. */
#ifndef VZ_SERVICE_H
#define VZ_SERVICE_H
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/config.h"
#include "core/events.h"
#include "core/http.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "jobs/runner.h"

/* A durable job queue the service works (jobs/runner.h). */
typedef struct vz_queue {
  const char *name;
  jobs_handler handler;
  int64_t lease_ms;
} vz_queue;

/* A bus subscription (core/bus.h): topic prefix without "vz:". */
typedef struct vz_topic {
  const char *prefix;
  vz_bus_fn fn;
} vz_topic;

struct sio_event;

typedef struct vz_service {
  const char *name;
  const char *about;            /* one line: the description of its tag in the API reference */
  const vz_opt *opts;           /* settings rows, {0}-terminated; NULL: none */
  vz_route *routes;             /* HTTP routes, {0}-terminated; NULL: none */
  struct sio_event *events;     /* Socket.IO events (realtime/sio_events.h), {0}-terminated */
  const vz_queue *queues;       /* job queues, {0}-terminated */
  const vz_topic *topics;       /* bus subscriptions, {0}-terminated */
  const vz_subscription *on;    /* event subscriptions (core/events.h), {0}-terminated */
  vz_metrics_writer metrics;    /* appends the service's series to /metrics */
  int (*init)(void);            /* 0 or <0 (start-up fails, naming the service) */
  int (*start)(void);
  void (*loop_start)(vz_loop *l);
  void (*drain)(vz_loop *l);
  void (*stop)(void);
} vz_service;

/* The realtime module takes the services' socket events through this (the core does not
 * depend on it); tables registered before it is set are handed over when it is. */
int vz_service_events_adder(int (*add)(struct sio_event *table));

/* Appends every service's settings to the config table (before vz_config_load). */
int vz_services_settings(const vz_service *const *list, char *err, size_t errlen);
/* init, then registration of routes, queues, topics, event subscriptions, metrics and
 * loop hooks; ends by sealing the event subscriptions. */
int vz_services_init(const vz_service *const *list, char *err, size_t errlen);
/* The list vz_services_init was given (the contract names their tags), NULL before. */
const vz_service *const *vz_services_current(void);
int vz_services_start(const vz_service *const *list, char *err, size_t errlen);
void vz_services_stop(const vz_service *const *list);
#endif
