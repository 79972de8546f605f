/* chat/stream.c: the one place chat learns about a stream, through streams.h. Chat is
 * open while the stream is live; the history of any stream the caller may view stays
 * readable (replays). Offsets for replay alignment count from the session start. */
#include "services/chat/chat_int.h"
#include "services/streams/streams.h"

int chat_stream_get(vz_db *db, int64_t id, chat_stream *out) {
  streams_info si;
  int rc = streams_get(db, id, &si);
  if (rc == STREAMS_ENOTFOUND) return 0;
  if (rc < 0) return rc;
  out->id = id;
  out->host_id = si.host_id;
  out->live = si.status == STREAMS_LIVE;
  out->is_public = si.visibility == STREAMS_PUBLIC;
  out->started_at = si.started_at;
  out->status = si.status;
  out->visibility = si.visibility;
  return 1;
}

int chat_stream_can_view(vz_db *db, const chat_stream *s, int64_t viewer, int role) {
  streams_info si = { .id = s->id, .host_id = s->host_id, .status = s->status, .visibility = s->visibility,
                      .started_at = s->started_at };
  return streams_can_view(db, &si, viewer, role == VZ_R_ADMIN);
}
