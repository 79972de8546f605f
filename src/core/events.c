/* events.c: the subscription table, the emit, and the one job handler every ASYNC queue
 * shares. The table is filled by vz_services_init before any thread runs and sealed
 * after, so emits (on any worker) read it without a lock. An ASYNC subscriber's job
 * carries the event as JSON ({"id","kind","data"}); each kind has its encoder and decoder
 * in kinds[], which is also where a reserved kind becomes a real one. */
#include "core/events.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idempotency.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "jobs/jobs.h"
#include "jobs/runner.h"

#define MAX_SUBS 64
#define MAX_DEPTH 4          /* an IN_TX handler may emit; a loop of them may not */
#define JOB_LEASE_MS 30000   /* an ASYNC handler's time before another worker may run it */

/* ---- kinds: name and JSON form of each payload ---------------------------------------- */

static json_t *enc_user_deleted(const vz_event *e) {
  const vz_ev_user_deleted *p = &e->user_deleted;
  return json_pack("{s:I, s:I, s:s?}", "user_id", (json_int_t)p->user_id, "actor_id",
                   (json_int_t)p->actor_id, "avatar_key", p->avatar_key);
}

static int dec_user_deleted(json_t *d, vz_event *e) {
  vz_ev_user_deleted *p = &e->user_deleted;
  json_t *key = json_object_get(d, "avatar_key");
  p->user_id = json_integer_value(json_object_get(d, "user_id"));
  p->actor_id = json_integer_value(json_object_get(d, "actor_id"));
  p->avatar_key = json_string_value(key); /* lives as long as d: the handler's call */
  return p->user_id > 0 && (!key || json_is_null(key) || p->avatar_key) ? 0 : -1;
}

static json_t *enc_user_suspended(const vz_event *e) {
  const vz_ev_user_suspended *p = &e->user_suspended;
  return json_pack("{s:I, s:I, s:I}", "user_id", (json_int_t)p->user_id, "actor_id",
                   (json_int_t)p->actor_id, "until_ms", (json_int_t)p->until_ms);
}

static int dec_user_suspended(json_t *d, vz_event *e) {
  vz_ev_user_suspended *p = &e->user_suspended;
  p->user_id = json_integer_value(json_object_get(d, "user_id"));
  p->actor_id = json_integer_value(json_object_get(d, "actor_id"));
  p->until_ms = json_integer_value(json_object_get(d, "until_ms"));
  return p->user_id > 0 ? 0 : -1;
}

static json_t *enc_stream_live(const vz_event *e) {
  const vz_ev_stream_live *p = &e->stream_live;
  return json_pack("{s:I, s:I, s:I, s:I, s:s?, s:s?, s:i}", "stream_id", (json_int_t)p->stream_id, "host_id",
                   (json_int_t)p->host_id, "session_id", (json_int_t)p->session_id, "started_at",
                   (json_int_t)p->started_at, "source", p->source, "title", p->title, "visibility", p->visibility);
}

static int dec_stream_live(json_t *d, vz_event *e) {
  vz_ev_stream_live *p = &e->stream_live;
  p->stream_id = json_integer_value(json_object_get(d, "stream_id"));
  p->host_id = json_integer_value(json_object_get(d, "host_id"));
  p->session_id = json_integer_value(json_object_get(d, "session_id"));
  p->started_at = json_integer_value(json_object_get(d, "started_at"));
  p->source = json_string_value(json_object_get(d, "source")); /* lives as long as d */
  p->title = json_string_value(json_object_get(d, "title"));
  p->visibility = (int)json_integer_value(json_object_get(d, "visibility"));
  return p->stream_id > 0 && p->host_id > 0 ? 0 : -1;
}

static json_t *enc_stream_ended(const vz_event *e) {
  const vz_ev_stream_ended *p = &e->stream_ended;
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s?}", "stream_id", (json_int_t)p->stream_id, "host_id",
                   (json_int_t)p->host_id, "session_id", (json_int_t)p->session_id, "started_at",
                   (json_int_t)p->started_at, "ended_at", (json_int_t)p->ended_at, "peak_viewers",
                   (json_int_t)p->peak_viewers, "reason", p->reason);
}

static int dec_stream_ended(json_t *d, vz_event *e) {
  vz_ev_stream_ended *p = &e->stream_ended;
  p->stream_id = json_integer_value(json_object_get(d, "stream_id"));
  p->host_id = json_integer_value(json_object_get(d, "host_id"));
  p->session_id = json_integer_value(json_object_get(d, "session_id"));
  p->started_at = json_integer_value(json_object_get(d, "started_at"));
  p->ended_at = json_integer_value(json_object_get(d, "ended_at"));
  p->peak_viewers = json_integer_value(json_object_get(d, "peak_viewers"));
  p->reason = json_string_value(json_object_get(d, "reason"));
  return p->stream_id > 0 && p->host_id > 0 ? 0 : -1;
}

typedef struct kind_info {
  const char *name;
  size_t size;                          /* of the payload struct; 0: reserved */
  json_t *(*enc)(const vz_event *e);
  int (*dec)(json_t *data, vz_event *e); /* 0, or -1 for a payload this build cannot read */
} kind_info;

