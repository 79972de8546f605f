/* sio_events: declared Socket.IO events (sio_events.h), run through the pipeline HTTP
 * routes get: rate limit, auth and role, declared input, then the handler on the pool
 * or the loop. An event is carried by an ordinary vz_req (arena, identity, reply
 * body), so handlers, validators and error envelopes are the ones routes use. The
 * request never holds the socket: after a worker it finds the socket again by session
 * id, namespace and socket id on the owning loop, and a socket gone meanwhile simply
 * gets no ack. */
#include "realtime/sio_events.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/arena.h"
#include "core/idempotency.h"
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "lib/clock.h"
#include "realtime/eio_int.h"
#include "realtime/sio_int.h"

/* The core's, declared where they are used (dispatch.c, router.c). */
vz_db *vz_worker_db(void);
vz_db *vz_worker_db_read(void);
int vz_validate_json_or_fail(vz_req *req, const vz_field *fields, json_t *obj);
extern int (*vz_ratelimit_hook)(const char *key, int per_min, int *retry_after_s);
void vz_req_free(vz_req *req);

#define MAX_EVENTS 128
enum { OUT_OK, OUT_CLIENT, OUT_SERVER, OUT_N };
static const char *const outcome_names[OUT_N] = { "ok", "client_error", "server_error" };
static const sio_event *events[MAX_EVENTS];
/* Each event's request carries a route of its own ("EVENT sio:<event>"), so what the core
 * does for routes by their flags (audit in the change's transaction) applies as is. */
static vz_route ev_routes[MAX_EVENTS];
static int nevents;
static _Atomic uint64_t counts[MAX_EVENTS][OUT_N];
static _Atomic uint64_t micros[MAX_EVENTS];

int sio_events_add(sio_event *table) {
  for (sio_event *e = table; e->event; e++) {
    if (e->flags & SIO_EMITTED) continue;
    if (nevents == MAX_EVENTS || !e->nsp || !e->handler) return -1;
    /* audit rows go in the change's transaction: a worker's; idempotency keys are HTTP's */
    if ((e->flags & VZ_IDEMPOTENT) || ((e->flags & VZ_AUDIT) && (e->flags & SIO_ON_LOOP))) {
      vz_log_error("socket event refused: VZ_AUDIT needs the worker pool, VZ_IDEMPOTENT is for routes", "event", e->event);
      return -1;
    }
    char *path = malloc(strlen(e->event) + 5);
    if (!path) return -1;
    snprintf(path, strlen(e->event) + 5, "sio:%s", e->event);
    ev_routes[nevents] = (vz_route){ .method = "EVENT", .path = path, .handler = e->handler, .flags = e->flags };
    e->idx = nevents;
    events[nevents++] = e;
    if (sio_on_declared(e->nsp, e->event, e) < 0) return -1;
  }
  return 0;
}

/* An event's series appear once it has been used: with dozens of declared events, the
 * zero series of unused ones made /metrics a third bigger for nothing (scrapes and the
 * pipelined-/metrics story pay for every byte). Counters start at 0, so a series that
 * appears later with its first count loses nothing. */
static int used(int i) {
  for (int o = 0; o < OUT_N; o++)
    if (atomic_load_explicit(&counts[i][o], memory_order_relaxed)) return 1;
  return 0;
}

void sio_events_metrics(char **b, size_t *l, size_t *c) {
  if (!nevents) return;
  vz_metrics_printf(b, l, c, "# TYPE vidzo_realtime_events_total counter\n");
  for (int i = 0; i < nevents; i++)
    for (int o = 0; o < OUT_N && used(i); o++)
      vz_metrics_printf(b, l, c, "vidzo_realtime_events_total{nsp=\"%s\",event=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
                        events[i]->nsp, events[i]->event, outcome_names[o], atomic_load(&counts[i][o]));
  vz_metrics_printf(b, l, c, "# TYPE vidzo_realtime_event_seconds_sum counter\n");
  for (int i = 0; i < nevents; i++)
    if (used(i))
      vz_metrics_printf(b, l, c, "vidzo_realtime_event_seconds_sum{nsp=\"%s\",event=\"%s\"} %.6f\n", events[i]->nsp,
                      events[i]->event, (double)atomic_load(&micros[i]) / 1e6);
}

/* What an event needs to find its socket again, and its request. refs: the after-work
 * callback and the handler's answer (at once, or sio_event_done for VZ_PENDING); the
 * last of the two finishes. */
typedef struct ev_job {
  uv_work_t w;
  vz_req *req;
  const sio_event *e;
  int64_t ack_id;
  int retry_after;
  atomic_int refs;
  char sid[32], nsp[SIO_MAX_NSP + 1], socket_id[21];
} ev_job;

