// The shell (header, skip link, main landmark) and small pieces every page uses.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { signOut, useSession } from './api';
import { Link, navigate } from './router';
import type { Stream } from './streams';

let firstShown = false;

export function Shell({ title, children }: { title: string; children: ComponentChildren }) {
  const { tokens, me } = useSession();
  const [q, setQ] = useState('');
  const h1 = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = title ? `${title} · VidZo` : 'VidZo';
    // after an in-app navigation focus moves to the new content, as a full page load would
    // reset it (a screen reader starts there); the first load keeps the browser's own
    // order, so the first Tab reaches the skip link
    if (firstShown) h1.current?.focus({ preventScroll: true });
    firstShown = true;
  }, [title]);
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/" class="brand" aria-label="VidZo home"><span aria-hidden="true">▶</span> VidZo</Link>
        <form role="search" class="search" onSubmit={(e) => { e.preventDefault(); navigate(`/search?q=${encodeURIComponent(q)}`); }}>
          <label for="q" class="sr">Search streams and people</label>
          <input id="q" type="search" placeholder="Search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </form>
        <nav aria-label="Account" class="acct">
          {tokens ? (
            <>
              <Link href="/studio">Studio</Link>
              <Link href={`/u/${tokens.userId}`}>{me?.display_name || me?.handle || 'Profile'}</Link>
              <Link href="/settings">Settings</Link>
              <button type="button" class="link" onClick={async () => { await signOut(); navigate('/'); }}>Sign out</button>
            </>
          ) : (
            <>
              <Link href="/signin">Sign in</Link>
              <Link href="/signup" class="btn small">Sign up</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1} ref={h1 as never}>{children}</main>
    </>
  );
}

export function ErrorText({ msg, id }: { msg?: string; id?: string }) {
  return msg ? <p class="error" role="alert" id={id}>{msg}</p> : null;
}

export function Avatar({ url, name, size = 40 }: { url?: string | null; name?: string; size?: number }) {
  const initial = (name || '?').trim().charAt(0).toUpperCase();
  return url
    ? <img class="avatar" src={url} alt="" width={size} height={size} />
    : <span class="avatar" aria-hidden="true" style={{ width: size, height: size, lineHeight: `${size}px` }}>{initial}</span>;
}

export function StreamCard({ s }: { s: Stream }) {
  const name = s.host?.display_name || s.host?.handle || 'host';
  return (
    <li class="card">
      <Link href={`/watch/${s.id}`} class="thumb" aria-label={`${s.title} by ${name}`}>
        {s.thumbnail_url ? <img src={s.thumbnail_url} alt="" loading="lazy" /> : <span class="ph" aria-hidden="true">▶</span>}
        {s.status === 'live' && <span class="badge live">LIVE</span>}
        {s.status === 'live' && <span class="badge viewers">{fmtCount(s.viewers ?? 0)} watching</span>}
        {s.status === 'ended' && <span class="badge">Replay</span>}
      </Link>
      <div class="meta">
        <Link href={`/watch/${s.id}`} class="title">{s.title}</Link>
        <span class="muted">{name}{s.status === 'scheduled' && s.scheduled_at ? ` · ${fmtWhen(s.scheduled_at)}` : ''}</span>
      </div>
    </li>
  );
}

export function fmtCount(n: number) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}
export function fmtWhen(iso: string) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', month: 'short', day: 'numeric' });
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button type="button" class="btn small" onClick={async () => {
      try { await navigator.clipboard.writeText(text); setDone(true); setTimeout(() => setDone(false), 1500); } catch { /* denied: the field is selectable */ }
    }}>{done ? 'Copied' : label}</button>
  );
}
