/* sio_recovery_shared: connection state recovery across instances, once Redis is
 * configured (the role of the Socket.IO Redis Streams adapter). Room packets of the
 * recovering namespaces go into one Redis stream instead of straight to the loops; the
 * stream id is the packet's offset, and every instance, the sender's included, delivers
 * from its follower thread in stream order. Sessions of sockets that dropped are kept in
 * Redis for the recovery window, so the client may come back to any instance. Internal
 * to sio.c. See docs/internals/realtime.md, "Connection state recovery". */
#ifndef VZ_SIO_RECOVERY_SHARED_H
#define VZ_SIO_RECOVERY_SHARED_H
#include <stddef.h>
#include <stdint.h>

#include "realtime/sio_recovery.h"
#include "realtime/ws.h"

#define SIO_REC_SHARED_STREAM "vz:sio:log"
#define SIO_REC_SHARED_MAXLEN 100000          /* entries kept, all rooms together (approx.) */
#define SIO_REC_SHARED_MAX_REPLAY (16u << 20) /* bytes one recovery may replay */

/* A packet read back from the stream, on the follower thread, in stream order. `except`
 * is the socket id the emit skipped ("" none); packet has no offset yet. replayed: from
 * the recovery window before this instance followed (history only, not to deliver). */
typedef void (*sio_rec_shared_fn)(uint64_t id, const char *key, size_t klen, const char *except,
                                  const void *packet, size_t plen, int replayed);

/* A packet Redis did not take (unreachable, or the append queue full): the caller's
 * local members should still get it. On the appender thread or the emitter's. */
typedef void (*sio_rec_lost_fn)(const char *key, size_t klen, const char *except, ws_buf *b);

/* Records the callbacks; the threads start with sio_rec_shared_follow. */
void sio_rec_shared_enable(sio_rec_shared_fn deliver, sio_rec_lost_fn lost);
int sio_rec_shared_enabled(void);
/* Starts/stops the follower and the appender (loop 0's start and drain hooks call
 * these); stop first appends what is queued. */
int sio_rec_shared_follow(void);
void sio_rec_shared_stop(void);
/* The newest id the follower delivered (the offset of a packet that is not in the stream). */
uint64_t sio_rec_shared_last(void);
/* Offsets from this one on are covered by the local history the follower fills (it
 * starts with the last SIO_REC_WINDOW_MS of the stream): a recovery from them needs no
 * range read from Redis (unless a local bound dropped some). */
uint64_t sio_rec_shared_since(void);

/* Queues one room packet (b referenced) for the appender thread, which sends what has
 * queued up in one pipelined round trip, so no io loop waits on Redis. Packets Redis
 * does not take go to the lost callback. Returns <0 (nothing queued: the caller
 * delivers locally) only when the queue is full. */
#define SIO_REC_SHARED_QUEUE_MAX 65536
int sio_rec_shared_append(const char *key, size_t klen, const char *except_sid, ws_buf *b);
/* Keeps s (not taken over) for the window; <0 when Redis is unreachable. */
int sio_rec_shared_persist(const sio_rec_session *s);
/* As sio_rec_take, from whichever instance stored it: someone else's session (user or
 * namespace, sio_rec_owned) is left in place for its owner. NULL: none to take. */
sio_rec_session *sio_rec_shared_take(const char *pid, int64_t user_id, const char *nsp);
/* As sio_rec_missed, from the stream: -1 when offset is no longer in it. */
int sio_rec_shared_missed(const sio_rec_session *s, uint64_t offset, ws_buf ***out, uint64_t *last_seq);
#endif