/* Hung on req->user for the event's life (the request is the event's own). */
typedef struct ev_ext {
  ev_job *job;
  char join[ROOM_MAX + 1], leave[ROOM_MAX + 1];
  char hide_key[24];     /* "" when the handler set no hide list */
  int64_t *hide;         /* in the request's arena */
  int nhide;
} ev_ext;

static int set_room(vz_req *req, int join, const char *room) {
  ev_ext *x = req->user;
  if (!x || !sio_valid_room(room)) return -1;
  snprintf(join ? x->join : x->leave, ROOM_MAX + 1, "%s", room);
  return 0;
}
int sio_event_join(vz_req *req, const char *room) { return set_room(req, 1, room); }

int sio_event_hide(vz_req *req, const char *key, const int64_t *ids, int n) {
  ev_ext *x = req->user;
  if (!x || !key || !*key || strlen(key) >= sizeof x->hide_key || n < 0) return -1;
  x->hide = n ? vz_arena_alloc(req->arena, (size_t)n * sizeof *ids) : NULL;
  if (n && !x->hide) return -1;
  if (n) memcpy(x->hide, ids, (size_t)n * sizeof *ids);
  x->nhide = n;
  snprintf(x->hide_key, sizeof x->hide_key, "%s", key);
  return 0;
}
int sio_event_leave(vz_req *req, const char *room) { return set_room(req, 0, room); }

static _Thread_local uint64_t rid_counter;

static vz_req *req_new(sio_socket *s, const sio_event *e) {
  vz_arena *a = vz_arena_new(0);
  vz_req *r = a ? vz_arena_calloc(a, sizeof *r) : NULL;
  if (!r) { vz_arena_free(a); return NULL; }
  r->arena = a;
  r->method = "EVENT";
  r->path = vz_arena_printf(a, "%s %s", e->nsp, e->event);
  r->query = "";
  r->route = &ev_routes[e->idx];
  r->loop = eio_session_loop(s->c->e);
  r->start_ns = vz_mono_ns();
  r->user_id = s->who.user_id;
  r->role = s->who.role;
  r->session_id = s->who.session_id;
  snprintf(r->request_id, sizeof r->request_id, "ev%08x%012" PRIx64, (unsigned)(uintptr_t)r->loop & 0xffffffffu,
           ++rid_counter);
  r->user = vz_arena_calloc(a, sizeof(ev_ext));
  return r->path && r->user ? r : (vz_arena_free(a), NULL);
}

/* The checks before the handler; 0 to run it, else the reply is set. */
static int admit(vz_req *req, sio_socket *s, const sio_event *e, const json_t *arg, int *retry_after) {
  if (e->rate_per_min && vz_ratelimit_hook) {
    char key[96];
    if (s->who.user_id) snprintf(key, sizeof key, "ev:%d:u:%" PRId64, e->idx, s->who.user_id);
    else snprintf(key, sizeof key, "ev:%d:s:%s", e->idx, s->id);
    if (!vz_ratelimit_hook(key, e->rate_per_min, retry_after)) {
      if (*retry_after < 1) *retry_after = 1;
      return vz_fail(req, 429, "rate_limited", NULL, "too many %s events, retry in %d s", e->event, *retry_after);
    }
  }
  int roles = e->flags & (VZ_ROLE_SELLER | VZ_ROLE_MODERATOR | VZ_ROLE_ADMIN);
  if ((e->flags & VZ_AUTH || roles) && !req->user_id)
    return vz_fail(req, 401, "unauthenticated", NULL, "sign in first (connect with an access token)");
  if (roles && req->role != VZ_R_ADMIN && !((roles & VZ_ROLE_SELLER) && req->role == VZ_R_SELLER) &&
      !((roles & VZ_ROLE_MODERATOR) && req->role == VZ_R_MODERATOR))
    return vz_fail(req, 403, "forbidden", NULL, "your role may not do this");
  if (!e->in) {
    req->json = vz_arena_json(req, json_object());
    return req->json ? 0 : vz_fail(req, 503, "unavailable", NULL, "server busy");
  }
  if (arg && !json_is_object(arg))
    return vz_fail(req, 400, "invalid_argument", NULL, "%s takes an object as its first argument", e->event);
  /* a copy: the worker must not share the packet's values with the loop; no argument
   * is an empty object (its required fields are then reported missing) */
  req->json = vz_arena_json(req, arg ? json_deep_copy(arg) : json_object());
  if (!req->json) return vz_fail(req, 503, "unavailable", NULL, "server busy");
  if (vz_validate_json_or_fail(req, e->in, req->json)) return req->status;
  if (e->room_prefix && e->room_field) {
    const json_t *v = json_object_get(req->json, e->room_field);
    char room[ROOM_MAX + 1];
    if (json_is_string(v)) snprintf(room, sizeof room, "%s%s", e->room_prefix, json_string_value(v));
    else if (json_is_integer(v)) snprintf(room, sizeof room, "%s%" JSON_INTEGER_FORMAT, e->room_prefix, json_integer_value(v));
    else return vz_fail(req, 400, "invalid_argument", e->room_field, "%s is required", e->room_field);
    if (!sio_in_room(s, room)) return vz_fail(req, 403, "not_in_room", e->room_field, "join the room first");
  }
  return 0;
}