static const kind_info kinds[VZ_EV_KINDS] = {
  [VZ_EV_USER_DELETED] = { "user_deleted", sizeof(vz_ev_user_deleted), enc_user_deleted, dec_user_deleted },
  [VZ_EV_USER_SUSPENDED] = { "user_suspended", sizeof(vz_ev_user_suspended), enc_user_suspended, dec_user_suspended },
  [VZ_EV_STREAM_LIVE] = { "stream_live", sizeof(vz_ev_stream_live), enc_stream_live, dec_stream_live },
  [VZ_EV_STREAM_ENDED] = { "stream_ended", sizeof(vz_ev_stream_ended), enc_stream_ended, dec_stream_ended },
  [VZ_EV_ORDER_PAID] = { "order_paid", 0, NULL, NULL },
};

static int kind_usable(int kind) { return kind > VZ_EV_NONE && kind < VZ_EV_KINDS && kinds[kind].size; }

const char *vz_event_name(int kind) {
  return kind > VZ_EV_NONE && kind < VZ_EV_KINDS && kinds[kind].name ? kinds[kind].name : "?";
}

/* ---- the table ------------------------------------------------------------------------ */

typedef struct sub {
  char service[32];
  char queue[64];         /* ASYNC: "ev.<service>.<kind>" */
  int kind, mode;
  vz_event_fn fn;
  atomic_ullong failures; /* IN_TX: emits it failed; ASYNC: job runs that failed */
} sub;

static sub subs[MAX_SUBS];
static int nsubs;
static atomic_int sealed;
static atomic_ullong emitted[VZ_EV_KINDS];

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && n) vsnprintf(err, n, fmt, ap);
  va_end(ap);
  return -1;
}

static int run_job(vz_db *db, const jobs_job *j, char *err, size_t errlen);

int vz_event_subscribe(const char *service, const vz_subscription *s, char *err, size_t errlen) {
  if (atomic_load(&sealed)) return fail(err, errlen, "subscribes after start-up");
  if (!s || !s->fn || !kind_usable(s->kind))
    return fail(err, errlen, "subscribes to %s, an unknown or reserved event",
                s ? vz_event_name(s->kind) : "?");
  if (s->mode != VZ_EV_IN_TX && s->mode != VZ_EV_ASYNC)
    return fail(err, errlen, "its %s subscription has no mode (VZ_EV_IN_TX or VZ_EV_ASYNC)",
                vz_event_name(s->kind));
  if (nsubs == MAX_SUBS) return fail(err, errlen, "the event subscription table is full (%d)", MAX_SUBS);
  if (strlen(service) >= sizeof subs[0].service) return fail(err, errlen, "service name too long for the event table");
  sub *r = &subs[nsubs];
  memset(r->queue, 0, sizeof r->queue);
  snprintf(r->service, sizeof r->service, "%s", service);
  r->kind = s->kind, r->mode = s->mode, r->fn = s->fn;
  atomic_store(&r->failures, 0);
  if (s->mode == VZ_EV_ASYNC) {
    /* one queue per (service, kind): a failing subscriber retries alone, and its jobs,
     * dead letters and backlog are visible by name */
    snprintf(r->queue, sizeof r->queue, "ev.%s.%s", service, vz_event_name(s->kind));
    for (int i = 0; i < nsubs; i++)
      if (!strcmp(subs[i].queue, r->queue))
        return fail(err, errlen, "subscribes twice to %s asynchronously", vz_event_name(s->kind));
    if (jobs_register(r->queue, run_job, JOB_LEASE_MS) < 0)
      return fail(err, errlen, "could not register job queue %s (queue table full?)", r->queue);
  }
  nsubs++;
  return 0;
}

static void write_metrics(char **buf, size_t *len, size_t *cap) {
  vz_metrics_printf(buf, len, cap, "# TYPE vidzo_events_emitted_total counter\n");
  for (int k = 1; k < VZ_EV_KINDS; k++)
    if (kinds[k].size)
      vz_metrics_printf(buf, len, cap, "vidzo_events_emitted_total{kind=\"%s\"} %llu\n", kinds[k].name,
                        (unsigned long long)atomic_load(&emitted[k]));
  vz_metrics_printf(buf, len, cap, "# TYPE vidzo_event_handler_failures_total counter\n");
  for (int i = 0; i < nsubs; i++)
    vz_metrics_printf(buf, len, cap, "vidzo_event_handler_failures_total{kind=\"%s\",service=\"%s\",mode=\"%s\"} %llu\n",
                      vz_event_name(subs[i].kind), subs[i].service, subs[i].mode == VZ_EV_ASYNC ? "async" : "in_tx",
                      (unsigned long long)atomic_load(&subs[i].failures));
}

void vz_event_seal(void) {
  static int metrics_on;
  if (!metrics_on && vz_metrics_register(write_metrics) == 0) metrics_on = 1;
  atomic_store(&sealed, 1);
}

void vz_event_reset(void) {
  nsubs = 0;
  atomic_store(&sealed, 0);
  for (int k = 0; k < VZ_EV_KINDS; k++) atomic_store(&emitted[k], 0);
}

