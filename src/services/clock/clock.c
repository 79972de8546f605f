/* clock: the server's time, for clients that must agree with it (auction countdowns,
 * flash sale starts, chat replay against a recording). GET /v1/time answers over HTTP;
 * the "time" socket event answers on the connection the countdown runs on, and echoes
 * the client's send time so one round trip gives the offset:
 *   offset = server_ts - (client_ts + received_at) / 2,  error <= round trip / 2.
 * It is the first socket event written the declared way (realtime/sio_events.h). */
#include "core/http.h"
#include "core/service.h"
#include "lib/clock.h"
#include "realtime/sio_events.h"
#include "services/clock/clock.h"

static json_t *now_json(void) {
  int64_t ms = vz_wall_ms();
  return json_pack("{s:I, s:o}", "server_ts", (json_int_t)ms, "iso", vz_json_time(ms));
}

static int time_get(vz_req *req) { return vz_reply_item(req, 200, now_json()); }

/* {client_ts?} -> {server_ts, iso, client_ts} */
static int time_event(vz_req *req) {
  json_t *o = now_json();
  json_t *sent = json_object_get(req->json, "client_ts");
  json_object_set_new(o, "client_ts", sent ? json_incref(sent) : json_null());
  return vz_reply_item(req, 200, o);
}

static const vz_field time_in[] = {
  { "client_ts", VZ_INT, 0, 0, 9007199254740991LL, 0 }, /* ms; up to 2^53-1, a JS number */
  { 0 },
};

static vz_route clock_routes[] = {
  /* no database: answered on the loop */
  VZ_GET("/v1/time", time_get, .op = "getTime",
         .summary = "The server's clock, for countdowns that must agree with it", .res = "ServerTime",
         .flags = VZ_ON_LOOP | VZ_NO_LOG),
  { 0 },
};

static sio_event clock_events[] = {
  { .nsp = "/", .event = "time", .handler = time_event, .in = time_in, .flags = SIO_ON_LOOP, .rate_per_min = 120,
    .op = "syncTime", .summary = "The server's clock, echoing the client's send time (one round trip gives the offset)",
    .res = "ServerTimeEcho" },
  { 0 },
};

const vz_service clock_service = { .name = "clock", .about = "The server's clock, for countdowns that must agree with it", .routes = clock_routes, .events = clock_events };
