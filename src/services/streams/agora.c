/* streams/agora.c: going live from an Agora app. POST /v1/streams/:id/token gives
 * the host a publisher token and a viewer a subscriber token (RTC, uid or string-account
 * form, plus an RTM token) for the stream's channel "vz-s-<id>"; calling it again renews.
 * Agora's channel-event webhooks (signed with the webhook secret: both signature headers
 * are checked) move the stream exactly as the RTMP hooks do: broadcaster joined -> live
 * (or the session resumes within the grace), left -> the grace starts, channel destroyed
 * -> ended. Token building and signature checks are integrations/agora.h's. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/respcache.h"
#include "db/db.h"
#include "integrations/agora.h"
#include "services/streams/internal.h"

int streams_h_token(vz_req *req) {
  int64_t id;
  if (vz_req_param_id_or_fail(req, "id", &id)) return req->status;
  streams_info si;
  int rc = streams_get(req->db_read, id, &si);
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (rc < 0) return vz_fail_db(req, rc);
  if ((rc = streams_can_view(req->db_read, &si, req->user_id, req->role == VZ_R_ADMIN)) < 0) return vz_fail_db(req, rc);
  if (!rc) return vz_fail(req, 404, "not_found", "id", "no such stream");
  if (!agora_enabled()) return vz_fail(req, 404, "agora_disabled", NULL, "Agora is not configured on this server");
  if (si.status != STREAMS_SCHEDULED && si.status != STREAMS_LIVE)
    return vz_fail(req, 409, "conflict", "status", "the stream is %s", streams_status_name(si.status));
  int host = si.host_id == req->user_id;
  json_t *uid_j = req->json ? json_object_get(req->json, "uid") : NULL;
  uint32_t uid = uid_j ? (uint32_t)json_integer_value(uid_j) : 0;
  char ch[AGORA_CHANNEL_MAX + 1], acc[32], tok[AGORA_TOKEN_MAX], rtm[AGORA_TOKEN_MAX];
  int64_t exp = 0, rtm_exp = 0;
  agora_channel_of_stream(id, ch, sizeof ch);
  /* The string-account form by default: our ids are 63-bit, Agora's uids 32. */
  snprintf(acc, sizeof acc, "u%lld", (long long)req->user_id);
  rc = agora_issue_rtc(ch, uid ? NULL : acc, uid, host ? AGORA_ROLE_PUBLISHER : AGORA_ROLE_SUBSCRIBER, tok, sizeof tok,
                       &exp);
  if (rc >= 0) rc = agora_issue_rtm(acc, rtm, sizeof rtm, &rtm_exp);
  if (rc < 0) {
    vz_log_error("agora token failed", "error", agora_strerror(rc));
    return vz_fail(req, 503, "unavailable", NULL, "could not issue a token");
  }
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o}", "app_id", agora_app_id(), "channel", ch,
                        "account", uid ? json_null() : json_string(acc), "uid", uid ? json_integer(uid) : json_null(),
                        "role", host ? "publisher" : "subscriber", "rtc_token", tok, "rtm_token", rtm, "expires_at",
                        vz_json_time(exp * 1000), "rtm_expires_at", vz_json_time(rtm_exp * 1000));
  return o ? vz_reply_item(req, 200, o) : vz_fail(req, 503, "unavailable", NULL, "server busy");
}

typedef struct hook_ctx {
  const agora_event *ev;
  int64_t id;
  int action;
  int moved;
} hook_ctx;

static int webhook_tx(vz_db *db, void *arg) {
  hook_ctx *h = arg;
  const agora_event *ev = h->ev;
  vz_stmt *st = NULL;
  /* once per notice: Agora resends until it gets a 200 */
  int rc = db_run(db, &st, "INSERT INTO stream_agora_notices (notice_id, stream_id, created_at) VALUES ($1, $2, $3)"
                  " ON CONFLICT (notice_id) DO NOTHING", "sii", ev->notice_id, h->id, db_now_ms());
  int fresh = rc >= 0 && db_changes(st) > 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (!fresh) return 0;
  /* Agora stops resending after a day: notices a week old only take room (an index range
   * delete, a few rows per new notice) */
  if ((rc = db_run(db, NULL, "DELETE FROM stream_agora_notices WHERE created_at < $1", "i",
                   db_now_ms() - 7LL * 86400000)) < 0)
    return rc;
  streams_info si;
  if ((rc = streams_get(db, h->id, &si)) == STREAMS_ENOTFOUND) return 0;
  if (rc < 0) return rc;
  /* the broadcaster: only the host is ever given publish privileges in the channel; when
   * Agora names the account, it must be the host's */
  char client[AGORA_ACCOUNT_MAX + 16], want[32];
  snprintf(want, sizeof want, "u%lld", (long long)si.host_id);
  if (ev->account[0]) snprintf(client, sizeof client, "agora:%s", ev->account);
  else snprintf(client, sizeof client, "agora:%u", ev->uid);
  if (ev->account[0] && strcmp(ev->account, want) && h->action != AGORA_ACT_END) return 0;
  if (ev->client_seq >= 0 && h->action != AGORA_ACT_END) { /* Agora does not promise order */
    st = NULL;
    rc = db_run(db, &st, "SELECT client_seq FROM stream_agora_seq WHERE stream_id = $1 AND client = $2", "is", h->id,
                client);
    int64_t last = rc == DB_ROW ? db_col_int(st, 0) : -1;
    db_finalize(st);
    if (rc < 0) return rc;
    if (ev->client_seq <= last) return 0;
    rc = db_run(db, NULL, "INSERT INTO stream_agora_seq (stream_id, client, client_seq) VALUES ($1, $2, $3)"
                " ON CONFLICT (stream_id, client) DO UPDATE SET client_seq = excluded.client_seq", "isi", h->id, client,
                ev->client_seq);
    if (rc < 0) return rc;
  }
  if (h->action == AGORA_ACT_LIVE) rc = streams_go_live(db, h->id, "agora", client, NULL);
  else if (h->action == AGORA_ACT_GONE) rc = streams_publisher_gone(db, h->id, client);
  else if (h->action == AGORA_ACT_END) rc = streams_end(db, h->id, "agora");
  if (rc == STREAMS_ECONFLICT || rc == STREAMS_ENOTFOUND) {
    vz_log_warn("agora event did not apply to the stream's state", "notice", ev->notice_id);
    rc = 0; /* answered 200 all the same: a resend would not apply either */
  } else if (rc == 0) h->moved = 1;
  return rc;
}

int streams_h_agora_webhook(vz_req *req) {
  int rc = agora_webhook_check(req->body, req->body_len, vz_req_header(req, AGORA_HDR_SIGNATURE),
                               vz_req_header(req, AGORA_HDR_SIGNATURE_V2));
  if (rc == AGORA_EDISABLED) return vz_fail(req, 404, "not_found", NULL, "Agora webhooks are not configured");
  if (rc < 0) return vz_fail(req, 401, "bad_signature", NULL, "signature missing or wrong");
  agora_event ev;
  if (agora_webhook_parse(req->body, req->body_len, &ev) < 0)
    return vz_fail(req, 400, "invalid_argument", "payload", "not an Agora channel event");
  hook_ctx h = { .ev = &ev, .action = agora_event_action(&ev) };
  if (ev.product_id != 1 || h.action == AGORA_ACT_NONE || agora_stream_of_channel(ev.channel, &h.id) < 0)
    return vz_reply_json(req, 200, json_pack("{s:b}", "ignored", 1));
  if (vz_tx_or_fail(req, webhook_tx, &h) < 0) return req->status;
  if (h.moved) vz_cache_bump("streams");
  return vz_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}
