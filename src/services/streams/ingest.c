/* streams/ingest.c: the self-hosted ingest edge. With --rtmp, vidzo writes an nginx
 * config into DATA_DIR/streams/ and runs nginx (Debian's libnginx-mod-rtmp) as its
 * child: RTMP on --rtmp-port, HLS (1 s fragments, hls_datetime), live thumbnails and
 * replays over HTTP on --hls-port. nginx asks vidzo about every publish through
 * on_publish / on_publish_done / on_update (hooks.c). A supervisor thread restarts nginx
 * when it dies (logged, with backoff) and its state shows in /readyz.
 *
 * nginx runs with master_process off: one process, so a SIGKILL or a crash leaves no
 * orphaned worker holding the ports, and the restart binds at once. PR_SET_PDEATHSIG
 * takes nginx down with vidzo, even when vidzo is killed. The control endpoint
 * (rtmp_control: drop a publisher when its stream ends) listens on a unix socket only. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "db/db.h"
#include "lib/clock.h"
#include "services/streams/internal.h"

static char dir[300];          /* DATA_DIR/streams */
static pthread_t sup;
static int sup_started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stopping;
static pid_t child;            /* nginx now, 0 when down */
static int restarts;
static char last_exit[96];
#define MAX_DROPS 64
static char drops[MAX_DROPS][24]; /* nginx client ids of publishers to disconnect */
static int ndrops;
static int (*prev_ready)(char *why, size_t n);

const char *streams_dir(void) { return dir; }

static int mkdir_p(const char *path) {
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
      *p = '/';
    }
  return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