/* ---- emit ----------------------------------------------------------------------------- */

/* {"id":..,"kind":"user_deleted","data":{..}}: malloc'd, or NULL out of memory. */
static char *job_payload(const vz_event *ev) {
  json_t *o = json_pack("{s:I, s:s, s:o*}", "id", (json_int_t)ev->id, "kind", kinds[ev->kind].name, "data",
                        kinds[ev->kind].enc(ev));
  char *s = o && json_object_size(o) == 3 ? vz_json_dumps(o, NULL) : NULL;
  json_decref(o);
  return s;
}

static _Thread_local int depth;

int vz_event_emit(vz_db *db, int kind, const void *payload) {
  if (!kind_usable(kind) || !payload) return VZ_EV_EKIND;
  if (!atomic_load(&sealed)) {
    /* a process that never ran vz_services_init (a CLI command) would skip every other
     * service's part: refuse, so the change is rolled back instead */
    vz_log_error("event emitted before the services subscribed", "event", kinds[kind].name);
    return VZ_EV_ENOTREADY;
  }
  if (!db || db_tx_depth(db) < 1) {
    vz_log_error("event emitted outside a transaction", "event", kinds[kind].name);
    return VZ_EV_ENOTX;
  }
  if (depth >= MAX_DEPTH) return VZ_EV_EDEPTH;
  vz_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = kind;
  ev.id = db_id_new();
  memcpy(&ev.user_deleted, payload, kinds[kind].size); /* the union's start, whatever member */
  char *job = NULL, key[32];
  int rc = 0;
  snprintf(key, sizeof key, "ev-%lld", (long long)ev.id);
  depth++;
  for (int i = 0; i < nsubs && rc == 0; i++) {
    sub *s = &subs[i];
    if (s->kind != kind) continue;
    if (s->mode == VZ_EV_IN_TX) {
      rc = s->fn(db, &ev);
    } else {
      if (!job && !(job = job_payload(&ev))) {
        rc = DB_ERROR; /* out of memory: the change must not commit without its job */
      } else {
        rc = jobs_enqueue(db, s->queue, job, 0, key, NULL);
        if (rc == JOBS_DUPLICATE) rc = 0; /* cannot happen (fresh id); harmless if it did */
      }
    }
    if (rc < 0) {
      atomic_fetch_add(&s->failures, 1);
      char code[16];
      snprintf(code, sizeof code, "%d", rc);
      vz_log_warn("event subscriber failed: the change rolls back", "event", kinds[kind].name, "service",
                  s->service, "mode", s->mode == VZ_EV_ASYNC ? "async" : "in_tx", "rc", code);
    }
  }
  depth--;
  free(job);
  if (rc == 0) atomic_fetch_add(&emitted[kind], 1);
  return rc < 0 ? rc : 0;
}

/* ---- ASYNC: the handler of every "ev.*" queue ----------------------------------------- */

static int run_job(vz_db *db, const jobs_job *j, char *err, size_t errlen) {
  sub *s = NULL;
  for (int i = 0; i < nsubs && !s; i++)
    if (subs[i].mode == VZ_EV_ASYNC && !strcmp(subs[i].queue, j->queue)) s = &subs[i];
  if (!s) { /* cannot happen: the runner only claims registered queues */
    snprintf(err, errlen, "no subscriber for queue %s", j->queue);
    return -1;
  }
  json_error_t je;
  int oom = 0;
  json_t *o = vz_json_loadb(j->payload, strlen(j->payload), 0, &je, &oom);
  vz_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = s->kind;
  ev.id = json_integer_value(json_object_get(o, "id"));
  const char *kind = json_string_value(json_object_get(o, "kind"));
  int rc;
  if (!o) {
    snprintf(err, errlen, oom ? "out of memory reading the event" : "the event is not JSON");
    rc = -1;
  } else if (!kind || strcmp(kind, kinds[s->kind].name) || kinds[s->kind].dec(json_object_get(o, "data"), &ev) < 0) {
    snprintf(err, errlen, "the event is not a %s this build can read", kinds[s->kind].name);
    rc = -1;
  } else if ((rc = s->fn(db, &ev)) < 0) {
    snprintf(err, errlen, "%s handler of %s failed (%d): %s", s->service, kinds[s->kind].name, rc, db_errmsg(db));
  }
  if (rc < 0) atomic_fetch_add(&s->failures, 1);
  json_decref(o);
  return rc < 0 ? -1 : 0;
}

/* ---- the core's own part -------------------------------------------------------------- */

/* idempotency_keys is the core's table (migration 010): the stored answers of a deleted
 * account hold what it submitted, so they go in the deletion's transaction. The core
 * subscribes like a service instead of users calling into it: users does not know which
 * records the core keeps about a person, and the next core table will add its row here. */
static int core_on_user_deleted(vz_db *db, const vz_event *ev) {
  return vz_idem_forget_user(db, ev->user_deleted.user_id);
}

const vz_subscription vz_core_on[] = {
  { VZ_EV_USER_DELETED, core_on_user_deleted, VZ_EV_IN_TX },
  { 0 },
};
