/* streams/recording.c: a session's recording, remuxed to MP4 + HLS VOD (placeholder). */
#include "services/streams/internal.h"
#include "jobs/jobs.h"

int streams_job_recording(vz_db *db, const jobs_job *job, char *err, size_t n) {
  (void)db, (void)job, (void)err, (void)n;
  return 0;
}
