// Creator studio: my streams, create or schedule one, its RTMP URL and key (copy, reveal,
// rotate), live status and viewers, the chat with moderation controls (slow mode, banned
// terms, and per message delete / time-out / ban), and analytics once it has ended.
import { useEffect, useState } from 'preact/hooks';
import { api, say, useSession, type ApiError, type Schemas } from '../api';
import { ask, connect, EV } from '../chat';
import { Link, navigate } from '../router';
import { cancelStream, createStream, endStream, getStream, keyOf, listStreams, rotateKey, streamAnalytics, type Stream } from '../streams';
import { CopyButton, ErrorText, fmtCount, fmtWhen, Shell } from '../ui';
import { ChatPanel } from './Chat';

function CreateForm({ onCreated }: { onCreated: (s: Stream) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [category, setCategory] = useState('');
  const [tags, setTags] = useState('');
  const [when, setWhen] = useState('');
  const [visibility, setVisibility] = useState<'public' | 'followers'>('public');
  const [cats, setCats] = useState<Schemas['Category'][]>([]);
  const [err, setErr] = useState<ApiError>();
  useEffect(() => {
    api.GET('/v1/categories').then(({ data }) => setCats(((data as { data?: Schemas['Category'][] })?.data ?? []).filter((c) => c.kind !== 'product')));
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr(undefined);
    const r = await createStream({ title, description: description || undefined, category_id: category || undefined,
      scheduled_at: when ? new Date(when).toISOString() : undefined, visibility,
      tags: tags ? tags.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean) : undefined });
    if (r.error) return setErr(r.status === 404 ? { code: 'unavailable', message: 'Streams are not available on this server yet.' } : r.error);
    onCreated(r.data!);
  };
  return (
    <form onSubmit={submit} class="panel" aria-labelledby="new-h">
      <h2 id="new-h">New stream</h2>
      <label for="ns-title">Title</label>
      <input id="ns-title" required maxLength={140} value={title} onInput={(e) => setTitle(e.currentTarget.value)} aria-describedby="ns-err" />
      <label for="ns-desc">Description</label>
      <textarea id="ns-desc" rows={3} maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <div class="two">
        <div>
          <label for="ns-cat">Category</label>
          <select id="ns-cat" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">None</option>
            {cats.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </div>
        <div>
          <label for="ns-vis">Who can watch</label>
          <select id="ns-vis" value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as 'public' | 'followers')}>
            <option value="public">Everyone</option>
            <option value="followers">Followers</option>
          </select>
        </div>
      </div>
      <label for="ns-tags">Tags <span class="muted">(comma separated, up to 10)</span></label>
      <input id="ns-tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} aria-describedby="ns-err" />
      <label for="ns-when">Scheduled start <span class="muted">(optional: leave empty to go live now)</span></label>
      <input id="ns-when" type="datetime-local" value={when} onInput={(e) => setWhen(e.currentTarget.value)} />
      <ErrorText id="ns-err" msg={say(err)} />
      <button class="btn" type="submit">{when ? 'Schedule stream' : 'Create stream'}</button>
    </form>
  );
}

function Ingest({ s, onChange }: { s: Stream; onChange: (s: Stream) => void }) {
  const [show, setShow] = useState(false);
  const [err, setErr] = useState('');
  const key = keyOf(s.id);
  if (!s.ingest_url) return null;
  return (
    <section class="panel" aria-labelledby="ing-h">
      <h2 id="ing-h">Encoder settings</h2>
      <p class="hint">In OBS: Settings → Stream → Service “Custom”, then paste these two.</p>
      <label for="rtmp-url">Server (RTMP URL)</label>
      <div class="copyrow"><input id="rtmp-url" readOnly value={s.ingest_url} /><CopyButton text={s.ingest_url} label="Copy URL" /></div>
      <label for="rtmp-key">Stream key</label>
      {key ? (
        <div class="copyrow">
          <input id="rtmp-key" readOnly type={show ? 'text' : 'password'} value={key} aria-describedby="key-hint" />
          <button type="button" class="btn small ghost" aria-pressed={show} onClick={() => setShow(!show)}>{show ? 'Hide' : 'Show'}</button>
          <CopyButton text={key} label="Copy key" />
        </div>
      ) : <p id="rtmp-key" class="note">The key is shown only once, when it is made. Rotate it to get a new one.</p>}
      <p id="key-hint" class="hint">Anyone with the key can stream as you. Rotate it if it leaks: the old key stops working.</p>
      <button type="button" class="btn small ghost" onClick={async () => {
        if (key && !confirm('Rotate the stream key? Encoders using the old key will be disconnected.')) return;
        const r = await rotateKey(s.id);
        if (r.error) return setErr(say(r.error));
        setShow(false);
        onChange({ ...s, ...r.data });
      }}>Rotate key</button>
      <ErrorText msg={err} />
    </section>
  );
}

