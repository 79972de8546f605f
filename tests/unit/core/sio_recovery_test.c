/* Invariant: the recovery store gives back exactly the packets of a session's rooms
 * after its offset, in offset order, without those that skipped the session's own
 * socket; a session is taken once; and once a room's bound has dropped a packet newer
 * than the offset, recovery refuses (-1) rather than hand back a gap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "core/sio_recovery.h"

static ws_buf *pkt(uint64_t seq) {
  char t[32];
  int n = snprintf(t, sizeof t, "42[\"m\",\"%llu\"]", (unsigned long long)seq);
  return ws_buf_from(WS_OP_TEXT, t, (size_t)n);
}

static sio_rec_session *session(const char *pid, const char *sid, const char *k1, const char *k2) {
  sio_rec_session *s = calloc(1, sizeof *s);
  snprintf(s->pid, sizeof s->pid, "%s", pid);
  snprintf(s->sid, sizeof s->sid, "%s", sid);
  s->keys = calloc(2, sizeof *s->keys);
  s->keys[s->nkeys++] = strdup(k1);
  if (k2) s->keys[s->nkeys++] = strdup(k2);
  return s;
}

static void store(const char *key, const char *except) {
  uint64_t seq = sio_rec_next_seq();
  ws_buf *b = pkt(seq);
  sio_rec_store(key, strlen(key), seq, b, except);
  ws_buf_unref(b);
}

TEST(sio_recovery_missed_in_order_once) {
  sio_rec_lock();
  uint64_t base = sio_rec_next_seq(); /* offsets are process-wide */
  store("/\x1f" "a", NULL);              /* base+1 */
  store("/\x1f" "b", NULL);              /* base+2 */
  store("/\x1f" "c", NULL);              /* base+3: not a room of the session */
  store("/\x1f" "a", "SID1");            /* base+4: the session's own say */
  store("/\x1f" "b", NULL);              /* base+5 */
  sio_rec_persist(session("PID1", "SID1", "/\x1f" "a", "/\x1f" "b"));
  sio_rec_session *s = sio_rec_take("PID1");
  CHECK(s != NULL);
  CHECK(sio_rec_take("PID1") == NULL); /* taken once */
  ws_buf **v;
  uint64_t last;
  int n = sio_rec_missed(s, base + 1, &v, &last);
  CHECK_EQ_INT(n, 2);
  char want[32];
  snprintf(want, sizeof want, "42[\"m\",\"%llu\"]", (unsigned long long)(base + 2));
  CHECK(v[0]->len == strlen(want) && memcmp(v[0]->data, want, v[0]->len) == 0);
  snprintf(want, sizeof want, "42[\"m\",\"%llu\"]", (unsigned long long)(base + 5));
  CHECK(v[1]->len == strlen(want) && memcmp(v[1]->data, want, v[1]->len) == 0);
  CHECK(last == base + 5);
  for (int i = 0; i < n; i++) ws_buf_unref(v[i]);
  free(v);
  CHECK_EQ_INT(sio_rec_missed(s, base + 99, &v, &last), -1); /* an offset from the future */
  sio_rec_session_free(s);
  sio_rec_unlock();
}

TEST(sio_recovery_bounded_room_refuses_a_gap) {
  sio_rec_lock();
  uint64_t base = sio_rec_next_seq();
  for (int i = 0; i < SIO_REC_ROOM_MAX_PACKETS + 10; i++) store("/\x1f" "busy", NULL);
  sio_rec_session *s = session("PID2", "SID2", "/\x1f" "busy", NULL);
  ws_buf **v;
  uint64_t last;
  CHECK_EQ_INT(sio_rec_missed(s, base + 1, &v, &last), -1); /* packets after it were dropped */
  int n = sio_rec_missed(s, base + 20, &v, &last);           /* still held: fine */
  CHECK_EQ_INT(n, SIO_REC_ROOM_MAX_PACKETS - 10);
  for (int i = 0; i < n; i++) ws_buf_unref(v[i]);
  free(v);
  sio_rec_session_free(s);
  sio_rec_free();
  sio_rec_unlock();
}