/* The config, regenerated at each start (ports or paths may have changed). */
static int write_config(void) {
  char path[400], tmp[410];
  snprintf(path, sizeof path, "%s/nginx.conf", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  const char *hook_host = strcmp(vz_cfg.bind, "0.0.0.0") && strcmp(vz_cfg.bind, "::") ? vz_cfg.bind : "127.0.0.1";
  char hook[300];
  snprintf(hook, sizeof hook, "http://%s:%d/internal/rtmp", hook_host, vz_cfg.port);
  const char *s = streams_conf.hook_secret;
  fprintf(f,
          "# Written by vidzo at start (services/streams/ingest.c); edits are overwritten.\n"
          "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
          "daemon off;\nmaster_process off;\n%s"
          "pid %s/nginx.pid;\nerror_log stderr warn;\n"
          "events { worker_connections 1024; }\n"
          "rtmp {\n  server {\n    listen %d;\n    chunk_size 4096;\n    notify_method post;\n"
          "    # encoders publish here with their key; vidzo answers 302 rtmp://.../origin/<id>, so\n"
          "    # nginx relays the stream to the origin app under its id: no URL ever holds a key\n"
          "    application live {\n      live on;\n      deny play all;\n"
          "      on_publish %s/publish?secret=%s;\n      on_publish_done %s/publish_done?secret=%s;\n"
          "      on_update %s/update?secret=%s;\n      notify_update_timeout 5s;\n      notify_update_strict on;\n"
          "    }\n"
          "    application origin {\n      live on;\n      allow publish 127.0.0.1;\n      deny publish all;\n"
          "      allow play 127.0.0.1;\n      deny play all;\n"
          "      hls on;\n      hls_path %s/hls;\n      hls_nested on;\n      hls_fragment 1s;\n"
          "      hls_playlist_length 4s;\n      hls_fragment_naming system;\n      hls_cleanup on;\n"
          "      record all;\n      record_path %s/rec;\n      record_unique on;\n",
          geteuid() == 0 ? "user root;\n" : "", dir, streams_conf.rtmp_port, hook, s, hook, s, hook, s, dir, dir);
  if (streams_conf.thumbs)
    /* one frame every 10 s, written atomically over the last one (players read it any time) */
    fprintf(f, "      exec_push %s -nostdin -loglevel error -i rtmp://127.0.0.1:%d/origin/$name -vf fps=1/10,scale=-2:360"
            " -f image2 -update 1 -atomic_writing 1 -y %s/thumbs/$name.jpg;\n",
            streams_conf.ffmpeg_bin, streams_conf.rtmp_port, dir);
  if (streams_conf.transcode)
    fprintf(f, "      exec_push %s -nostdin -loglevel error -i rtmp://127.0.0.1:%d/origin/$name"
            " -map 0:v -map 0:a? -c copy -f flv rtmp://127.0.0.1:%d/abr/$name_src"
            " -map 0:v -map 0:a? -c:v libx264 -preset veryfast -tune zerolatency -vf scale=-2:480 -b:v 800k"
            " -g 30 -c:a aac -b:a 96k -f flv rtmp://127.0.0.1:%d/abr/$name_480p;\n",
            streams_conf.ffmpeg_bin, streams_conf.rtmp_port, streams_conf.rtmp_port, streams_conf.rtmp_port);
  fprintf(f, "    }\n");
  if (streams_conf.transcode)
    fprintf(f, "    application abr {\n      live on;\n      allow publish 127.0.0.1;\n      deny publish all;\n"
            "      allow play 127.0.0.1;\n      deny play all;\n"
            "      hls on;\n      hls_path %s/abr;\n      hls_nested on;\n      hls_fragment 1s;\n"
            "      hls_playlist_length 4s;\n      hls_fragment_naming system;\n      hls_cleanup on;\n"
            "      hls_variant _src BANDWIDTH=3000000;\n      hls_variant _480p BANDWIDTH=900000;\n    }\n", dir);
  fprintf(f, "  }\n}\n"
          "http {\n  access_log off;\n  client_body_temp_path %s/tmp;\n  proxy_temp_path %s/tmp;\n"
          "  fastcgi_temp_path %s/tmp;\n  uwsgi_temp_path %s/tmp;\n  scgi_temp_path %s/tmp;\n"
          "  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; video/mp4 mp4; image/jpeg jpg; }\n"
          "  server {\n    listen %d;\n"
          "    add_header Access-Control-Allow-Origin * always;\n"
          "    location /hls/ { alias %s/hls/; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }\n"
          "    location /abr/ { alias %s/abr/; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }\n"
          "    location /thumbs/ { alias %s/thumbs/; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }\n"
          "    location /vod/ { alias %s/vod/; }\n"
          "    location = /health { return 200 ok; }\n  }\n"
          "  server {\n    listen unix:%s/control.sock;\n    location /control { rtmp_control all; }\n  }\n}\n",
          dir, dir, dir, dir, dir, streams_conf.hls_port, dir, dir, dir, dir, dir);
  int bad = ferror(f);
  if (fclose(f) || bad) return -1;
  return rename(tmp, path);
}

static pid_t spawn_nginx(void) {
  char conf[400], prefix[310], errlog[400];
  snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
  snprintf(prefix, sizeof prefix, "%s/", dir);
  snprintf(errlog, sizeof errlog, "%s/nginx.log", dir);
  char sock[400];
  snprintf(sock, sizeof sock, "%s/control.sock", dir);
  unlink(sock); /* a socket left by a killed nginx would stop the bind */
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* child: async-signal-safe calls only until exec */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
  int nul = open("/dev/null", O_RDONLY);
  if (nul >= 0) { dup2(nul, 0); close(nul); }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execl(streams_conf.nginx_bin, "nginx", "-p", prefix, "-c", conf, "-e", errlog, (char *)NULL);
  _exit(127);
}

/* A disconnect through the control socket: GET /control/drop/client?app=live&clientid=N
 * (the encoder's connection; its relay to the origin app ends with it). */
static void drop_now(const char *client) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  char path[400];
  int pl = snprintf(path, sizeof path, "%s/control.sock", dir);
  if (pl < 0 || (size_t)pl >= sizeof a.sun_path) { close(fd); return; } /* checked at start */
  memcpy(a.sun_path, path, (size_t)pl + 1);
  struct timeval tv = { .tv_sec = 2 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
    char req[160], buf[256];
    int n = snprintf(req, sizeof req, "GET /control/drop/client?app=live&clientid=%s HTTP/1.0\r\nHost: vidzo\r\n\r\n",
                     client);
    if (write(fd, req, (size_t)n) == n)
      while (read(fd, buf, sizeof buf) > 0) {}
  }
  close(fd);
}

