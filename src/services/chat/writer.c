/* chat/writer.c: group commit. Senders' workers check a message and queue it here;
 * one thread per instance takes whatever has queued up (after at most WAIT_MS from the
 * first, or BATCH_MAX messages), inserts the batch in one transaction, and only after
 * the commit broadcasts each message to its room and acknowledges it to its sender. So
 * nothing is acknowledged or shown that is not durable, there is one commit (one fsync)
 * per batch instead of per message, and the room sees messages in commit order.
 *
 * A slow or failing database: the batch is retried (backoff up to 1 s) and new messages
 * keep queueing behind it (up to QUEUE_MAX, then senders get 503); a batch that could
 * not be written for GIVE_UP_MS is answered 503 (not acknowledged: the client may send
 * again). kill -9 loses only unacknowledged messages. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "lib/clock.h"
#include "realtime/sio.h"
#include "realtime/sio_events.h"
#include "services/analytics/analytics.h"
#include "services/chat/chat_int.h"

#define WAIT_MS 10
#define BATCH_MAX 512
#define QUEUE_MAX 65536
#define GIVE_UP_MS 10000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static chat_msg *head, **tail = &head;
static size_t queued;
static int running, stopping;
static pthread_t thr;
static _Atomic uint64_t n_batches, n_messages;

void chat_msg_free(chat_msg *m) {
  if (!m) return;
  free(m->body);
  free(m->meta);
  json_decref(m->event);
  free(m);
}

int chat_writer_submit(chat_msg *m) {
  pthread_mutex_lock(&mu);
  if (!running || stopping || queued >= QUEUE_MAX) {
    pthread_mutex_unlock(&mu);
    return -1;
  }
  static uint64_t seq_counter;
  m->next = NULL;
  m->seq = ++seq_counter; /* under mu: ties of arrival time keep queue order */
  *tail = m;
  tail = &m->next;
  if (queued++ == 0) pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  return 0;
}

void chat_writer_stats(uint64_t *batches, uint64_t *messages, uint64_t *q) {
  *batches = atomic_load(&n_batches);
  *messages = atomic_load(&n_messages);
  pthread_mutex_lock(&mu);
  *q = queued;
  pthread_mutex_unlock(&mu);
}

static int insert_batch(vz_db *db, chat_msg *b) {
  int rc = db_begin(db);
  if (rc < 0) return rc;
  for (chat_msg *m = b; m && rc >= 0; m = m->next) {
    rc = m->offset_ms >= 0
             ? db_run(db, NULL, "INSERT INTO chat_messages (id, stream_id, user_id, body, reply_to, meta, server_ts, offset_ms)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", "iiisisii", m->id, m->stream_id, m->user_id, m->body,
                      m->reply_to, m->meta, m->server_ts, m->offset_ms)
             : db_run(db, NULL, "INSERT INTO chat_messages (id, stream_id, user_id, body, reply_to, meta, server_ts, offset_ms)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)", "iiisisi", m->id, m->stream_id, m->user_id, m->body,
                      m->reply_to, m->meta, m->server_ts);
  }
  /* analytics' counters, in the same transaction (analytics.h): one call per stream of
   * the batch, so a message is counted exactly when it is stored */
  for (chat_msg *m = b; m && rc >= 0; m = m->next) {
    int seen = 0, n = 0;
    for (chat_msg *p = b; p != m && !seen; p = p->next) seen = p->stream_id == m->stream_id;
    if (seen) continue;
    for (chat_msg *p = m; p; p = p->next) n += p->stream_id == m->stream_id;
    rc = analytics_count(db, m->stream_id, ANALYTICS_CHAT_MESSAGE, n);
  }
  if (rc >= 0) rc = db_commit(db);
  else db_rollback(db);
  return rc < 0 ? rc : 0;
}

/* reply_to is stored as 0 when the message answers none. */

