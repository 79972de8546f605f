/* Invariant: the recovery store gives back exactly the packets of a session's rooms
 * after its offset, in offset order, without those that skipped the session's own
 * socket; a session is taken once, and only by its owner (same user, same namespace):
 * anyone else who presents its pid gets nothing and leaves it in place; and once a
 * room's bound has dropped a packet newer than the offset, recovery refuses (-1)
 * rather than hand back a gap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "cache/cache.h"
#include "realtime/sio_recovery.h"
#include "realtime/sio_recovery_shared.h"

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
  sio_rec_session *s = sio_rec_take("PID1", 0, "/");
  CHECK(s != NULL);
  CHECK(sio_rec_take("PID1", 0, "/") == NULL); /* taken once */
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

/* issue 15 (16a): a CONNECT carrying someone else's pid used to remove the session
 * before the owner check, so a stranger could end the owner's recovery. */
TEST(sio_recovery_only_the_owner_takes_a_session) {
  sio_rec_lock();
  sio_rec_session *owned = session("PID3", "SID3", "/\x1f", "/\x1f" "user:7");
  owned->user_id = 7;
  sio_rec_persist(owned);
  CHECK(sio_rec_take("PID3", 8, "/") == NULL);      /* another user */
  CHECK(sio_rec_take("PID3", 0, "/") == NULL);      /* anonymous */
  CHECK(sio_rec_take("PID3", 7, "/chat") == NULL);  /* the owner, another namespace */
  sio_rec_session *s = sio_rec_take("PID3", 7, "/"); /* still there for its owner */
  CHECK(s != NULL);
  CHECK_EQ_STR(s->sid, "SID3");
  sio_rec_session_free(s);
  sio_rec_persist(session("PID4", "SID4", "/test\x1f", NULL)); /* anonymous session */
  CHECK(sio_rec_take("PID4", 7, "/test") == NULL);  /* a user does not take an anonymous one */
  s = sio_rec_take("PID4", 0, "/test");
  CHECK(s != NULL);
  sio_rec_session_free(s);
  sio_rec_unlock();
}

/* The same through the shared store (here its local backend; Redis runs the same
 * calls): the ownership check comes before the GETDEL. */
TEST(sio_recovery_shared_only_the_owner_takes_a_session) {
  CHECK_EQ_INT(cache_init(NULL, NULL, 0), 0);
  sio_rec_session *owned = session("PID5shared", "SID5", "/\x1f", "/\x1f" "user:7");
  owned->user_id = 7;
  CHECK_EQ_INT(sio_rec_shared_persist(owned), 0);
  sio_rec_session_free(owned);
  CHECK(sio_rec_shared_take("PID5shared", 8, "/") == NULL);
  CHECK(sio_rec_shared_take("PID5shared", 0, "/") == NULL);
  CHECK(sio_rec_shared_take("PID5shared", 7, "/x") == NULL);
  sio_rec_session *s = sio_rec_shared_take("PID5shared", 7, "/");
  CHECK(s != NULL);
  CHECK_EQ_STR(s->sid, "SID5");
  CHECK_EQ_INT(s->nkeys, 2);
  sio_rec_session_free(s);
  CHECK(sio_rec_shared_take("PID5shared", 7, "/") == NULL); /* taken once */
}
