// Home: live now (most watched first), following (signed in), upcoming, categories.
import { useEffect, useState } from 'preact/hooks';
import { api, useSession, type Schemas } from '../api';
import { Link } from '../router';
import { listStreams, type Stream } from '../streams';
import { Shell, StreamCard } from '../ui';

type Feed = { items: Stream[]; loading: boolean; available: boolean; error?: string };
const empty: Feed = { items: [], loading: true, available: true };

function useFeed(q: Parameters<typeof listStreams>[0] | null, key: string): Feed {
  const [f, set] = useState<Feed>(empty);
  useEffect(() => {
    if (!q) return;
    let live = true;
    listStreams(q).then((r) => live && set({ ...r, loading: false }));
    return () => { live = false; };
  }, [key]);
  return f;
}

function Row({ title, id, feed, none }: { title: string; id: string; feed: Feed; none: string }) {
  return (
    <section aria-labelledby={id} class="row">
      <h2 id={id}>{title}</h2>
      {feed.loading ? <p class="muted" aria-live="polite">Loading…</p>
        : feed.error ? <p class="error" role="alert">{feed.error}</p>
        : feed.items.length ? <ul class="grid">{feed.items.map((s) => <StreamCard key={s.id} s={s} />)}</ul>
        : <p class="muted">{none}</p>}
    </section>
  );
}

export function Home() {
  const { tokens } = useSession();
  const [cat, setCat] = useState('');
  const live = useFeed({ status: 'live', limit: 24, category: cat || undefined }, `live${cat}`);
  const upcoming = useFeed({ status: 'scheduled', limit: 12, category: cat || undefined }, `up${cat}`);
  const replays = useFeed({ status: 'ended', limit: 12, category: cat || undefined }, `end${cat}`);
  const following = useFeed(tokens ? { status: 'live', following: 'true', limit: 12 } : null, `f${tokens?.userId}`);
  const [cats, setCats] = useState<Schemas['Category'][]>([]);
  useEffect(() => {
    api.GET('/v1/categories', { params: { query: { limit: 50 } as never } }).then(({ data }) => setCats(((data as { data?: Schemas['Category'][] })?.data ?? []).filter((c) => c.kind !== 'product')));
  }, []);
  return (
    <Shell title="">
      <h1 class="sr">VidZo live streams</h1>
      {cats.length > 0 && (
        <nav aria-label="Categories" class="chips">
          <button type="button" class={`chip ${cat ? '' : 'on'}`} aria-pressed={!cat} onClick={() => setCat('')}>All</button>
          {cats.map((c) => (
            <button type="button" key={c.id} class={`chip ${cat === c.id ? 'on' : ''}`} aria-pressed={cat === c.id} onClick={() => setCat(c.id!)}>{c.name}</button>
          ))}
        </nav>
      )}
      {tokens && following.items.length > 0 && <Row title="Following" id="h-following" feed={following} none="" />}
      <Row title="Live now" id="h-live" feed={live} none="Nobody is live right now. Check the upcoming streams, or go live yourself from the Studio." />
      <Row title="Upcoming" id="h-upcoming" feed={upcoming} none="No streams are scheduled yet." />
      <Row title="Replays" id="h-replays" feed={replays} none="No replays yet." />
      {!tokens && (
        <section class="cta">
          <h2>Go live on VidZo</h2>
          <p>Stream from OBS or any RTMP encoder, chat with your viewers and see your numbers.</p>
          <Link href="/signup" class="btn">Create an account</Link>
        </section>
      )}
    </Shell>
  );
}