/* nginx died with its publishers: no on_publish_done will come for them. Each open RTMP
 * session is treated as its encoder having dropped now, so it gets the reconnect grace
 * (encoders retry; OBS does by default) and ends after it otherwise. */
static int orphans_tx(vz_db *db, void *arg) {
  (void)arg;
  vz_stmt *st = NULL;
  int64_t ids[256];
  char clients[256][64];
  int n = 0;
  int rc = db_run(db, &st, "SELECT ss.stream_id, ss.client_id FROM stream_sessions ss JOIN streams s"
                  " ON s.id = ss.stream_id WHERE s.status = 'live' AND ss.source = 'rtmp' AND ss.ended_at IS NULL"
                  " AND ss.disconnected_at IS NULL", "");
  while (rc == DB_ROW && n < 256) {
    ids[n] = db_col_int(st, 0);
    snprintf(clients[n++], sizeof clients[0], "%s", db_col_text(st, 1) ? db_col_text(st, 1) : "");
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) return rc;
  for (int i = 0; i < n; i++)
    if ((rc = streams_publisher_gone(db, ids[i], clients[i])) < 0) return rc;
  return n;
}

static void orphans_release(void) {
  vz_db *db = NULL;
  char err[256];
  if (db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) {
    vz_log_error("nginx-rtmp died: cannot open the database to release its sessions", "error", err);
    return;
  }
  int rc = db_tx(db, orphans_tx, NULL);
  if (rc < 0) vz_log_error("nginx-rtmp died: releasing its sessions failed", "error", db_errmsg(db));
  else if (rc > 0) {
    char n[16];
    snprintf(n, sizeof n, "%d", rc);
    vz_log_warn("nginx-rtmp died: its publishers get the reconnect grace", "sessions", n);
  }
  db_close(db);
}

static void *supervise(void *arg) {
  (void)arg;
  int backoff_ms = 250;
  uint64_t started = 0;
  pthread_mutex_lock(&mu);
  while (!stopping) {
    if (!child) {
      pthread_mutex_unlock(&mu);
      pid_t p = spawn_nginx();
      pthread_mutex_lock(&mu);
      if (p > 0) {
        child = p;
        started = vz_mono_ms();
        char pid_s[16];
        snprintf(pid_s, sizeof pid_s, "%d", (int)p);
        vz_log_info("nginx-rtmp started", "pid", pid_s);
      }
    }
    /* reap: nginx gone? */
    int status;
    pid_t w = child ? waitpid(child, &status, WNOHANG) : 0;
    if (w == child && child) {
      child = 0;
      restarts++;
      if (WIFEXITED(status)) snprintf(last_exit, sizeof last_exit, "exited with status %d", WEXITSTATUS(status));
      else snprintf(last_exit, sizeof last_exit, "killed by signal %d", WTERMSIG(status));
      vz_log_error("nginx-rtmp died; restarting", "why", last_exit, "log", "DATA_DIR/streams/nginx.log");
      pthread_mutex_unlock(&mu);
      orphans_release();
      pthread_mutex_lock(&mu);
      /* a crash loop backs off up to 5 s; a run that lasted a minute resets it */
      backoff_ms = vz_mono_ms() - started > 60000 ? 250 : (backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2);
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += (long)backoff_ms * 1000000L;
      until.tv_sec += until.tv_nsec / 1000000000L, until.tv_nsec %= 1000000000L;
      while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) == 0) {}
      continue;
    }
    while (ndrops) {
      char id[24];
      memcpy(id, drops[--ndrops], sizeof id);
      pthread_mutex_unlock(&mu);
      drop_now(id);
      pthread_mutex_lock(&mu);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L, until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&cv, &mu, &until);
  }
  pid_t p = child;
  pthread_mutex_unlock(&mu);
  if (p > 0) {
    kill(p, SIGQUIT); /* graceful: finishes writing the recordings it has open */
    for (int i = 0; i < 50 && waitpid(p, NULL, WNOHANG) == 0; i++) usleep(100000);
    if (waitpid(p, NULL, WNOHANG) == 0) { kill(p, SIGKILL); waitpid(p, NULL, 0); }
  }
  return NULL;
}

