/* service: walks the services.c list through the lifecycle in service.h. Every
 * registration that can fail (a full table, a name taken twice) stops start-up with the
 * service named: a service that silently lost its routes or hooks would be worse. */
#include "core/service.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

int vz_services_settings(const vz_service *const *list, char *err, size_t errlen) {
  for (const vz_service *const *s = list; *s; s++)
    if ((*s)->opts && vz_config_add((*s)->name, (*s)->opts, err, errlen) < 0) return -1;
  return 0;
}

#define MAX_PENDING_EVENTS 32
static int (*events_add)(struct sio_event *table);
static struct {
  struct sio_event *table;
  const char *owner;
} pending[MAX_PENDING_EVENTS];
static int npending;

int vz_service_events_adder(int (*add)(struct sio_event *table)) {
  events_add = add;
  for (int i = 0; i < npending; i++)
    if (add(pending[i].table) < 0) {
      vz_log_error("could not register socket events", "service", pending[i].owner);
      return -1;
    }
  npending = 0;
  return 0;
}

static int fail(char *err, size_t errlen, const vz_service *s, const char *what) {
  snprintf(err, errlen, "service %s: %s", s->name, what);
  return -1;
}

/* One table of event subscriptions; the message names the service and the row at fault. */
static int subscribe(const char *name, const vz_subscription *on, char *err, size_t errlen) {
  char why[160];
  for (const vz_subscription *o = on; o && o->kind; o++)
    if (vz_event_subscribe(name, o, why, sizeof why) < 0) {
      snprintf(err, errlen, "service %s: %s", name, why);
      return -1;
    }
  return 0;
}

static int register_service(const vz_service *s, char *err, size_t errlen) {
  if (s->routes && vz_routes_add_tagged(s->routes, s->name) < 0) return fail(err, errlen, s, "could not register its routes (route table full?)");
  if (s->events) {
    if (events_add) {
      if (events_add(s->events) < 0) return fail(err, errlen, s, "could not register its socket events (taken, or full)");
    } else {
      if (npending == MAX_PENDING_EVENTS) return fail(err, errlen, s, "too many socket event tables before realtime");
      pending[npending].table = s->events;
      pending[npending++].owner = s->name;
    }
  }
  for (const vz_queue *q = s->queues; q && q->name; q++)
    if (jobs_register(q->name, q->handler, q->lease_ms) < 0)
      return fail(err, errlen, s, "could not register a job queue (taken, or the queue table is full)");
  for (const vz_topic *t = s->topics; t && t->prefix; t++)
    if (vz_bus_subscribe(t->prefix, t->fn) < 0) return fail(err, errlen, s, "could not subscribe to a bus topic (table full?)");
  if (subscribe(s->name, s->on, err, errlen) < 0) return -1;
  if (s->metrics && vz_metrics_register(s->metrics) < 0) return fail(err, errlen, s, "too many metrics writers");
  if (s->loop_start && vz_on_loop_start(s->loop_start) < 0) return fail(err, errlen, s, "too many loop-start hooks");
  if (s->drain && vz_on_drain(s->drain) < 0) return fail(err, errlen, s, "too many drain hooks");
  return 0;
}

static const vz_service *const *current_list;
const vz_service *const *vz_services_current(void) { return current_list; }

int vz_services_init(const vz_service *const *list, char *err, size_t errlen) {
  current_list = list;
  /* the core's tables react first; then the services, in list order */
  if (subscribe("core", vz_core_on, err, errlen) < 0) return -1;
  for (const vz_service *const *s = list; *s; s++) {
    if ((*s)->init && (*s)->init() < 0) return fail(err, errlen, *s, "init failed (see the log line before)");
    if (register_service(*s, err, errlen) < 0) return -1;
  }
  vz_event_seal(); /* emits are refused until here: no service's part can be skipped */
  return 0;
}

int vz_services_start(const vz_service *const *list, char *err, size_t errlen) {
  for (const vz_service *const *s = list; *s; s++)
    if ((*s)->start && (*s)->start() < 0) return fail(err, errlen, *s, "start failed (see the log line before)");
  return 0;
}

void vz_services_stop(const vz_service *const *list) {
  int n = 0;
  while (list[n]) n++;
  while (n-- > 0)
    if (list[n]->stop) list[n]->stop();
}
