/* chat/service.c: the descriptor. Socket events on "/" (the room of a stream is
 * "stream:<id>"): join and leave, send, moderation, reactions, polls; REST: history and
 * the platform-wide banned terms. Events that act on a room need the socket to be in
 * it (room_prefix / room_field): an event for a room the socket never joined is
 * refused before its handler runs. */
#include <inttypes.h>

#include "core/service.h"
#include "realtime/sio_events.h"
#include "services/chat/chat.h"
#include "services/chat/chat_int.h"

#define IN_ROOM .room_prefix = "stream:", .room_field = "stream_id"

static const vz_field stream_in[] = { { "stream_id", VZ_ID, VZ_REQUIRED }, { 0 } };
/* text: up to 2,000 characters on the wire so an overlong message is answered
 * "too_long" (after normalisation it must be 500 at most), not a validation error */
static const vz_field send_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "text", VZ_STR, VZ_REQUIRED, 1, 2000 }, { "reply_to", VZ_ID, VZ_NULLABLE }, { 0 } };
static const vz_field msg_in[] = { { "stream_id", VZ_ID, VZ_REQUIRED }, { "message_id", VZ_ID, VZ_REQUIRED }, { 0 } };
static const vz_field pin_in[] = { { "stream_id", VZ_ID, VZ_REQUIRED }, { "message_id", VZ_ID, VZ_NULLABLE }, { 0 } };
static const vz_field report_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "message_id", VZ_ID, VZ_REQUIRED }, { "reason", VZ_STR, VZ_REQUIRED, 1, 500 }, { 0 } };
static const vz_field ban_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "user_id", VZ_ID, VZ_REQUIRED }, { "reason", VZ_STR, 0, 0, 300 }, { 0 } };
static const vz_field timeout_in[] = { { "stream_id", VZ_ID, VZ_REQUIRED }, { "user_id", VZ_ID, VZ_REQUIRED },
                                       { "seconds", VZ_INT, VZ_REQUIRED, 1, 1209600 }, { "reason", VZ_STR, 0, 0, 300 }, { 0 } };
static const vz_field settings_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "slow_mode_s", VZ_INT, 0, 0, 86400 },
  { "followers_only_s", VZ_INT, VZ_NULLABLE, 0, 7776000 }, { "links", VZ_BOOL }, { "emote_only", VZ_BOOL }, { "rate_per_s", VZ_INT, 0, 1, 20 },
  { "burst", VZ_INT, 0, 1, 50 }, { 0 } };
static const vz_field mod_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "user_id", VZ_ID, VZ_REQUIRED }, { "on", VZ_BOOL, VZ_REQUIRED }, { 0 } };
static const vz_field term_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "term", VZ_STR, VZ_REQUIRED, 1, 100 }, { "on", VZ_BOOL, VZ_REQUIRED }, { 0 } };
static const vz_field react_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "kind", VZ_ENUM, VZ_REQUIRED, .choices = "heart|fire|laugh|wow|clap" }, { 0 } };
static const vz_field opt_str[] = { { "option", VZ_STR, VZ_REQUIRED, 1, 80 }, { 0 } };
static const vz_field poll_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "question", VZ_STR, VZ_REQUIRED, 1, 200 },
  { "options", VZ_ARR, VZ_REQUIRED, 2, 5, .of = opt_str }, { "duration_s", VZ_INT, VZ_REQUIRED, 10, 3600 }, { 0 } };
static const vz_field vote_in[] = {
  { "stream_id", VZ_ID, VZ_REQUIRED }, { "poll_id", VZ_ID, VZ_REQUIRED }, { "option", VZ_INT, VZ_REQUIRED, 0, 4 }, { 0 } };
static const vz_field poll_end_in[] = { { "stream_id", VZ_ID, VZ_REQUIRED }, { "poll_id", VZ_ID, VZ_REQUIRED }, { 0 } };

