/* realtime/service.c: the real-time gateway plugs in like a service: its setting, its
 * /metrics series, init (namespace "/", the /socket.io/ mount: no side effects) and start
 * (recovery, the broadcast threads and presence, serve only). Applications (apps/) and
 * services add namespaces and events through sio.h in their own init. */
#include "core/service.h"
#include "realtime/eio.h"
#include "realtime/sio.h"
#include "realtime/sio_events.h"

static int recovery = 1;

static const vz_opt realtime_opts[] = {
  VZ_OPT("sio-recovery", "VIDZO_SIO_RECOVERY", VZ_OPT_BOOL, recovery, 0, 1,
         "Socket.IO connection state recovery (true)"),
  { 0 },
};

/* Realtime figures for /metrics, summed over the io loops. */
static void realtime_metrics(char **b, size_t *l, size_t *c) {
  eio_stats st;
  eio_stats_sum(&st);
  uint64_t delivered;
  long rooms;
  sio_stats_sum(&delivered, &rooms);
  uint64_t rec_mem, rec_stream, rec_fresh;
  sio_recovery_stats(&rec_mem, &rec_stream, &rec_fresh);
  vz_metrics_printf(b, l, c,
                    "# TYPE vidzo_realtime_connections_open gauge\n"
                    "vidzo_realtime_connections_open{transport=\"websocket\"} %ld\n"
                    "vidzo_realtime_connections_open{transport=\"polling\"} %ld\n"
                    "# TYPE vidzo_realtime_upgrades_total counter\nvidzo_realtime_upgrades_total %ld\n"
                    "# TYPE vidzo_realtime_slow_consumers_dropped_total counter\n"
                    "vidzo_realtime_slow_consumers_dropped_total %ld\n"
                    "# TYPE vidzo_realtime_bad_input_total counter\nvidzo_realtime_bad_input_total %ld\n"
                    "# TYPE vidzo_realtime_messages_delivered_total counter\n"
                    "vidzo_realtime_messages_delivered_total %llu\n"
                    "# TYPE vidzo_realtime_rooms gauge\nvidzo_realtime_rooms %ld\n"
                    "# TYPE vidzo_realtime_recoveries_total counter\n"
                    "vidzo_realtime_recoveries_total{from=\"memory\"} %llu\n"
                    "vidzo_realtime_recoveries_total{from=\"stream\"} %llu\n"
                    "vidzo_realtime_recoveries_total{from=\"none\"} %llu\n",
                    st.ws, st.polling, st.upgrades, st.slow_dropped, st.bad_input,
                    (unsigned long long)delivered, rooms, (unsigned long long)rec_mem,
                    (unsigned long long)rec_stream, (unsigned long long)rec_fresh);
  sio_events_metrics(b, l, c);
}

static int realtime_start(void) { return sio_start(recovery); }

const vz_service realtime_service = {
  .name = "realtime", .opts = realtime_opts, .metrics = realtime_metrics,
  .init = sio_init, .start = realtime_start,
};
