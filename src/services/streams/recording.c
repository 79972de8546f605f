/* streams/recording.c: a session's recording becomes a replay. nginx-rtmp records each
 * publish of the origin app to DATA_DIR/streams/rec/<stream id>-<unix s>.flv (one file
 * per connection: an encoder that reconnected within the grace leaves several). When the
 * stream ends, a job on the durable queue (streams.recording) joins them with ffmpeg
 * into vod/<session id>/replay.mp4 (faststart, for download and progressive play) and an
 * HLS VOD playlist vod/<session id>/index.m3u8 (#EXT-X-PLAYLIST-TYPE:VOD and
 * #EXT-X-ENDLIST: nginx-rtmp never writes an ENDLIST itself), served by the nginx origin.
 * The job is idempotent: a finished replay is only marked ready again; a file nginx is
 * still writing (modified in the last 3 s) makes it retry later. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "services/streams/internal.h"

extern char **environ;

/* Runs argv to completion (at most timeout_s); 0 when it exited 0. */
int streams_run(char *const argv[], int timeout_s) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -1;
  int status = 0;
  for (int i = 0; i < timeout_s * 10; i++) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    if (w < 0 && errno != EINTR) return -1;
    struct timespec ts = { 0, 100000000L };
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

typedef struct parts { char (*name)[128]; int n; int busy; } parts;

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

/* The FLV files of stream id, oldest first (their names end in the unix second). */
static int list_parts(const char *rec, int64_t id, parts *p) {
  char prefix[32];
  int pl = snprintf(prefix, sizeof prefix, "%lld-", (long long)id);
  DIR *d = opendir(rec);
  if (!d) return -1;
  struct dirent *e;
  time_t now = time(NULL);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, prefix, (size_t)pl) || l < 5 || l >= 128 || strcmp(e->d_name + l - 4, ".flv")) continue;
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", rec, e->d_name);
    if (stat(path, &st) == 0 && now - st.st_mtime < 3) p->busy = 1;
    void *grown = realloc(p->name, (size_t)(p->n + 1) * sizeof *p->name);
    if (!grown) { closedir(d); return -1; }
    p->name = grown;
    memcpy(p->name[p->n++], e->d_name, l + 1); /* l < 128 */
  }
  closedir(d);
  if (p->n) qsort(p->name, (size_t)p->n, sizeof *p->name, by_name);
  return 0;
}

/* Sum of the #EXTINF durations of a playlist, in ms. */
static int64_t playlist_ms(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[256];
  double total = 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "#EXTINF:", 8)) total += strtod(line + 8, NULL);
  fclose(f);
  return (int64_t)(total * 1000 + 0.5);
}

static int mark(vz_db *db, int64_t session, const char *status, int64_t ms, int64_t bytes, const char *error) {
  return db_run(db, NULL, "UPDATE stream_recordings SET status = $2, duration_ms = $3, bytes = $4, error = $5,"
                " updated_at = $6 WHERE session_id = $1", "isiisi", session, status, ms, bytes, error, db_now_ms());
}

int streams_job_recording(vz_db *db, const jobs_job *job, char *err, size_t n) {
  json_t *p = json_loads(job->payload, 0, NULL);
  int64_t id = json_integer_value(json_object_get(p, "stream_id"));
  int64_t session = json_integer_value(json_object_get(p, "session_id"));
  json_decref(p);
  if (!id || !session) return 0;
  char rec[400], out[400], mp4[460], tmp[470], m3u8[460], list[460];
  snprintf(rec, sizeof rec, "%s/rec", streams_dir());
  snprintf(out, sizeof out, "%s/vod/%lld", streams_dir(), (long long)session);
  snprintf(mp4, sizeof mp4, "%s/replay.mp4", out);
  snprintf(tmp, sizeof tmp, "%s/replay.tmp.mp4", out);
  snprintf(m3u8, sizeof m3u8, "%s/index.m3u8", out);
  snprintf(list, sizeof list, "%s/parts.txt", out);
  parts ps = { 0 };
  if (list_parts(rec, id, &ps)) {
    free(ps.name);
    snprintf(err, n, "cannot read %s", rec);
    return -1;
  }
  int rc = 0;
  struct stat st;
  if (!ps.n) { /* nothing recorded, or a previous run finished and removed the parts */
    free(ps.name);
    if (stat(m3u8, &st) == 0 && stat(mp4, &st) == 0) rc = mark(db, session, "ready", playlist_ms(m3u8), st.st_size, NULL);
    else rc = mark(db, session, "empty", 0, 0, NULL);
    if (rc < 0) { snprintf(err, n, "recording %lld: database (%d)", (long long)session, rc); return -1; }
    return 0;
  }
  if (ps.busy) {
    free(ps.name);
    snprintf(err, n, "recording of stream %lld is still being written", (long long)id);
    return -1; /* retried with backoff */
  }
  mkdir(out, 0755);
  FILE *f = fopen(list, "w");
  for (int i = 0; f && i < ps.n; i++) fprintf(f, "file '%s/%s'\n", rec, ps.name[i]); /* our names: digits, '-', .flv */
  if (!f || fclose(f)) {
    free(ps.name);
    snprintf(err, n, "cannot write %s", list);
    return -1;
  }
  char *const remux[] = { streams_conf.ffmpeg_bin, "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                          "-i", list, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", tmp, NULL };
  char seg[480];
  snprintf(seg, sizeof seg, "%s/seg%%05d.ts", out);
  char *const hls[] = { streams_conf.ffmpeg_bin, "-nostdin", "-loglevel", "error", "-y", "-i", mp4, "-c", "copy",
                        "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod", "-hls_segment_filename", seg,
                        m3u8, NULL };
  if (streams_run(remux, 600) || rename(tmp, mp4) || streams_run(hls, 600)) {
    snprintf(err, n, "ffmpeg could not remux the recording of stream %lld", (long long)id);
    if (job->attempts >= job->max_attempts) mark(db, session, "failed", 0, 0, err);
    free(ps.name);
    return -1;
  }
  for (int i = 0; i < ps.n; i++) { /* the replay holds it all now */
    char path[700];
    snprintf(path, sizeof path, "%s/%s", rec, ps.name[i]);
    unlink(path);
  }
  unlink(list);
  free(ps.name);
  stat(mp4, &st);
  if ((rc = mark(db, session, "ready", playlist_ms(m3u8), st.st_size, NULL)) < 0) {
    snprintf(err, n, "recording %lld: database (%d)", (long long)session, rc);
    return -1;
  }
  vz_log_info("stream replay ready", "path", m3u8);
  return 0;
}