/* Returns VZ_PENDING when the handler handed the request on (worker events only). */
static int run_handler(vz_req *req, const sio_event *e) {
  vz_log_context_set(req->request_id, req->user_id, req->path);
  int rc = e->handler(req);
  vz_log_context_clear();
  if (rc == VZ_PENDING && !(e->flags & SIO_ON_LOOP) && !(e->flags & VZ_AUDIT)) return VZ_PENDING;
  if (!req->status) vz_fail(req, 500, "internal", NULL, "the server could not answer");
  return 0;
}

/* On the owning loop: ack, count, log, free. s may be NULL (the socket went away). */
static void serial_next(sio_socket *s);

static void finish(sio_socket *s, vz_req *req, const sio_event *e, int64_t ack_id, int retry_after) {
  ev_ext *x = req->user;
  if (s && x && req->status < 300) { /* rooms first: the ack tells the client it is in */
    if (x->leave[0]) sio_leave(s, x->leave);
    if (x->join[0]) sio_join(s, x->join);
    if (x->hide_key[0]) sio_socket_hide(s, x->hide_key, x->hide, x->nhide);
  }
  if (s && ack_id >= 0) {
    json_t *body = req->res_body ? vz_json_loadb(req->res_body, req->res_len, 0, NULL, NULL) : NULL;
    if (!body) body = json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message", "no answer");
    json_t *err = json_object_get(body, "error");
    if (err && retry_after > 0) json_object_set_new(err, "retry_after", json_integer(retry_after));
    sio_ack(s, ack_id, json_pack("[o]", body));
  }
  int st = req->status;
  int out = st >= 500 ? OUT_SERVER : st >= 400 ? OUT_CLIENT : OUT_OK;
  uint64_t us = (vz_mono_ns() - req->start_ns) / 1000;
  atomic_fetch_add_explicit(&counts[e->idx][out], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&micros[e->idx], us, memory_order_relaxed);
  if (vz_log_level <= VZ_LOG_INFO || st >= 500) {
    char sts[12], ms[24], uid[24];
    snprintf(sts, sizeof sts, "%d", st);
    snprintf(ms, sizeof ms, "%.3f", (double)us / 1000);
    snprintf(uid, sizeof uid, "%" PRId64, req->user_id);
    vz_log(st >= 500 ? VZ_LOG_ERROR : VZ_LOG_INFO, "event", "rid", req->request_id, "route", req->path, "status", sts,
           "ms", ms, "uid", req->user_id ? uid : "", (char *)0);
  }
  vz_req_free(req);
  if (s && (e->flags & SIO_SERIAL)) serial_next(s);
}

static void work_cb(uv_work_t *w) {
  ev_job *j = w->data;
  vz_req *req = j->req;
  vz_metrics_queue(-1);
  req->db = vz_worker_db();
  req->db_read = vz_worker_db_read();
  if (!req->db) vz_fail(req, 503, "unavailable", NULL, "database unavailable, retry shortly");
  else if (j->e->flags & VZ_AUDIT) { /* one transaction with its audit row, as a route */
    vz_log_context_set(req->request_id, req->user_id, req->path);
    vz_tx_run(req);
    vz_log_context_clear();
    if (!req->status) vz_fail(req, 500, "internal", NULL, "the server could not answer");
  } else if (run_handler(req, j->e) == VZ_PENDING) {
    return; /* the thread it went to calls sio_event_done; it owns the request now */
  }
  req->db = req->db_read = NULL;
  atomic_fetch_sub(&j->refs, 1); /* answered here: no sio_event_done will come */
}

static sio_socket *find_again(const ev_job *j) {
  vz_loop *l = vz_loop_current();
  eio_session *e = l ? eio_session_find(eio_lst(l), j->sid) : NULL;
  sio_conn *c = e && !e->closing ? *eio_session_data(e) : NULL;
  for (sio_socket *s = c ? c->sockets : NULL; s; s = s->next)
    if (!s->gone && strcmp(s->ns->name, j->nsp) == 0 && strcmp(s->id, j->socket_id) == 0) return s;
  return NULL;
}

static void job_finish(ev_job *j) {
  finish(find_again(j), j->req, j->e, j->ack_id, j->retry_after);
  free(j);
}