static sio_event chat_events[] = {
  { "/", "chat:join", chat_h_join, stream_in, 0, .rate_per_min = 120,
    .op = "joinChat", .summary = "Join a stream's chat (anonymous viewers too): settings, pin, poll, viewers, hidden authors", .res = "ChatJoined" },
  { "/", "chat:leave", chat_h_leave, stream_in, SIO_ON_LOOP, .rate_per_min = 120,
    .op = "leaveChat", .summary = "Leave a stream's chat", .res = "ChatDone" },
  /* the per-channel token bucket (burst 3, 1/s) is the handler's; this row only bounds abuse */
  { "/", "chat:send", chat_h_send, send_in, VZ_AUTH | SIO_SERIAL, .rate_per_min = 600, IN_ROOM,
    .op = "sendChatMessage", .summary = "Send a message; acknowledged after it is stored", .res = "ChatSent" },
  { "/", "chat:delete", chat_h_delete, msg_in, VZ_AUTH, .rate_per_min = 600, IN_ROOM,
    .op = "deleteChatMessage", .summary = "Delete a message for everyone (host, moderators)", .res = "ChatDone" },
  { "/", "chat:clear", chat_h_clear, stream_in, VZ_AUTH, .rate_per_min = 60, IN_ROOM,
    .op = "clearChat", .summary = "Clear the chat (host, moderators)", .res = "ChatDone" },
  { "/", "chat:timeout", chat_h_timeout, timeout_in, VZ_AUTH, .rate_per_min = 300, IN_ROOM,
    .op = "timeoutChatUser", .summary = "Time a user out for some seconds (host, moderators)", .res = "ChatDone" },
  { "/", "chat:ban", chat_h_ban, ban_in, VZ_AUTH, .rate_per_min = 300, IN_ROOM,
    .op = "banChatUser", .summary = "Ban a user from the channel's chat; their sockets leave the room everywhere", .res = "ChatDone" },
  { "/", "chat:unban", chat_h_unban, ban_in, VZ_AUTH, .rate_per_min = 300, IN_ROOM,
    .op = "unbanChatUser", .summary = "Lift a ban or timeout", .res = "ChatDone" },
  { "/", "chat:settings", chat_h_settings, settings_in, VZ_AUTH, .rate_per_min = 60, IN_ROOM,
    .op = "setChatSettings", .summary = "Slow mode, followers-only, links, emote-only, token bucket (host, moderators)", .res = "ChatSettings" },
  { "/", "chat:moderator", chat_h_mod, mod_in, VZ_AUTH, .rate_per_min = 60, IN_ROOM,
    .op = "setChatModerator", .summary = "Appoint or remove a channel moderator (host)", .res = "ChatDone" },
  { "/", "chat:term", chat_h_term, term_in, VZ_AUTH, .rate_per_min = 120, IN_ROOM,
    .op = "setChatTerm", .summary = "Add or remove a channel banned term (host, moderators)", .res = "ChatDone" },
  { "/", "chat:pin", chat_h_pin, pin_in, VZ_AUTH, .rate_per_min = 60, IN_ROOM,
    .op = "pinChatMessage", .summary = "Pin a message, or unpin with null (host, moderators)", .res = "ChatModEvent" },
  { "/", "chat:report", chat_h_report, report_in, VZ_AUTH, .rate_per_min = 30, IN_ROOM,
    .op = "reportChatMessage", .summary = "Report a message to the admins", .res = "ChatDone" },
  /* the per-user reaction cap: 10 a second */
  { "/", "chat:react", chat_h_react, react_in, VZ_AUTH | SIO_ON_LOOP, .rate_per_min = 600, IN_ROOM,
    .op = "reactInChat", .summary = "Send a reaction; counted and broadcast as totals at most 4 a second", .res = "ChatDone" },
  { "/", "chat:poll", chat_h_poll, poll_in, VZ_AUTH, .rate_per_min = 30, IN_ROOM,
    .op = "createChatPoll", .summary = "Start a poll of 2-5 options (host, moderators)", .res = "ChatPoll" },
  { "/", "chat:vote", chat_h_vote, vote_in, VZ_AUTH, .rate_per_min = 120, IN_ROOM,
    .op = "voteInChatPoll", .summary = "Vote (changeable until the poll closes)", .res = "ChatDone" },
  { "/", "chat:poll_end", chat_h_poll_end, poll_end_in, VZ_AUTH, .rate_per_min = 30, IN_ROOM,
    .op = "endChatPoll", .summary = "Close a poll now (host, moderators)", .res = "ChatDone" },
  /* what the room receives (contract only) */
  { "/", "chat:message", .flags = SIO_EMITTED, .op = "onChatMessage", .summary = "A stored message", .res = "ChatMessage", .room = "stream:{id}" },
  { "/", "chat:deleted", .flags = SIO_EMITTED, .op = "onChatDeleted", .summary = "A message was deleted", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:cleared", .flags = SIO_EMITTED, .op = "onChatCleared", .summary = "The chat was cleared", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:user_timed_out", .flags = SIO_EMITTED, .op = "onChatTimeout", .summary = "A user was timed out (also to the user)", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:user_banned", .flags = SIO_EMITTED, .op = "onChatBan", .summary = "A user was banned (also to the user)", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:user_unbanned", .flags = SIO_EMITTED, .op = "onChatUnban", .summary = "A ban or timeout was lifted", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:settings_changed", .flags = SIO_EMITTED, .op = "onChatSettings", .summary = "The settings changed", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:moderator_changed", .flags = SIO_EMITTED, .op = "onChatModerator", .summary = "A moderator was appointed or removed", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:terms", .flags = SIO_EMITTED, .op = "onChatTerms", .summary = "The banned terms changed", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:pinned", .flags = SIO_EMITTED, .op = "onChatPinned", .summary = "The pinned message changed", .res = "ChatModEvent", .room = "stream:{id}" },
  { "/", "chat:reactions", .flags = SIO_EMITTED, .op = "onChatReactions", .summary = "Reaction totals, at most 4 a second", .res = "ChatReactions", .room = "stream:{id}" },
  { "/", "chat:poll_started", .flags = SIO_EMITTED, .op = "onChatPoll", .summary = "A poll started", .res = "ChatPoll", .room = "stream:{id}" },
  { "/", "chat:poll_results", .flags = SIO_EMITTED, .op = "onChatPollResults", .summary = "Poll counts, at most 4 a second", .res = "ChatPoll", .room = "stream:{id}" },
  { "/", "chat:poll_closed", .flags = SIO_EMITTED, .op = "onChatPollClosed", .summary = "A poll closed: the stored result", .res = "ChatPoll", .room = "stream:{id}" },
  { "/", "chat:viewers", .flags = SIO_EMITTED, .op = "onChatViewers", .summary = "Viewer count, at most once a second", .res = "ChatViewers", .room = "stream:{id}" },
  { 0 },
};