function Moderation({ s }: { s: Stream }) {
  const [slow, setSlow] = useState('0');
  const [term, setTerm] = useState('');
  const [pollQ, setPollQ] = useState('');
  const [pollOpts, setPollOpts] = useState('');
  const [pollSecs, setPollSecs] = useState('120');
  const [msg, setMsg] = useState('');
  const send = async (ev: string, payload: Record<string, unknown>, ok: string) => {
    // moderation events act in the stream's room: join it first on a short-lived socket
    const sock = connect();
    await new Promise<void>((r) => { sock.once('connect', () => r()); sock.once('connect_error', () => r()); });
    let a = await ask(sock, EV.join, { stream_id: s.id });
    if (!a.error) a = await ask(sock, ev, { stream_id: s.id, ...payload });
    sock.disconnect();
    setMsg(a.error ? (a.error.message || a.error.code) : ok);
  };
  return (
    <section class="panel" aria-labelledby="mod-h">
      <h2 id="mod-h">Chat moderation</h2>
      <form onSubmit={(e) => { e.preventDefault(); send(EV.settings, { slow_mode_s: Number(slow) }, Number(slow) ? `Slow mode: ${slow} s.` : 'Slow mode off.'); }}>
        <label for="mod-slow">Slow mode</label>
        <div class="copyrow">
          <select id="mod-slow" value={slow} onChange={(e) => setSlow(e.currentTarget.value)}>
            {['0', '3', '10', '30', '60', '120'].map((v) => <option key={v} value={v}>{v === '0' ? 'Off' : `${v} seconds`}</option>)}
          </select>
          <button class="btn small" type="submit">Apply</button>
        </div>
      </form>
      <form onSubmit={(e) => { e.preventDefault(); const t = term.trim(); if (t) send(EV.term, { term: t, on: true }, `“${t}” is now refused in your chat.`).then(() => setTerm('')); }}>
        <label for="mod-terms">Ban a word or phrase</label>
        <div class="copyrow">
          <input id="mod-terms" maxLength={100} value={term} onInput={(e) => setTerm(e.currentTarget.value)} />
          <button class="btn small" type="submit">Add</button>
        </div>
      </form>
      <form onSubmit={(e) => {
        e.preventDefault();
        const opts = pollOpts.split('\n').map((o) => o.trim()).filter(Boolean);
        if (opts.length < 2 || opts.length > 5) return setMsg('A poll needs 2 to 5 options, one per line.');
        send(EV.newPoll, { question: pollQ.trim(), options: opts, duration_s: Number(pollSecs) }, 'Poll started.').then(() => { setPollQ(''); setPollOpts(''); });
      }}>
        <label for="poll-q">Start a poll</label>
        <input id="poll-q" required maxLength={200} placeholder="Question" value={pollQ} onInput={(e) => setPollQ(e.currentTarget.value)} />
        <label for="poll-opts" class="sr">Options, one per line</label>
        <textarea id="poll-opts" required rows={3} placeholder={'Options, one per line (2 to 5)'} value={pollOpts} onInput={(e) => setPollOpts(e.currentTarget.value)} />
        <div class="copyrow">
          <label for="poll-secs" class="sr">Poll duration</label>
          <select id="poll-secs" value={pollSecs} onChange={(e) => setPollSecs(e.currentTarget.value)}>
            {['60', '120', '300', '600'].map((v) => <option key={v} value={v}>{Number(v) / 60} min</option>)}
          </select>
          <button class="btn small" type="submit">Start poll</button>
        </div>
      </form>
      <p class="hint">Delete, time out or ban from a message in the chat below.</p>
      {msg && <p role="status" class="ok">{msg}</p>}
    </section>
  );
}

function Analytics({ s }: { s: Stream }) {
  const [a, setA] = useState<Record<string, unknown> | null>(null);
  useEffect(() => { streamAnalytics(s.id).then((r) => setA(r as Record<string, unknown> | null)); }, [s.id]);
  if (!a) return null;
  const mins = (ms: unknown) => `${Math.round(Number(ms || 0) / 60000)} min`;
  const rows: [string, string, (v: unknown) => string][] = [
    ['Peak viewers', 'peak_viewers', String], ['Unique viewers', 'unique_viewers', String],
    ['Total watch time', 'watch_time_ms', mins], ['Average watch time', 'avg_watch_time_ms', mins],
    ['Chat messages', 'chat_messages', String], ['Reactions', 'reactions', String], ['Followers gained', 'followers_gained', String],
  ];
  return (
    <section class="panel" aria-labelledby="an-h">
      <h2 id="an-h">Analytics</h2>
      <dl class="stats">{rows.filter(([, k]) => a[k] !== undefined).map(([l, k, f]) => <div key={k}><dt>{l}</dt><dd>{f(a[k])}</dd></div>)}</dl>
    </section>
  );
}