static void after_work_cb(uv_work_t *w, int status) {
  ev_job *j = w->data;
  if (status == UV_ECANCELED) { /* the handler never ran */
    vz_fail(j->req, 503, "unavailable", NULL, "server shutting down");
    job_finish(j);
    return;
  }
  if (atomic_fetch_sub(&j->refs, 1) == 1) job_finish(j);
}

static void done_posted(void *arg) { job_finish(arg); }

void sio_event_done(vz_req *req) {
  ev_ext *x = req->user;
  ev_job *j = x ? x->job : NULL;
  if (!j) return;
  req->db = req->db_read = NULL;
  if (!req->status) vz_fail(req, 500, "internal", NULL, "the server could not answer");
  if (atomic_fetch_sub(&j->refs, 1) != 1) return; /* after_work_cb is still to come */
  if (vz_loop_post(req->loop, done_posted, j) < 0) {
    /* the loop is gone (shutdown): nothing to ack; drop quietly */
    vz_req_free(req);
    free(j);
  }
}

/* SIO_SERIAL: an event that arrived while another of the socket's was in flight. */
typedef struct sio_waiting_ev {
  struct sio_waiting_ev *next;
  const sio_event *e;
  json_t *args;
  int64_t ack_id;
} sio_waiting_ev;
#define MAX_WAITING 32

void sio_event_waiting_free(sio_socket *s) {
  while (s->wait_head) {
    sio_waiting_ev *w = s->wait_head;
    s->wait_head = w->next;
    json_decref(w->args);
    free(w);
  }
  s->wait_tail = NULL;
  s->nwait = 0;
}

static void run_now(sio_socket *s, const sio_event *e, const json_t *args, int64_t ack_id);

/* After a SIO_SERIAL event answered: the next waiting one runs (on the loop). */
static void serial_next(sio_socket *s) {
  s->serial_busy = 0;
  sio_waiting_ev *w = s->wait_head;
  if (!w) return;
  s->wait_head = w->next;
  if (!s->wait_head) s->wait_tail = NULL;
  s->nwait--;
  s->serial_busy = 1;
  run_now(s, w->e, w->args, w->ack_id);
  json_decref(w->args);
  free(w);
}

void sio_event_run(sio_socket *s, const sio_event *e, const json_t *args, int64_t ack_id) {
  if (e->flags & SIO_SERIAL) {
    if (s->serial_busy) {
      sio_waiting_ev *w = s->nwait < MAX_WAITING ? calloc(1, sizeof *w) : NULL;
      if (!w) {
        if (ack_id >= 0)
          sio_ack(s, ack_id, json_pack("[{s:{s:s,s:s,s:i}}]", "error", "code", "busy", "message",
                                       "too many events in flight, wait for the answers", "retry_after", 1));
        return;
      }
      w->e = e;
      w->args = json_incref((json_t *)args);
      w->ack_id = ack_id;
      if (s->wait_tail) s->wait_tail->next = w;
      else s->wait_head = w;
      s->wait_tail = w;
      s->nwait++;
      return;
    }
    s->serial_busy = 1;
  }
  run_now(s, e, args, ack_id);
}

static void run_now(sio_socket *s, const sio_event *e, const json_t *args, int64_t ack_id) {
  vz_req *req = req_new(s, e);
  if (!req) {
    if (ack_id >= 0)
      sio_ack(s, ack_id, json_pack("[{s:{s:s,s:s}}]", "error", "code", "unavailable", "message", "server busy"));
    if (e->flags & SIO_SERIAL) serial_next(s);
    return;
  }
  int retry_after = 0;
  if (admit(req, s, e, json_array_get(args, 0), &retry_after) || (e->flags & SIO_ON_LOOP)) {
    if (!req->status) run_handler(req, e);
    finish(s, req, e, ack_id, retry_after);
    return;
  }
  ev_job *j = calloc(1, sizeof *j);
  if (j) {
    j->w.data = j;
    j->req = req;
    j->e = e;
    j->ack_id = ack_id;
    atomic_init(&j->refs, 2);
    ((ev_ext *)req->user)->job = j;
    snprintf(j->sid, sizeof j->sid, "%s", s->c->e->sid);
    snprintf(j->nsp, sizeof j->nsp, "%s", s->ns->name);
    snprintf(j->socket_id, sizeof j->socket_id, "%s", s->id);
    vz_metrics_queue(1);
    if (uv_queue_work(vz_loop_uv(req->loop), &j->w, work_cb, after_work_cb) == 0) return;
    vz_metrics_queue(-1);
    free(j);
  }
  vz_fail(req, 503, "unavailable", NULL, "server busy");
  finish(s, req, e, ack_id, 0);
}
