/* sio_recovery: Socket.IO connection state recovery (v4.6+): a bounded history of the
 * packets sent to each room and the sessions of sockets that dropped, so a client that
 * reconnects within the window gets what it missed, once, in order, and keeps its id and
 * rooms. Internal to sio.c: callers hold sio_rec_lock() around every function but
 * sio_rec_enable/_enabled/_free. See docs/internals/realtime.md, "Connection state
 * recovery". */
#ifndef VZ_SIO_RECOVERY_H
#define VZ_SIO_RECOVERY_H
#include <stddef.h>
#include <stdint.h>

#include "realtime/ws.h"

#define SIO_REC_WINDOW_MS 120000        /* maxDisconnectionDuration, as the reference */
#define SIO_REC_ROOM_MAX_PACKETS 1024   /* per room */
#define SIO_REC_ROOM_MAX_BYTES (1u << 20)
#define SIO_REC_MAX_BYTES (64u << 20)   /* all rooms together */
#define SIO_REC_MAX_SESSIONS 100000

void sio_rec_enable(int on);
int sio_rec_enabled(void);
void sio_rec_lock(void);
void sio_rec_unlock(void);

/* The next offset (global order of room packets in this process). */
uint64_t sio_rec_next_seq(void);
/* Keeps b (a reference) as packet seq of room key; except_sid: the socket it skipped
 * ("" none). A packet that cannot be kept marks the room as not recoverable past it. */
void sio_rec_store(const char *key, size_t klen, uint64_t seq, ws_buf *b, const char *except_sid);

typedef struct sio_rec_session {
  char pid[21], sid[21];
  int64_t user_id;
  uint64_t at_ms;
  int nkeys;
  char **keys;  /* room keys ("nsp\x1froom"), NUL-terminated */
} sio_rec_session;

/* Takes over s (malloc'd, keys too); drops it when the store is full. */
void sio_rec_persist(sio_rec_session *s);
/* Whether s may be restored by a socket of user_id (0: anonymous) in namespace nsp:
 * the same user (anonymous only for anonymous) and every room key in nsp. */
int sio_rec_owned(const sio_rec_session *s, int64_t user_id, const char *nsp);
/* Finds pid's session and, if user_id may restore it in nsp (sio_rec_owned), removes
 * and returns it (free with sio_rec_session_free). NULL: unknown, expired (dropped), or
 * someone else's, which stays for its owner: knowing a pid must not let a stranger
 * destroy the owner's recovery. */
sio_rec_session *sio_rec_take(const char *pid, int64_t user_id, const char *nsp);
void sio_rec_session_free(sio_rec_session *s);

/* The packets of the session's rooms after offset, in order, skipping those sent with
 * except_sid == sid. Returns the count (*out malloc'd, each buffer referenced), or -1
 * when some room no longer has everything after offset (then nothing is recovered). */
int sio_rec_missed(const sio_rec_session *s, uint64_t offset, ws_buf ***out, uint64_t *last_seq);

/* "42/nsp,[...]" -> "42/nsp,[...,"<seq>"]": a copy of the packet with its offset as the
 * last argument (NULL when it is not an event array). */
ws_buf *sio_rec_with_offset(const void *packet, size_t len, uint64_t seq);

void sio_rec_free(void); /* at exit */
#endif
