// Live chat over Socket.IO (issue 19). Event names and payloads live here only, so the
// watch page and the studio do not change when the chat service settles its names.
// Anonymous sockets (no token) may join a public stream room and read.
import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import { api } from './api';
import { SOCKET_URL } from './config';

export interface Author { id: string; handle?: string | null; display_name?: string; badges?: string[] }
export interface ChatMessage {
  id: string; stream_id?: string; text: string; server_ts?: number; reply_to?: { id: string; text?: string } | null;
  author?: Author;
  system?: boolean;            // a line the page adds itself (time-outs, bans), not a message
}
export interface Pinned { id: string; text: string; author?: Author }
export interface ChatError { code: string; message?: string; retry_after?: number; field?: string }
export interface Poll { id: string; question: string; options: string[]; counts?: number[]; closes_at?: string; closed?: boolean }
export interface JoinState {
  live?: boolean; viewers?: number; moderator?: boolean; timed_out_until?: string | null; poll?: Poll | null;
  hidden_user_ids?: string[]; settings?: { slow_mode_s?: number; followers_only_s?: number | null };
  pinned?: Pinned | null;
}
type Ack = { data?: Record<string, unknown>; error?: ChatError };

// The chat service's Socket.IO events (namespace "/", room "stream:<id>"; docs/asyncapi.yaml):
// what the page asks (with an ack) and what the server pushes are named apart.
export const EV = {
  join: 'chat:join', leave: 'chat:leave', send: 'chat:send',
  message: 'chat:message', deleted: 'chat:deleted', cleared: 'chat:cleared',
  timedOut: 'chat:user_timed_out', banned: 'chat:user_banned', unbanned: 'chat:user_unbanned', pinned: 'chat:pinned',
  viewers: 'chat:viewers', react: 'chat:react', reactions: 'chat:reactions',
  poll: 'chat:poll_started', pollResults: 'chat:poll_results', pollClosed: 'chat:poll_closed', vote: 'chat:vote',
  del: 'chat:delete', timeout: 'chat:timeout', ban: 'chat:ban', settings: 'chat:settings', term: 'chat:term', newPoll: 'chat:poll', pin: 'chat:pin',
};

export function connect(): Socket {
  // auth as a function: every reconnect sends the current access token (it is refreshed
  // every few minutes), not the one the page started with
  return io(SOCKET_URL, {
    auth: (cb) => { const t = api.session.get(); cb(t ? { token: t.access } : {}); },
    transports: ['websocket', 'polling'],
  });
}

export async function ask(s: Socket, ev: string, payload: unknown, ms = 5000): Promise<Ack> {
  try { return (await s.timeout(ms).emitWithAck(ev, payload)) as Ack; } catch { return { error: { code: 'timeout', message: 'The server did not answer.' } }; }
}

/** What a person reads for a refused message (the ack's error code, issue 19). */
export function chatRefusal(e: ChatError, now = Date.now(), until = 0): string {
  const secs = Math.max(1, Math.ceil((until - now) / 1000));
  switch (e.code) {
    case 'slow_mode': return `Slow mode is on: you can send again in ${secs} s.`;
    case 'rate_limited': return `You are sending too fast: wait ${secs} s.`;
    case 'timed_out': return `You are timed out: you can chat again in ${secs} s.`;
    case 'banned': return 'You are banned from this chat.';
    case 'followers_only': return 'This chat is for followers only. Follow the host to chat.';
    case 'too_long': return 'Messages can be up to 500 characters.';
    case 'blocked_term': return 'Your message contains a word this channel does not allow.';
    case 'unauthenticated': return 'Sign in to chat.';
    default: return e.message || 'Your message was not sent.';
  }
}
