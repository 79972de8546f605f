/* streams/ingest.c: the self-hosted ingest edge (placeholder until the supervisor lands). */
#include "services/streams/internal.h"

int streams_ingest_start(void) { return 0; }
void streams_ingest_stop(void) {}
int streams_ingest_ready(char *why, size_t n) { (void)why, (void)n; return 0; }
void streams_ingest_drop(int64_t stream_id) { (void)stream_id; }
