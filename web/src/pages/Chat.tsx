// The chat panel of a stream: history, live messages, send with the server's refusals shown
// as a person expects (a countdown for slow mode and time-outs), deleted messages vanish,
// reactions, the open poll. The host and moderators get delete / time-out / ban per message.
import type { Socket } from 'socket.io-client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, useSession } from '../api';
import { ask, chatRefusal, connect, EV, type ChatError, type ChatMessage } from '../chat';
import { Link } from '../router';
import type { Stream } from '../streams';

interface Poll { id: string; question: string; options: { text: string; votes?: number }[]; closes_at?: string; closed?: boolean; my_vote?: number }
const REACTIONS = [['heart', '❤️', 'Heart'], ['fire', '🔥', 'Fire'], ['laugh', '😂', 'Laugh'], ['clap', '👏', 'Clap']] as const;

export function ChatPanel({ stream, onViewers, moderator }: { stream: Stream; onViewers?: (n: number) => void; moderator?: boolean }) {
  const { tokens } = useSession();
  const [msgs, setMsgs] = useState<ChatMessage[]>([]);
  const [text, setText] = useState('');
  const [refusal, setRefusal] = useState<{ e: ChatError; until: number } | null>(null);
  const [now, setNow] = useState(Date.now());
  const [status, setStatus] = useState<'connecting' | 'on' | 'off' | 'unavailable'>('connecting');
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [poll, setPoll] = useState<Poll | null>(null);
  const sock = useRef<Socket | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const isMod = moderator || (!!tokens && tokens.userId === stream.host?.id);

  useEffect(() => {
    call<ChatMessage[]>('GET', `/v1/streams/${stream.id}/chat?limit=50`).then((r) => {
      if (r.data) setMsgs((m) => [...r.data!.slice().reverse().filter((x) => !m.some((y) => y.id === x.id)), ...m]);
    });
    const s = connect();
    sock.current = s;
    const join = async () => {
      const a = await ask(s, EV.join, { stream_id: stream.id });
      setStatus(a.error ? (a.error.code === 'unknown_event' || a.error.code === 'timeout' ? 'unavailable' : 'off') : 'on');
    };
    s.on('connect', join);
    s.on('disconnect', () => setStatus('off'));
    s.on('connect_error', () => setStatus('off')); // e.g. a server that refuses anonymous sockets
    s.on(EV.message, (m: ChatMessage) => setMsgs((all) => (all.some((x) => x.id === m.id) ? all : [...all.slice(-199), m])));
    s.on(EV.deleted, (d: { id?: string; ids?: string[]; user_id?: string }) =>
      setMsgs((all) => all.filter((m) => m.id !== d.id && !(d.ids || []).includes(m.id) && !(d.user_id && m.user?.id === d.user_id))));
    s.on(EV.cleared, () => setMsgs([]));
    s.on(EV.viewers, (d: { count?: number; viewers?: number }) => onViewers?.(d.count ?? d.viewers ?? 0));
    s.on(EV.reactions, (d: { counts?: Record<string, number> }) => setCounts((c) => ({ ...c, ...(d.counts || {}) })));
    s.on(EV.poll, (p: Poll) => setPoll(p));
    return () => { s.disconnect(); sock.current = null; };
  }, [stream.id, tokens?.access]);

  useEffect(() => { // keep the newest message in view unless the reader scrolled up
    const el = list.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 120) el.scrollTop = el.scrollHeight;
  }, [msgs.length]);
  useEffect(() => {
    if (!refusal || refusal.until <= Date.now()) return;
    const t = setInterval(() => { setNow(Date.now()); if (Date.now() >= refusal.until) setRefusal(null); }, 1000);
    return () => clearInterval(t);
  }, [refusal]);

  const send = async (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body || !sock.current) return;
    if (body.length > 500) return setRefusal({ e: { code: 'too_long' }, until: 0 });
    const a = await ask(sock.current, EV.send, { stream_id: stream.id, text: body });
    if (a.error) {
      const secs = Number(a.error.retry_after ?? (a.error as { retry_after_s?: number }).retry_after_s ?? 0);
      setRefusal({ e: a.error, until: secs ? Date.now() + secs * 1000 : 0 });
      return;
    }
    setRefusal(null);
    setText('');
    const m = a.data as unknown as ChatMessage | undefined;
    if (m && m.id && m.text) setMsgs((all) => (all.some((x) => x.id === m.id) ? all : [...all, m]));
  };
  const mod = async (ev: string, payload: Record<string, unknown>) => {
    if (!sock.current) return;
    const a = await ask(sock.current, ev, { stream_id: stream.id, ...payload });
    if (a.error) setRefusal({ e: a.error, until: 0 });
  };

  const waiting = refusal && refusal.until > now;
  return (
    <section class="chat" aria-labelledby="chat-h">
      <h2 id="chat-h">Chat {status !== 'on' && <span class="muted small">({status === 'connecting' ? 'connecting' : status === 'unavailable' ? 'not available yet' : 'offline'})</span>}</h2>
      <div ref={list} class="msgs" role="log" aria-live="polite" aria-label="Chat messages" tabIndex={0}><ul>
        {msgs.length === 0 && <li class="muted">No messages yet. Say hi!</li>}
        {msgs.map((m) => (
          <li key={m.id} data-id={m.id} class="msg">
            <strong>{m.user?.display_name || m.user?.handle || 'someone'}</strong>
            {m.user?.badges?.map((b) => <span class="tag" key={b}>{b}</span>)}{' '}
            <span>{m.text}</span>
            {isMod && m.user && m.user.id !== tokens?.userId && (
              <span class="modbar">
                <button type="button" class="link" onClick={() => mod(EV.del, { message_id: m.id })} aria-label={`Delete message from ${m.user.handle || m.user.display_name}`}>Delete</button>
                <button type="button" class="link" onClick={() => mod(EV.timeout, { user_id: m.user!.id, seconds: 600 })} aria-label={`Time out ${m.user.handle || m.user.display_name} for 10 minutes`}>Timeout</button>
                <button type="button" class="link" onClick={() => mod(EV.ban, { user_id: m.user!.id })} aria-label={`Ban ${m.user.handle || m.user.display_name}`}>Ban</button>
              </span>
            )}
          </li>
        ))}
      </ul></div>
      {poll && (
        <fieldset class="poll">
          <legend>{poll.question}</legend>
          {poll.options.map((o, i) => (
            <button type="button" key={i} class={`chip ${poll.my_vote === i ? 'on' : ''}`} disabled={poll.closed || !tokens}
              aria-pressed={poll.my_vote === i} onClick={() => sock.current && ask(sock.current, EV.pollVote, { poll_id: poll.id, option: i }).then(() => setPoll({ ...poll, my_vote: i }))}>
              {o.text}{o.votes !== undefined ? ` · ${o.votes}` : ''}
            </button>
          ))}
        </fieldset>
      )}
      <div class="reactions" role="group" aria-label="Reactions">
        {REACTIONS.map(([k, emoji, label]) => (
          <button type="button" key={k} class="chip" disabled={!tokens} aria-label={label} onClick={() => sock.current && ask(sock.current, EV.react, { stream_id: stream.id, kind: k })}>
            <span aria-hidden="true">{emoji}</span> {counts[k] ? counts[k] : ''}
          </button>
        ))}
      </div>
      {tokens ? (
        <form class="send" onSubmit={send}>
          <label for="chat-input" class="sr">Send a message</label>
          <input id="chat-input" maxLength={500} autoComplete="off" placeholder="Send a message" value={text}
            onInput={(e) => setText(e.currentTarget.value)} aria-describedby="chat-refusal" disabled={!!waiting} />
          <button class="btn small" type="submit" disabled={!!waiting || status !== 'on'}>Chat</button>
          <p id="chat-refusal" class="error" role="status">{refusal ? chatRefusal(refusal.e, now, refusal.until) : ''}</p>
        </form>
      ) : (
        <p class="muted"><Link href={`/signin?next=/watch/${stream.id}`}>Sign in</Link> to chat.</p>
      )}
    </section>
  );
}