static const vz_field history_q[] = {
  { "before", VZ_ID }, { "since_offset", VZ_INT, 0, 0, 1LL << 40 }, { 0 } };
static const vz_field platform_term_in[] = { { "term", VZ_STR, VZ_REQUIRED, 1, 100 }, { 0 } };

static vz_route chat_routes[] = {
  VZ_GET("/v1/streams/:id/chat", chat_h_history, .op = "listChatMessages",
         .summary = "A stream's chat history: scroll back (before, cursor) or along the replay timeline (since_offset)",
         .res = "ChatMessage[]", .query = history_q, .rate_per_min = 600),
  VZ_GET("/v1/admin/chat/terms", chat_h_platform_term_list, .op = "listPlatformChatTerms",
         .summary = "Platform-wide banned chat terms (admin)", .res = "ChatTerm[]", .flags = VZ_ROLE_ADMIN),
  VZ_POST("/v1/admin/chat/terms", chat_h_platform_term_add, .op = "addPlatformChatTerm",
          .summary = "Add a platform-wide banned chat term (admin, audited)", .res = "ChatTerm", .ok = 201,
          .body = platform_term_in, .flags = VZ_ROLE_ADMIN),
  VZ_DELETE("/v1/admin/chat/terms/:id", chat_h_platform_term_del, .op = "removePlatformChatTerm",
            .summary = "Remove a platform-wide banned chat term (admin, audited)", .res = "-", .flags = VZ_ROLE_ADMIN),
  { 0 },
};

static void chat_metrics(char **b, size_t *l, size_t *c) {
  uint64_t batches, messages, queued;
  chat_writer_stats(&batches, &messages, &queued);
  vz_metrics_printf(b, l, c,
                    "# TYPE vidzo_chat_batches_total counter\nvidzo_chat_batches_total %" PRIu64 "\n"
                    "# TYPE vidzo_chat_messages_total counter\nvidzo_chat_messages_total %" PRIu64 "\n"
                    "# TYPE vidzo_chat_writer_queued gauge\nvidzo_chat_writer_queued %" PRIu64 "\n",
                    batches, messages, queued);
}

static int chat_start(void) {
  if (chat_writer_start() < 0) return -1;
  return chat_live_start();
}

static void chat_stop(void) {
  chat_live_stop();
  chat_writer_stop();
}

const vz_service chat_service = {
  .name = "chat", .about = "Live chat of streams: messages, history, moderation, reactions, polls, viewer counts",
  .routes = chat_routes, .events = chat_events, .metrics = chat_metrics,
  .start = chat_start, .stop = chat_stop,
};
