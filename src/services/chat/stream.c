/* chat/stream.c: the one place chat learns about a stream, through streams.h.
 * TEMPORARY until the streams skeleton lands: reads the streams table by its declared
 * columns (id, host_id, status, visibility). */
#include "services/chat/chat_int.h"

#include <string.h>

int chat_stream_get(vz_db *db, int64_t id, chat_stream *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "SELECT host_id, status, visibility FROM streams WHERE id = $1", "i", id);
  if (rc == DB_ROW) {
    out->id = id;
    out->host_id = db_col_int(st, 0);
    out->live = strcmp(db_col_text(st, 1), "live") == 0;
    out->is_public = strcmp(db_col_text(st, 2), "followers") != 0;
    out->started_at = 0;
  }
  db_finalize(st);
  return rc < 0 ? rc : rc == DB_ROW;
}
