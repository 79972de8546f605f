/* chat/moderation.c: what the host and the channel's moderators do to a chat, as
 * Twitch does it: delete a message, time out, ban and unban, slow mode, followers-only,
 * links filter, banned terms, clear, pin; the host appoints moderators. Each action is
 * one transaction with its audit row (audit_record, with what was done in the detail),
 * and is pushed to the room only after the commit (db_after_commit), so nobody sees an
 * action that did not happen. A ban also takes the user's sockets out of the room on
 * every instance (sio_room_leave_user). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime/sio.h"
#include "services/audit/audit.h"
#include "services/chat/chat_int.h"
#include "services/chat/fold.h"

/* A push that waits for the commit. */
typedef struct push {
  char room[48];
  char event[32];
  json_t *args;         /* the payload, one argument */
  int64_t kick_user;    /* >0: also leaves the room (ban) */
  int64_t to_user;      /* >0: also told to that user directly */
} push;

static void push_run(void *arg) {
  push *p = arg;
  if (p->kick_user > 0) sio_room_leave_user(CHAT_NSP, p->room, p->kick_user);
  if (p->to_user > 0) sio_emit_user(p->to_user, p->event, json_pack("[O]", p->args));
  sio_emit_room(CHAT_NSP, p->room, p->event, json_pack("[O]", p->args));
  json_decref(p->args);
  free(p);
}
static void push_drop(void *arg) {
  push *p = arg;
  json_decref(p->args);
  free(p);
}

/* Queues event(args) to the stream's room for after the commit (args stolen). */
static int push_after(vz_db *db, int64_t stream_id, const char *event, json_t *args, int64_t kick, int64_t to_user) {
  push *p = calloc(1, sizeof *p);
  if (!p || !args) { free(p); json_decref(args); return DB_ERROR; }
  chat_room(p->room, stream_id);
  snprintf(p->event, sizeof p->event, "%s", event);
  p->args = args;
  p->kick_user = kick;
  p->to_user = to_user;
  if (db_after_commit(db, push_run, p, push_drop) < 0) { push_drop(p); return DB_ERROR; }
  return 0;
}

static int audit(vz_req *req, vz_db *db, const char *action, const char *type, int64_t target, json_t *detail) {
  char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
  json_decref(detail);
  int rc = audit_record_ip(db, req->user_id, action, type, target, d, req->ip);
  free(d);
  return rc;
}

/* One moderation action: ctx for the transaction body. */
typedef struct act {
  vz_req *req;
  chat_stream s;
  int64_t target;
} act;

/* Common prologue: the stream and the caller's right to moderate it. 0, or replied. */
static int begin_or_fail(vz_req *req, act *a, int host_only) {
  memset(a, 0, sizeof *a);
  a->req = req;
  if (chat_stream_or_fail(req, &a->s)) return -1;
  if (host_only) {
    if (req->user_id != a->s.host_id && req->role != VZ_R_ADMIN)
      return vz_fail(req, 403, "forbidden", NULL, "only the host appoints moderators"), -1;
    return 0;
  }
  return chat_mod_or_fail(req, &a->s) ? -1 : 0;
}

/* ---- delete a message, clear ------------------------------------------------------------ */

static int delete_tx(vz_db *db, void *ctx) {
  act *a = ctx;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE chat_messages SET deleted_at = $1, deleted_by = $2 WHERE id = $3 AND stream_id = $4"
                  " AND deleted_at IS NULL", "iiii", db_now_ms(), a->req->user_id, a->target, a->s.id);
  int changed = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!changed) return vz_fail(a->req, 404, "not_found", "message_id", "no such message in this chat"), DB_EABORT;
  if ((rc = db_run(db, NULL, "DELETE FROM chat_pins WHERE stream_id = $1 AND message_id = $2", "ii", a->s.id, a->target)) < 0)
    return rc;
  if ((rc = audit(a->req, db, "chat.delete", "chat_message", a->target,
                  json_pack("{s:o}", "stream_id", vz_json_id(a->s.id)))) < 0)
    return rc;
  if ((rc = push_after(db, a->s.id, "chat:deleted", json_pack("{s:o,s:o,s:o}", "stream_id", vz_json_id(a->s.id), "id",
                                                             vz_json_id(a->target), "by", vz_json_id(a->req->user_id)), 0, 0)) < 0)
    return rc;
  vz_reply_item(a->req, 200, json_pack("{s:o,s:b}", "id", vz_json_id(a->target), "deleted", 1));
  return 0;
}

