/* bus: a prefix table in front of cache pub/sub (see bus.h). */
#include "core/bus.h"

#include <stdio.h>
#include <string.h>

#include "cache/cache.h"

#define MAX_SUBS 16
static struct { char prefix[32]; vz_bus_fn fn; } subs[MAX_SUBS];
static int nsubs, started;

int vz_bus_subscribe(const char *topic_prefix, vz_bus_fn fn) {
  if (nsubs >= MAX_SUBS || strlen(topic_prefix) >= sizeof subs[0].prefix) return -1;
  snprintf(subs[nsubs].prefix, sizeof subs[nsubs].prefix, "%s", topic_prefix);
  subs[nsubs++].fn = fn;
  return 0;
}

static void deliver(const char *channel, const void *data, size_t len, void *arg) {
  (void)arg;
  if (strncmp(channel, "vz:", 3) != 0) return;
  const char *topic = channel + 3;
  for (int i = 0; i < nsubs; i++)
    if (strncmp(topic, subs[i].prefix, strlen(subs[i].prefix)) == 0) subs[i].fn(topic, data, len);
}

int vz_bus_start(const char *redis_url_or_null) {
  started = 1;
  return cache_pubsub_start(redis_url_or_null, deliver, NULL);
}

void vz_bus_stop(void) {
  if (started) cache_pubsub_stop();
  started = 0;
}

int vz_bus_publish(const char *topic, const void *data, size_t len) {
  char channel[160];
  if ((size_t)snprintf(channel, sizeof channel, "vz:%s", topic) >= sizeof channel) return -1;
  return cache_publish(channel, data, len);
}
