// The chat panel of a stream: history, live messages, send with the server's refusals shown
// as a person expects (a countdown for slow mode and time-outs), deleted messages vanish,
// reactions, the open poll. The host and moderators get delete / time-out / ban per message.
import type { Socket } from 'socket.io-client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, call, useSession } from '../api';
import { ask, chatRefusal, connect, EV, type ChatError, type ChatMessage, type JoinState, type Pinned, type Poll } from '../chat';
import { Link } from '../router';
import type { Stream } from '../streams';

const REACTIONS = [['heart', '❤️', 'Heart'], ['fire', '🔥', 'Fire'], ['laugh', '😂', 'Laugh'], ['wow', '😮', 'Wow'], ['clap', '👏', 'Clap']] as const;
let sysId = 0;
const who = (a?: { handle?: string | null; display_name?: string }) => a?.display_name || a?.handle || 'someone';

export function ChatPanel({ stream, onViewers, onJoined, moderator }: { stream: Stream; onViewers?: (n: number) => void; onJoined?: (inRoom: boolean) => void; moderator?: boolean }) {
  const { tokens } = useSession();
  const [msgs, setMsgs] = useState<ChatMessage[]>([]);
  const [text, setText] = useState('');
  const [refusal, setRefusal] = useState<{ e: ChatError; until: number } | null>(null);
  const [now, setNow] = useState(Date.now());
  const [status, setStatus] = useState<'connecting' | 'on' | 'off' | 'unavailable'>('connecting');
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [poll, setPoll] = useState<Poll | null>(null);
  const [myVote, setMyVote] = useState<number | null>(null);
  const [pinned, setPinned] = useState<Pinned | null>(null);
  const [canMod, setCanMod] = useState(false);
  const isMod = moderator || canMod || (!!tokens && tokens.userId === stream.host?.id);
  const sock = useRef<Socket | null>(null);
  const names = useRef(new Map<string, string>()); // user id -> name, for the notices
  const list = useRef<HTMLDivElement>(null);

  useEffect(() => {
    // scroll-back: the newest 50, newest first on the wire
    call<ChatMessage[]>('GET', `/v1/streams/${stream.id}/chat?limit=50`).then((r) => {
      if (r.data) setMsgs((m) => [...r.data!.slice().reverse().filter((x) => !m.some((y) => y.id === x.id)), ...m]);
    });
    const s = connect();
    sock.current = s;
    const notice = (text: string) => setMsgs((all) => [...all.slice(-199), { id: `sys-${++sysId}`, text, system: true }]);
    const join = async () => {
      const a = await ask(s, EV.join, { stream_id: stream.id });
      if (a.error) { setStatus(a.error.code === 'timeout' ? 'unavailable' : 'off'); return; }
      const j = (a.data || {}) as JoinState;
      setStatus('on');
      onJoined?.(true);
      if (typeof j.viewers === 'number') onViewers?.(j.viewers);
      if (j.moderator) setCanMod(true);
      if (j.poll) setPoll(j.poll);
      setPinned(j.pinned ?? null);
      if (j.timed_out_until) {
        const until = Date.parse(j.timed_out_until);
        if (until > Date.now()) setRefusal({ e: { code: 'timed_out' }, until });
      }
    };
    s.on('connect', join);
    s.on('disconnect', () => { setStatus('off'); onJoined?.(false); });
    s.on('connect_error', () => setStatus('off')); // e.g. a server that refuses anonymous sockets
    s.on(EV.message, (m: ChatMessage) => {
      if (m.author?.id) names.current.set(m.author.id, who(m.author));
      setMsgs((all) => (all.some((x) => x.id === m.id) ? all : [...all.slice(-199), m]));
    });
    s.on(EV.deleted, (d: { id?: string; ids?: string[] }) => setMsgs((all) => all.filter((m) => m.id !== d.id && !(d.ids || []).includes(m.id))));
    s.on(EV.cleared, () => setMsgs([]));
    // a time-out or ban: the room reads a notice; the person concerned is told until when
    // (the person concerned gets it twice: in the room and on their own channel)
    const seen = new Set<string>();
    const sanction = (kind: 'timeout' | 'ban') => (d: { user_id: string; until?: string | null }) => {
      const k = `${kind}:${d.user_id}:${d.until ?? ''}`;
      if (seen.has(k)) return;
      seen.add(k);
      const name = names.current.get(d.user_id) || 'A user';
      const mine = d.user_id === api.session.get()?.userId;
      if (kind === 'timeout') {
        const until = d.until ? Date.parse(d.until) : 0;
        notice(mine ? 'You were timed out by a moderator.' : `${name} was timed out${until ? ` for ${Math.round((until - Date.now()) / 60000) || 1} min` : ''}.`);
        if (mine && until > Date.now()) setRefusal({ e: { code: 'timed_out' }, until });
      } else {
        notice(mine ? 'You were banned from this chat.' : `${name} was banned.`);
        if (mine) setRefusal({ e: { code: 'banned' }, until: 0 });
      }
    };
    s.on(EV.unbanned, (d: { user_id: string }) => { if (d.user_id === api.session.get()?.userId) setRefusal(null); });
    s.on(EV.pinned, (d: { pinned?: Pinned | null; message?: Pinned | null }) => setPinned(d.pinned ?? d.message ?? null));
    s.on(EV.timedOut, sanction('timeout'));
    s.on(EV.banned, sanction('ban'));
    s.on(EV.viewers, (d: { count?: number }) => onViewers?.(d.count ?? 0));
    s.on(EV.reactions, (d: { totals?: Record<string, number> }) => setCounts((c) => ({ ...c, ...(d.totals || {}) })));
    const onPoll = (p: Poll) => setPoll(p);
    s.on(EV.poll, (p: Poll) => { setMyVote(null); onPoll(p); });
    s.on(EV.pollResults, onPoll);
    s.on(EV.pollClosed, onPoll);
    return () => { s.disconnect(); sock.current = null; };
  }, [stream.id, tokens?.userId]); // a new identity reconnects; a refreshed token is read by auth()

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
      {pinned && <p class="pinned"><span class="tag">Pinned</span> <strong>{who(pinned.author)}</strong> {pinned.text}</p>}
      <div ref={list} class="msgs" role="log" aria-live="polite" aria-label="Chat messages" tabIndex={0}><ul>
        {msgs.length === 0 && <li class="muted">No messages yet. Say hi!</li>}
        {msgs.map((m) => m.system ? (
          <li key={m.id} class="msg notice" data-system="1"><em>{m.text}</em></li>
        ) : (
          <li key={m.id} data-id={m.id} class="msg">
            <strong>{who(m.author)}</strong>
            {m.author?.badges?.map((b) => <span class="tag" key={b}>{b}</span>)}{' '}
            <span>{m.text}</span>
            {isMod && m.author && (
              <span class="modbar">
                <button type="button" class="link" onClick={() => mod(EV.pin, { message_id: m.id })} aria-label={`Pin message from ${who(m.author)}`}>Pin</button>
                {m.author.id !== tokens?.userId && <>
                  <button type="button" class="link" onClick={() => mod(EV.del, { message_id: m.id })} aria-label={`Delete message from ${who(m.author)}`}>Delete</button>
                  <button type="button" class="link" onClick={() => mod(EV.timeout, { user_id: m.author!.id, seconds: 600 })} aria-label={`Time out ${who(m.author)} for 10 minutes`}>Timeout</button>
                  <button type="button" class="link" onClick={() => mod(EV.ban, { user_id: m.author!.id })} aria-label={`Ban ${who(m.author)}`}>Ban</button>
                </>}
              </span>
            )}
          </li>
        ))}
      </ul></div>
      {poll && (
        <fieldset class="poll">
          <legend>{poll.question}{poll.closed ? ' (closed)' : ''}</legend>
          {poll.options.map((o, i) => (
            <button type="button" key={i} class={`chip ${myVote === i ? 'on' : ''}`} disabled={poll.closed || !tokens} aria-pressed={myVote === i}
              onClick={async () => { if (!sock.current) return; const a = await ask(sock.current, EV.vote, { stream_id: stream.id, poll_id: poll.id, option: i }); if (!a.error) setMyVote(i); }}>
              {o}{poll.counts ? ` · ${poll.counts[i] ?? 0}` : ''}
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