static int ingest_ready_hook(char *why, size_t n) {
  if (streams_ingest_ready(why, n)) return -1;
  return prev_ready ? prev_ready(why, n) : 0;
}

int streams_ingest_start(void) {
  /* absolute: nginx resolves relative paths against its prefix, not our working directory */
  char abs[PATH_MAX];
  const char *base = realpath(vz_cfg.data_dir, abs) ? abs : vz_cfg.data_dir;
  if (strlen(base) + sizeof "/streams" > sizeof dir) {
    vz_log_error("DATA_DIR is too long for the streams directory", "dir", base);
    return -1;
  }
  memcpy(dir, base, strlen(base));
  memcpy(dir + strlen(base), "/streams", sizeof "/streams");
  static const char *const subs[] = { "", "/hls", "/abr", "/rec", "/vod", "/thumbs", "/tmp" };
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
    char p[400];
    snprintf(p, sizeof p, "%s%s", dir, subs[i]);
    if (mkdir_p(p)) {
      vz_log_error("cannot create the streams directory", "path", p);
      return -1;
    }
  }
  if (!streams_conf.rtmp) return 0;
  unsigned char raw[24];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(streams_conf.hook_secret, sizeof streams_conf.hook_secret, raw, sizeof raw);
  if (strlen(dir) + sizeof "/control.sock" > sizeof ((struct sockaddr_un *)0)->sun_path) {
    vz_log_error("--rtmp: DATA_DIR is too long for nginx's control socket path (max ~90 characters)", "dir", dir);
    return -1;
  }
  if (access(streams_conf.nginx_bin, X_OK) || access("/usr/lib/nginx/modules/ngx_rtmp_module.so", R_OK)) {
    vz_log_error("--rtmp needs nginx and libnginx-mod-rtmp (make deps installs them)", "nginx", streams_conf.nginx_bin);
    return -1;
  }
  if (write_config()) {
    vz_log_error("cannot write the nginx config", "dir", dir);
    return -1;
  }
  prev_ready = vz_hook.ready_why;
  vz_hook.ready_why = ingest_ready_hook;
  stopping = 0;
  if (pthread_create(&sup, NULL, supervise, NULL)) return -1;
  sup_started = 1;
  char rp[16], hp[16];
  snprintf(rp, sizeof rp, "%d", streams_conf.rtmp_port);
  snprintf(hp, sizeof hp, "%d", streams_conf.hls_port);
  vz_log_info("rtmp ingest", "rtmp_port", rp, "hls_port", hp, "config", "DATA_DIR/streams/nginx.conf");
  return 0;
}

void streams_ingest_stop(void) {
  if (!sup_started) return;
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(sup, NULL);
  sup_started = 0;
  if (vz_hook.ready_why == ingest_ready_hook) vz_hook.ready_why = prev_ready;
}

int streams_ingest_ready(char *why, size_t n) {
  if (!streams_conf.rtmp || !sup_started) return 0;
  pthread_mutex_lock(&mu);
  int up = child > 0;
  if (!up) snprintf(why, n, "nginx-rtmp is down (%s; %d restarts)", last_exit[0] ? last_exit : "starting", restarts);
  pthread_mutex_unlock(&mu);
  return up ? 0 : -1;
}

void streams_ingest_drop(const char *client) {
  size_t n = strlen(client);
  if (!sup_started || !n || n >= sizeof drops[0] || strspn(client, "0123456789") != n) return; /* nginx's are digits */
  pthread_mutex_lock(&mu);
  if (ndrops < MAX_DROPS) memcpy(drops[ndrops++], client, n + 1);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}
