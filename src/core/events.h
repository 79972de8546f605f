/* events: typed in-process events between services (ARCHITECTURE.md "Services"). Each
 * table has one owning service; when the owner changes something other services keep
 * data about (an account is deleted), it emits one event inside the transaction of that
 * change, and every service that cares handles it in its own folder, subscribed through
 * its descriptor (core/service.h `.on`). The emitter never names its subscribers.
 *
 *   static const vz_subscription media_on[] = {
 *     { VZ_EV_USER_DELETED, media_on_user_deleted, VZ_EV_ASYNC }, { 0 } };
 *   const vz_service media_service = { .name = "media", ..., .on = media_on };
 *
 *   // users/account.c, between db_begin and db_commit
 *   vz_ev_user_deleted ev = { .user_id = uid, .actor_id = actor, .avatar_key = key };
 *   if ((rc = vz_event_emit(db, VZ_EV_USER_DELETED, &ev)) < 0) goto rollback;
 *
 * Two modes per subscription:
 *   VZ_EV_IN_TX  the handler runs at once, on the emitter's thread, with the emitter's vz_db
 *                and inside its transaction: rows that must go with the change (sessions
 *                revoked, graph edges dropped) commit or roll back with it. The first
 *                handler that fails fails the emit; the emitter then rolls back, so a
 *                change is never half-applied across services.
 *   VZ_EV_ASYNC  the core enqueues one durable job for this subscriber (jobs/jobs.h), on
 *                the same vz_db inside the same transaction: the outbox. The job exists
 *                exactly when the change commits, and a job worker runs the handler later
 *                with its own vz_db, outside any transaction, at least once (retried with
 *                backoff): handlers must be idempotent. For what a transaction cannot
 *                hold: files, memory of this or other instances, outbound calls.
 * Handlers run in registration order: the core's first, then the services in services.c
 * order. docs/internals/events.md has the list and the rules. */
#ifndef VZ_EVENTS_H
#define VZ_EVENTS_H
#include <stdint.h>

#include "db/db.h"

enum vz_event_kind {
  VZ_EV_NONE = 0,       /* ends a subscription table */
  VZ_EV_USER_DELETED,   /* vz_ev_user_deleted: users, when an account is deleted */
  VZ_EV_USER_SUSPENDED, /* vz_ev_user_suspended: users, when an admin suspends an account */
  VZ_EV_STREAM_LIVE,    /* vz_ev_stream_live: streams, when a stream goes live */
  VZ_EV_STREAM_ENDED,   /* vz_ev_stream_ended: streams, when a live stream ends */
  /* Reserved: the services that will emit these add their payload struct below and their
   * JSON form in events.c (kinds[]) with their first emitter. Until then emitting one, or
   * subscribing to one, is refused. */
  VZ_EV_ORDER_PAID,     /* orders: an order was paid */
  VZ_EV_KINDS
};

/* The account row stays (orders keep their buyer and seller) with deleted_at set; every
 * service removes or anonymises what it keeps about the person. */
typedef struct vz_ev_user_deleted {
  int64_t user_id;
  int64_t actor_id;       /* who deleted it: the user, an admin; 0 the system or the CLI */
  /* The profile photo's media key at deletion, NULL when none. The users row forgets it
   * in the same transaction, so this is the only place media can learn it from. */
  const char *avatar_key;
} vz_ev_user_deleted;

/* Sign-in and tokens are refused while suspended; the row and its data stay. */
typedef struct vz_ev_user_suspended {
  int64_t user_id;
  int64_t actor_id;       /* the admin */
  int64_t until_ms;       /* unix ms; 0: until an admin lifts it */
} vz_ev_user_suspended;

/* A stream went live (RTMP publish accepted, or Agora's broadcaster joined). Subscribe
 * ASYNC: a go-live is answered to nginx-rtmp or Agora inside this transaction, and
 * nobody should make the encoder wait for notifications. */
typedef struct vz_ev_stream_live {
  int64_t stream_id;
  int64_t host_id;
  int64_t session_id;     /* the stream_sessions row of this go-live */
  int64_t started_at;     /* unix ms */
  const char *source;     /* "rtmp" or "agora" */
  const char *title;
  int visibility;         /* streams.h STREAMS_PUBLIC / STREAMS_FOLLOWERS */
} vz_ev_stream_live;

/* A live stream ended: the host or an admin ended it, or the encoder stayed away longer
 * than the reconnect grace, or Agora destroyed the channel. */
typedef struct vz_ev_stream_ended {
  int64_t stream_id;
  int64_t host_id;
  int64_t session_id;
  int64_t started_at, ended_at; /* unix ms */
  int64_t peak_viewers;
  const char *reason;     /* "host", "admin", "encoder_gone", "agora" */
} vz_ev_stream_ended;

/* What a handler receives: the kind, this emit's id (the same in every subscriber and on
 * every retry of an ASYNC job, so a handler can de-duplicate with it) and the payload,
 * read as the member its kind names. Strings are borrowed: copy what you keep. */
typedef struct vz_event {
  int kind;
  int64_t id;
  union {
    vz_ev_user_deleted user_deleted;
    vz_ev_user_suspended user_suspended;
    vz_ev_stream_live stream_live;
    vz_ev_stream_ended stream_ended;
  };
} vz_event;

/* 0, or <0: a db.h code when the database failed (the emitter maps it to the reply), any
 * other negative value for a refusal. */
typedef int (*vz_event_fn)(vz_db *db, const vz_event *ev);

enum { VZ_EV_IN_TX = 1, VZ_EV_ASYNC = 2 };

typedef struct vz_subscription {
  int kind;        /* enum vz_event_kind; VZ_EV_NONE ends the table */
  vz_event_fn fn;
  int mode;        /* VZ_EV_IN_TX or VZ_EV_ASYNC */
} vz_subscription;

/* vz_event_emit's own refusals, below the db.h codes (a subscriber's code passes through). */
enum {
  VZ_EV_EKIND = -20,     /* unknown or reserved kind, or no payload */
  VZ_EV_ENOTX = -21,     /* called outside a transaction: nothing could hold the rows */
  VZ_EV_ENOTREADY = -22, /* before the subscriptions were sealed (vz_services_init) */
  VZ_EV_EDEPTH = -23,    /* handlers emitting events that emit events ... too deep */
};

/* Runs the IN_TX subscribers of kind and enqueues one job per ASYNC subscriber, all on
 * db, which must be inside a transaction (db_tx_depth >= 1). payload points to the kind's
 * struct. Returns 0, or the first failure (the remaining subscribers are not run): the
 * caller must roll its transaction back (on PostgreSQL a failed statement has already
 * aborted it). */
int vz_event_emit(vz_db *db, int kind, const void *payload);

/* Registration, by the core's walk of the services list (core/service.c): one row per
 * call; an ASYNC row also registers its job queue "ev.<service>.<kind>". <0, with err
 * filled, for a reserved or unknown kind, a bad mode, a full table or a queue taken. */
int vz_event_subscribe(const char *service, const vz_subscription *s, char *err, size_t errlen);
/* After the last subscription: emits are accepted from now on, and the table no longer
 * changes, so threads read it without a lock. */
void vz_event_seal(void);
/* The core's own subscriptions (its tables: idempotency records). */
extern const vz_subscription vz_core_on[];

const char *vz_event_name(int kind); /* "user_deleted"; "?" when unknown */
/* Tests: forgets every subscription and unseals (job queues are jobs_runner_reset's). */
void vz_event_reset(void);
#endif