int chat_h_delete(vz_req *req) {
  act a;
  if (begin_or_fail(req, &a, 0)) return req->status;
  a.target = chat_json_id(req->json, "message_id");
  vz_tx_or_fail(req, delete_tx, &a);
  return req->status;
}

static int clear_tx(vz_db *db, void *ctx) {
  act *a = ctx;
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, "UPDATE chat_messages SET deleted_at = $1, deleted_by = $2 WHERE stream_id = $3 AND deleted_at IS NULL",
                  "iii", db_now_ms(), a->req->user_id, a->s.id);
  int n = rc >= 0 ? db_changes(st) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if ((rc = db_run(db, NULL, "DELETE FROM chat_pins WHERE stream_id = $1", "i", a->s.id)) < 0) return rc;
  if ((rc = audit(a->req, db, "chat.clear", "stream", a->s.id, json_pack("{s:i}", "messages", n))) < 0) return rc;
  if ((rc = push_after(db, a->s.id, "chat:cleared", json_pack("{s:o,s:o}", "stream_id", vz_json_id(a->s.id), "by",
                                                             vz_json_id(a->req->user_id)), 0, 0)) < 0)
    return rc;
  vz_reply_item(a->req, 200, json_pack("{s:o,s:i}", "id", vz_json_id(a->s.id), "cleared", n));
  return 0;
}

int chat_h_clear(vz_req *req) {
  act a;
  if (begin_or_fail(req, &a, 0)) return req->status;
  vz_tx_or_fail(req, clear_tx, &a);
  return req->status;
}

/* ---- timeout, ban, unban ---------------------------------------------------------------- */

typedef struct ban_act { act a; int64_t seconds; int unban; const char *reason; } ban_act;

static int ban_tx(vz_db *db, void *ctx) {
  ban_act *b = ctx;
  act *a = &b->a;
  int64_t now = db_now_ms(), until = b->seconds > 0 ? now + b->seconds * 1000 : 0;
  int rc;
  const char *action = b->unban ? "chat.unban" : b->seconds > 0 ? "chat.timeout" : "chat.ban";
  if (b->unban) {
    vz_stmt *st = NULL;
    rc = db_run(db, &st, "DELETE FROM chat_bans WHERE host_id = $1 AND user_id = $2", "ii", a->s.host_id, a->target);
    int n = rc >= 0 ? db_changes(st) : 0;
    db_finalize(st);
    if (rc < 0) return rc;
    if (!n) return vz_fail(a->req, 404, "not_found", "user_id", "that user is neither banned nor timed out"), DB_EABORT;
  } else {
    rc = db_run(db, NULL, "INSERT INTO chat_bans (host_id, user_id, until_ms, reason, by_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (host_id, user_id) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason,"
                " by_id = excluded.by_id, created_at = excluded.created_at",
                "iiisii", a->s.host_id, a->target, until, b->reason ? b->reason : "", a->req->user_id, now);
    if (rc < 0) return rc;
  }
  if ((rc = audit(a->req, db, action, "user", a->target,
                  json_pack("{s:o,s:o,s:I,s:s}", "stream_id", vz_json_id(a->s.id), "host_id", vz_json_id(a->s.host_id),
                            "seconds", (json_int_t)b->seconds, "reason", b->reason ? b->reason : ""))) < 0)
    return rc;
  json_t *ev = json_pack("{s:o,s:o,s:o,s:o}", "stream_id", vz_json_id(a->s.id), "user_id", vz_json_id(a->target), "by",
                         vz_json_id(a->req->user_id), "until", until ? vz_json_time(until) : json_null());
  const char *name = b->unban ? "chat:user_unbanned" : b->seconds > 0 ? "chat:user_timed_out" : "chat:user_banned";
  if ((rc = push_after(db, a->s.id, name, ev, !b->unban && !b->seconds ? a->target : 0, a->target)) < 0) return rc;
  vz_reply_item(a->req, 200, json_pack("{s:o,s:o}", "id", vz_json_id(a->target), "until", until ? vz_json_time(until) : json_null()));
  return 0;
}

