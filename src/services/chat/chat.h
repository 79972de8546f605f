/* chat: live chat of streams (issue 19): messages with a group-commit writer, history,
 * moderation, reactions, polls, pins and viewer counts, over the realtime gateway's
 * room "stream:<id>" of namespace "/". What other services may use of it is here. */
#ifndef VZ_CHAT_H
#define VZ_CHAT_H
#include <stdint.h>

typedef struct vz_db vz_db;

/* Analytics: a stream's chat messages (stored, deleted ones included: they were sent)
 * and reactions (every reaction taken; totals are flushed at most 250 ms after the
 * reaction). 0, or a negative db.h code. Read from the database, any instance. */
int chat_counts(vz_db *db, int64_t stream_id, int64_t *messages, int64_t *reactions);

extern const struct vz_service chat_service;
#endif
