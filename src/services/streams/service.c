/* streams/service.c: the descriptor, the settings and the job queues of the streams
 * service (issue 18). The ingest edge (nginx-rtmp, supervised) is ingest.c, its hooks
 * hooks.c, recordings recording.c, the state machine state.c, the API routes.c. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/service.h"
#include "services/streams/internal.h"

streams_cfg streams_conf = {
  .grace_s = 30, .rtmp = 0, .rtmp_port = 1935, .hls_port = 8088, .rtmp_host = "localhost",
  .nginx_bin = "/usr/sbin/nginx", .ffmpeg_bin = "/usr/bin/ffmpeg", .thumbs = 1,
};

static const vz_opt streams_opts[] = {
  VZ_OPT("stream-grace", "VIDZO_STREAM_GRACE", VZ_OPT_INT, streams_conf.grace_s, 1, 3600,
         "seconds a dropped encoder may take to come back to the same session (30)"),
  VZ_OPT("rtmp", "VIDZO_RTMP", VZ_OPT_BOOL, streams_conf.rtmp, 0, 0,
         "run and supervise the nginx-rtmp ingest edge (off; make run turns it on)"),
  VZ_OPT("rtmp-port", "VIDZO_RTMP_PORT", VZ_OPT_INT, streams_conf.rtmp_port, 1, 65535, "RTMP ingest port (1935)"),
  VZ_OPT("hls-port", "VIDZO_HLS_PORT", VZ_OPT_INT, streams_conf.hls_port, 1, 65535,
         "port of the HLS origin nginx serves (8088)"),
  VZ_OPT("rtmp-host", "VIDZO_RTMP_HOST", VZ_OPT_STR, streams_conf.rtmp_host, 0, 0,
         "host name encoders and players are given (localhost)"),
  VZ_OPT("hls-base", "VIDZO_HLS_BASE", VZ_OPT_STR, streams_conf.hls_base, 0, 0,
         "public base URL of the HLS origin or its CDN (http://RTMP_HOST:HLS_PORT)"),
  VZ_OPT("nginx-bin", "VIDZO_NGINX_BIN", VZ_OPT_STR, streams_conf.nginx_bin, 0, 0, "nginx executable"),
  VZ_OPT("ffmpeg-bin", "VIDZO_FFMPEG_BIN", VZ_OPT_STR, streams_conf.ffmpeg_bin, 0, 0, "ffmpeg executable"),
  VZ_OPT("transcode", "VIDZO_TRANSCODE", VZ_OPT_BOOL, streams_conf.transcode, 0, 0,
         "adaptive HLS: source + 480p renditions by ffmpeg (off)"),
  VZ_OPT("stream-thumbs", "VIDZO_STREAM_THUMBS", VZ_OPT_BOOL, streams_conf.thumbs, 0, 0,
         "a live thumbnail from each stream every 10 s (on)"),
  { 0 },
};

static const vz_queue streams_queues[] = {
  { STREAMS_Q_GRACE, streams_job_grace, 30000 },
  { STREAMS_Q_RECORDING, streams_job_recording, 600000 },
  { 0 },
};

static int streams_init(void) {
  if (!streams_conf.hls_base[0])
    snprintf(streams_conf.hls_base, sizeof streams_conf.hls_base, "http://%s:%d", streams_conf.rtmp_host,
             streams_conf.hls_port);
  size_t n = strlen(streams_conf.hls_base);
  if (n && streams_conf.hls_base[n - 1] == '/') streams_conf.hls_base[n - 1] = 0;
  return 0;
}

static int streams_start(void) { return streams_ingest_start(); }
static void streams_stop(void) { streams_ingest_stop(); }

const vz_service streams_service = {
  .name = "streams",
  .about = "Live streams: planning, going live over RTMP (nginx-rtmp hooks) or Agora, discovery feeds, replays",
  .opts = streams_opts,
  .routes = streams_routes,
  .queues = streams_queues,
  .on = streams_on,
  .init = streams_init,
  .start = streams_start,
  .stop = streams_stop,
};