static int ban_common(vz_req *req, int64_t seconds, int unban) {
  ban_act b = { .seconds = seconds, .unban = unban };
  if (begin_or_fail(req, &b.a, 0)) return req->status;
  b.a.target = chat_json_id(req->json, "user_id");
  b.reason = json_string_value(json_object_get(req->json, "reason"));
  if (b.a.target == req->user_id) return vz_fail(req, 400, "invalid_argument", "user_id", "you cannot do this to yourself");
  if (!unban) {
    int m = chat_is_mod(req->db, b.a.s.host_id, b.a.target, VZ_R_USER);
    if (m < 0) return vz_fail_db(req, m);
    if (m) return vz_fail(req, 403, "forbidden", "user_id", "the host and moderators cannot be banned or timed out");
  }
  vz_tx_or_fail(req, ban_tx, &b);
  return req->status;
}

int chat_h_timeout(vz_req *req) {
  return ban_common(req, json_integer_value(json_object_get(req->json, "seconds")), 0);
}
int chat_h_ban(vz_req *req) { return ban_common(req, 0, 0); }
int chat_h_unban(vz_req *req) { return ban_common(req, 0, 1); }

/* ---- settings --------------------------------------------------------------------------- */

typedef struct set_act { act a; chat_settings cs; } set_act;

static int settings_tx(vz_db *db, void *ctx) {
  set_act *x = ctx;
  act *a = &x->a;
  int rc = chat_settings_get(db, a->s.host_id, &x->cs);
  if (rc < 0) return rc;
  json_t *in = a->req->json, *v;
  if ((v = json_object_get(in, "slow_mode_s"))) x->cs.slow_s = json_integer_value(v);
  if ((v = json_object_get(in, "followers_only_s"))) x->cs.followers_only_s = json_is_null(v) ? -1 : json_integer_value(v);
  if ((v = json_object_get(in, "links"))) x->cs.links = json_is_true(v);
  if ((v = json_object_get(in, "emote_only"))) x->cs.emote_only = json_is_true(v);
  if ((v = json_object_get(in, "rate_per_s"))) x->cs.rate_per_s = json_integer_value(v);
  if ((v = json_object_get(in, "burst"))) x->cs.burst = json_integer_value(v);
  rc = db_run(db, NULL, "INSERT INTO chat_settings (host_id, slow_s, followers_only_s, links, rate_per_s, burst, updated_at, emote_only)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (host_id) DO UPDATE SET slow_s = excluded.slow_s,"
              " followers_only_s = excluded.followers_only_s, links = excluded.links, rate_per_s = excluded.rate_per_s,"
              " burst = excluded.burst, updated_at = excluded.updated_at, emote_only = excluded.emote_only",
              "iiiiiiii", a->s.host_id, x->cs.slow_s, x->cs.followers_only_s, (int64_t)x->cs.links, x->cs.rate_per_s,
              x->cs.burst, db_now_ms(), (int64_t)x->cs.emote_only);
  if (rc < 0) return rc;
  if ((rc = audit(a->req, db, "chat.settings", "stream", a->s.id, chat_settings_json(&x->cs))) < 0) return rc;
  json_t *ev = json_pack("{s:o,s:o,s:o}", "stream_id", vz_json_id(a->s.id), "settings", chat_settings_json(&x->cs), "by",
                         vz_json_id(a->req->user_id));
  if ((rc = push_after(db, a->s.id, "chat:settings_changed", ev, 0, 0)) < 0) return rc;
  json_t *out = chat_settings_json(&x->cs);
  json_object_set_new(out, "id", vz_json_id(a->s.id));
  vz_reply_item(a->req, 200, out);
  return 0;
}

int chat_h_settings(vz_req *req) {
  set_act x;
  if (begin_or_fail(req, &x.a, 0)) return req->status;
  vz_tx_or_fail(req, settings_tx, &x);
  return req->status;
}

/* ---- moderators (host), terms, pin -------------------------------------------------------- */

static int mod_tx(vz_db *db, void *ctx) {
  act *a = ctx;
  int on = json_is_true(json_object_get(a->req->json, "on"));
  int rc = on ? db_run(db, NULL, "INSERT INTO chat_moderators (host_id, user_id, created_at) VALUES ($1, $2, $3)"
                       " ON CONFLICT (host_id, user_id) DO NOTHING", "iii", a->s.host_id, a->target, db_now_ms())
              : db_run(db, NULL, "DELETE FROM chat_moderators WHERE host_id = $1 AND user_id = $2", "ii", a->s.host_id, a->target);
  if (rc < 0) return rc;
  if ((rc = audit(a->req, db, on ? "chat.mod" : "chat.unmod", "user", a->target,
                  json_pack("{s:o}", "host_id", vz_json_id(a->s.host_id)))) < 0)
    return rc;
  if ((rc = push_after(db, a->s.id, "chat:moderator_changed", json_pack("{s:o,s:o,s:b}", "stream_id", vz_json_id(a->s.id), "user_id",
                                                               vz_json_id(a->target), "on", on), 0, 0)) < 0)
    return rc;
  vz_reply_item(a->req, 200, json_pack("{s:o,s:b}", "id", vz_json_id(a->target), "moderator", on));
  return 0;
}