static void answer(chat_msg *b, int ok) {
  char room[48];
  while (b) {
    chat_msg *m = b;
    b = b->next;
    if (ok) {
      chat_room(room, m->stream_id);
      sio_emit_room(CHAT_NSP, room, "chat:message", json_incref(m->event));
      vz_reply_item(m->req, 201, json_pack("{s:o,s:I}", "id", vz_json_id(m->id), "server_ts", (json_int_t)m->server_ts));
    } else {
      vz_fail(m->req, 503, "unavailable", NULL, "chat history is not writable now; send again");
    }
    sio_event_done(m->req);
    m->req = NULL;
    chat_msg_free(m);
  }
}

static int by_arrival(const void *a, const void *b) {
  const chat_msg *x = *(chat_msg *const *)a, *y = *(chat_msg *const *)b;
  if (x->req->start_ns != y->req->start_ns) return x->req->start_ns < y->req->start_ns ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Workers check messages in parallel, so they reach the queue in any order; the room
 * and the history must see them in the order they arrived on the socket loops (one
 * sender's messages in the order sent). The batch is sorted by arrival, and the ids,
 * which order the history, are given here, in that order. */
static chat_msg *in_arrival_order(chat_msg *b, size_t n) {
  chat_msg *stack[64], **v = n <= 64 ? stack : malloc(n * sizeof *v);
  if (!v) return b; /* no memory: queue order, still correct, maybe not sorted */
  size_t i = 0;
  for (chat_msg *m = b; m; m = m->next) v[i++] = m;
  qsort(v, n, sizeof *v, by_arrival);
  for (i = 0; i < n; i++) {
    v[i]->next = i + 1 < n ? v[i + 1] : NULL;
    v[i]->id = db_id_new();
    json_object_set_new(v[i]->event, "id", vz_json_id(v[i]->id));
  }
  b = v[0];
  if (v != stack) free(v);
  return b;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static void *writer_main(void *arg) {
  (void)arg;
  vz_db *db = NULL;
  char err[256];
  for (;;) {
    pthread_mutex_lock(&mu);
    while (!queued && !stopping) pthread_cond_wait(&cv, &mu);
    if (!queued && stopping) { pthread_mutex_unlock(&mu); break; }
    /* group: wait a little for more, unless a full batch is there or we are stopping */
    if (queued < BATCH_MAX && !stopping) {
      pthread_mutex_unlock(&mu);
      sleep_ms(WAIT_MS);
      pthread_mutex_lock(&mu);
    }
    chat_msg *b = head, **bt = &head;
    size_t n = 0;
    while (*bt && n < BATCH_MAX) { bt = &(*bt)->next; n++; }
    head = *bt;
    *bt = NULL;
    if (!head) tail = &head;
    queued -= n;
    pthread_mutex_unlock(&mu);

    b = in_arrival_order(b, n);
    uint64_t t0 = vz_mono_ms();
    long backoff = 10;
    int rc;
    for (;;) {
      if (!db && db_open(vz_cfg.db_url, &db, err, sizeof err) < 0) { db = NULL; rc = DB_EUNAVAILABLE; }
      else rc = insert_batch(db, b);
      if (rc == 0) break;
      static atomic_llong warned;
      if (vz_log_allow(&warned, 5000)) vz_log_warn("chat writer: batch not written, retrying", "error", db ? db_errmsg(db) : err);
      if (rc == DB_EUNAVAILABLE && db) { db_close(db); db = NULL; }
      if (vz_mono_ms() - t0 > GIVE_UP_MS) break;
      sleep_ms(backoff);
      if (backoff < 1000) backoff *= 2;
    }
    if (rc == 0) {
      atomic_fetch_add(&n_batches, 1);
      atomic_fetch_add(&n_messages, n);
    }
    answer(b, rc == 0);
  }
  if (db) db_close(db);
  return NULL;
}

int chat_writer_start(void) {
  pthread_mutex_lock(&mu);
  running = 1;
  stopping = 0;
  pthread_mutex_unlock(&mu);
  if (pthread_create(&thr, NULL, writer_main, NULL) != 0) {
    running = 0;
    return -1;
  }
  return 0;
}

/* At shutdown: what is queued is still written and answered, then the thread ends. */
void chat_writer_stop(void) {
  pthread_mutex_lock(&mu);
  if (!running) { pthread_mutex_unlock(&mu); return; }
  stopping = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(thr, NULL);
  running = 0;
}