function StreamAdmin({ id, onSeen }: { id: string; onSeen: (s: Stream) => void }) {
  const [s, setS] = useState<Stream | null | undefined>();
  const [roomViewers, setRoomViewers] = useState<number | undefined>(); // pushed by the chat room, faster than polling
  const [err, setErr] = useState('');
  useEffect(() => {
    let on = true;
    const load = () => getStream(id).then((r) => {
      if (!on) return;
      setS(r.data ?? (r.status === 404 ? null : undefined));
      if (r.data) onSeen(r.data); // the list beside it shows the same status
    });
    load();
    const t = setInterval(load, 5000); // live status and viewers while the studio is open
    return () => { on = false; clearInterval(t); };
  }, [id]);
  if (s === null) return <p class="error" role="alert">No such stream.</p>;
  if (!s) return <p class="muted">Loading…</p>;
  return (
    <div class="studio-stream">
      <div class="panel">
        <h2>{s.title}</h2>
        <p>
          Status: <strong id="stream-status">{s.status}</strong>
          {s.status === 'live' && <> · <span id="studio-viewers">{fmtCount(roomViewers ?? s.viewers ?? 0)}</span> watching</>}
          {s.status === 'scheduled' && s.scheduled_at && <> · starts {fmtWhen(s.scheduled_at)}</>}
        </p>
        <p><Link href={`/watch/${s.id}`}>Open the watch page</Link></p>
        {s.status === 'live' && <button class="btn small danger" type="button" onClick={async () => {
          if (!confirm('End the stream for everyone?')) return;
          const r = await endStream(s.id); if (r.error) setErr(say(r.error)); else { setS(r.data!); onSeen(r.data!); }
        }}>End stream</button>}
        {s.status === 'scheduled' && <button class="btn small ghost" type="button" onClick={async () => {
          const r = await cancelStream(s.id); if (r.error) setErr(say(r.error)); else navigate('/studio');
        }}>Cancel stream</button>}
        <ErrorText msg={err} />
      </div>
      {(s.status === 'scheduled' || s.status === 'live') && <Ingest s={s} onChange={setS} />}
      {(s.status === 'scheduled' || s.status === 'live') && <Moderation s={s} />}
      {s.status === 'ended' && <Analytics s={s} />}
      {s.status !== 'cancelled' && <ChatPanel stream={s} moderator onViewers={setRoomViewers} />}
    </div>
  );
}

export function Studio({ params }: { params: Record<string, string> }) {
  const { tokens } = useSession();
  const [mine, setMine] = useState<Stream[] | null>(null);
  const [available, setAvailable] = useState(true);
  useEffect(() => { if (!tokens) navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); }, [tokens]);
  useEffect(() => {
    if (!tokens) return;
    Promise.all((['live', 'scheduled', 'ended'] as const).map((st) => listStreams({ host: tokens.userId, status: st, limit: 20 })))
      .then((rs) => { setAvailable(rs[0].available); setMine(rs.flatMap((r) => r.items)); });
  }, [tokens?.userId, params.id]);
  if (!tokens) return null;
  return (
    <Shell title="Studio">
      <h1>Creator studio</h1>
      {!available && <p class="note" role="status">Streaming is not switched on for this server yet.</p>}
      <div class="studio">
        <aside aria-labelledby="mine-h" class="panel">
          <h2 id="mine-h">Your streams</h2>
          {mine === null ? <p class="muted">Loading…</p> : mine.length ? (
            <ul class="plain">{mine.map((s) => (
              <li key={s.id}><Link href={`/studio/${s.id}`} aria-current={params.id === s.id ? 'page' : undefined}>{s.title}</Link> <span class="muted small">{s.status}</span></li>
            ))}</ul>
          ) : <p class="muted">None yet.</p>}
          <p><Link href="/studio" class="btn small">New stream</Link></p>
        </aside>
        <div>{params.id ? <StreamAdmin id={params.id} onSeen={(x) => setMine((m) => m && m.map((y) => (y.id === x.id ? x : y)))} /> : <CreateForm onCreated={(s) => navigate(`/studio/${s.id}`)} />}</div>
      </div>
    </Shell>
  );
}