int chat_h_mod(vz_req *req) {
  act a;
  if (begin_or_fail(req, &a, 1)) return req->status;
  a.target = chat_json_id(req->json, "user_id");
  if (a.target == a.s.host_id) return vz_fail(req, 400, "invalid_argument", "user_id", "the host moderates already");
  vz_tx_or_fail(req, mod_tx, &a);
  return req->status;
}

/* A banned term, folded as messages are; host 0 is platform-wide. */
typedef struct term_act { vz_req *req; int64_t host_id, stream_id, id; int on; const char *term; char folded[404]; } term_act;

static int term_tx(vz_db *db, void *ctx) {
  term_act *t = ctx;
  int rc;
  if (t->on) {
    t->id = db_id_new();
    rc = db_run(db, NULL, "INSERT INTO chat_terms (id, host_id, term, folded, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (host_id, folded) DO NOTHING", "iissii", t->id, t->host_id, t->term, t->folded, t->req->user_id,
                db_now_ms());
  } else {
    rc = db_run(db, NULL, "DELETE FROM chat_terms WHERE host_id = $1 AND (folded = $2 OR id = $3)", "isi", t->host_id,
                t->folded, t->id);
  }
  if (rc < 0) return rc;
  if ((rc = audit(t->req, db, t->on ? "chat.term_add" : "chat.term_remove", t->host_id ? "user" : "platform", t->host_id,
                  json_pack("{s:s}", "term", t->term ? t->term : ""))) < 0)
    return rc;
  /* the room learns that the list changed, not the term (it would advertise it) */
  if (t->stream_id && (rc = push_after(db, t->stream_id, "chat:terms", json_pack("{s:o,s:b}", "stream_id",
                                                                                vz_json_id(t->stream_id), "changed", 1), 0, 0)) < 0)
    return rc;
  if (t->on) vz_reply_item(t->req, 201, json_pack("{s:s,s:s}", "term", t->term, "folded", t->folded));
  else if (t->stream_id) vz_reply_item(t->req, 200, json_pack("{s:b}", "removed", 1));
  else vz_reply_empty(t->req, 204);
  return 0;
}

static int fold_term_or_fail(vz_req *req, term_act *t) {
  char norm[404];
  const char *raw = t->term;
  if (!raw || chat_text_normalize(raw, strlen(raw), norm, sizeof norm) < 0)
    return vz_fail(req, 400, "invalid_argument", "term", "term must be text");
  if (chat_fold(norm, strlen(norm), t->folded, sizeof t->folded) < 2)
    return vz_fail(req, 400, "invalid_argument", "term", "a term needs at least two letters or digits");
  return 0;
}

int chat_h_term(vz_req *req) {
  act a;
  if (begin_or_fail(req, &a, 0)) return req->status;
  term_act t = { .req = req, .host_id = a.s.host_id, .stream_id = a.s.id, .on = json_is_true(json_object_get(req->json, "on")),
                 .term = json_string_value(json_object_get(req->json, "term")) };
  if (fold_term_or_fail(req, &t)) return req->status;
  vz_tx_or_fail(req, term_tx, &t);
  return req->status;
}

/* Admin: platform-wide terms. */
int chat_h_platform_term_add(vz_req *req) {
  term_act t = { .req = req, .on = 1, .term = json_string_value(json_object_get(req->json, "term")) };
  if (fold_term_or_fail(req, &t)) return req->status;
  vz_tx_or_fail(req, term_tx, &t);
  return req->status;
}

int chat_h_platform_term_del(vz_req *req) {
  term_act t = { .req = req, .on = 0, .term = "" };
  if (vz_req_param_id_or_fail(req, "id", &t.id)) return req->status;
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT term FROM chat_terms WHERE id = $1 AND host_id = 0", "i", t.id);
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "id", "no such term");
  vz_tx_or_fail(req, term_tx, &t);
  return req->status;
}

int chat_h_platform_term_list(vz_req *req) {
  vz_stmt *st = NULL;
  json_t *items = json_array();
  int rc = db_run(req->db, &st, "SELECT id, term, folded, created_at FROM chat_terms WHERE host_id = 0 ORDER BY id LIMIT 1000", "");
  while (rc == DB_ROW) {
    json_array_append_new(items, json_pack("{s:o,s:s,s:s,s:o}", "id", vz_json_id(db_col_int(st, 0)), "term", db_col_text(st, 1),
                                           "folded", db_col_text(st, 2), "created_at", vz_json_time(db_col_int(st, 3))));
    rc = db_step(st);
  }
  db_finalize(st);
  if (rc < 0) { json_decref(items); return vz_fail_db(req, rc); }
  return vz_reply_list(req, items, NULL);
}

static int pin_tx(vz_db *db, void *ctx) {
  act *a = ctx;
  int rc;
  json_t *ev;
  if (a->target) {
    vz_stmt *st = NULL;
    rc = db_run(db, &st, "SELECT body, meta, server_ts FROM chat_messages WHERE id = $1 AND stream_id = $2 AND deleted_at IS NULL",
                "ii", a->target, a->s.id);
    json_t *pin = NULL;
    if (rc == DB_ROW) {
      json_t *au = json_loads(db_col_text(st, 1), 0, NULL);
      pin = json_pack("{s:o,s:s,s:o,s:I}", "id", vz_json_id(a->target), "text", db_col_text(st, 0), "author",
                      au ? au : json_object(), "server_ts", (json_int_t)db_col_int(st, 2));
    }
    db_finalize(st);
    if (rc < 0) return rc;
    if (rc != DB_ROW) return vz_fail(a->req, 404, "not_found", "message_id", "no such message in this chat"), DB_EABORT;
    rc = db_run(db, NULL, "INSERT INTO chat_pins (stream_id, message_id, pinned_by, created_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (stream_id) DO UPDATE SET message_id = excluded.message_id, pinned_by = excluded.pinned_by,"
                " created_at = excluded.created_at", "iiii", a->s.id, a->target, a->req->user_id, db_now_ms());
    ev = json_pack("{s:o,s:o}", "stream_id", vz_json_id(a->s.id), "pinned", pin);
  } else {
    rc = db_run(db, NULL, "DELETE FROM chat_pins WHERE stream_id = $1", "i", a->s.id);
    ev = json_pack("{s:o,s:n}", "stream_id", vz_json_id(a->s.id), "pinned");
  }
  if (rc < 0) { json_decref(ev); return rc; }
  if ((rc = audit(a->req, db, a->target ? "chat.pin" : "chat.unpin", "chat_message", a->target,
                  json_pack("{s:o}", "stream_id", vz_json_id(a->s.id)))) < 0) {
    json_decref(ev);
    return rc;
  }
  json_t *reply = json_deep_copy(ev);
  if ((rc = push_after(db, a->s.id, "chat:pinned", ev, 0, 0)) < 0) { json_decref(reply); return rc; }
  vz_reply_item(a->req, 200, reply);
  return 0;
}

int chat_h_pin(vz_req *req) {
  act a;
  if (begin_or_fail(req, &a, 0)) return req->status;
  a.target = chat_json_id(req->json, "message_id"); /* null or absent: unpin */
  vz_tx_or_fail(req, pin_tx, &a);
  return req->status;
}

/* A viewer reports a message; kept for the admin reports queue (issue 20's admin area
 * reads chat_reports once it exists). One report per message and reporter. */
int chat_h_report(vz_req *req) {
  chat_stream s;
  if (chat_stream_or_fail(req, &s)) return req->status;
  int64_t mid = chat_json_id(req->json, "message_id");
  vz_stmt *st = NULL;
  int rc = db_run(req->db, &st, "SELECT 1 FROM chat_messages WHERE id = $1 AND stream_id = $2", "ii", mid, s.id);
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 404, "not_found", "message_id", "no such message in this chat");
  int64_t id = db_id_new();
  rc = db_run(req->db, NULL, "INSERT INTO chat_reports (id, message_id, reporter_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)"
              " ON CONFLICT (message_id, reporter_id) DO NOTHING", "iiisi", id, mid, req->user_id,
              json_string_value(json_object_get(req->json, "reason")), db_now_ms());
  if (rc < 0) return vz_fail_db(req, rc);
  return vz_reply_item(req, 201, json_pack("{s:o,s:b}", "message_id", vz_json_id(mid), "reported", 1));
}
