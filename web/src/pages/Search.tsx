// Search: streams (title, tags) and people (handle, name).
import { useEffect, useState } from 'preact/hooks';
import { api, type Profile } from '../api';
import { Link, useLocation } from '../router';
import { listStreams, type Stream } from '../streams';
import { Avatar, Shell, StreamCard } from '../ui';

export function Search() {
  const loc = useLocation();
  const q = new URLSearchParams(loc.split('?')[1] || '').get('q')?.trim() || '';
  const [streams, setStreams] = useState<Stream[] | null>(null);
  const [people, setPeople] = useState<Profile[] | null>(null);
  useEffect(() => {
    setStreams(null); setPeople(null);
    if (!q) return;
    listStreams({ q, limit: 24 }).then((r) => setStreams(r.items));
    api.GET('/v1/users', { params: { query: { q, limit: 12 } } }).then(({ data }) => setPeople((data?.data as Profile[]) ?? []));
  }, [q]);
  return (
    <Shell title={q ? `Search: ${q}` : 'Search'}>
      <h1>{q ? <>Results for “{q}”</> : 'Search'}</h1>
      {!q ? <p class="muted">Type in the search box to find streams and people.</p> : (
        <>
          <section aria-labelledby="s-streams" class="row">
            <h2 id="s-streams">Streams</h2>
            {streams === null ? <p class="muted">Searching…</p> : streams.length
              ? <ul class="grid">{streams.map((s) => <StreamCard key={s.id} s={s} />)}</ul> : <p class="muted">No streams match.</p>}
          </section>
          <section aria-labelledby="s-people" class="row">
            <h2 id="s-people">People</h2>
            {people === null ? <p class="muted">Searching…</p> : people.length ? (
              <ul class="people">{people.map((p) => (
                <li key={p.id}><Link href={`/u/${p.id}`} class="person"><Avatar url={p.avatar_url} name={p.display_name || p.handle || ''} />
                  <span><strong>{p.display_name || p.handle}</strong>{p.handle && <span class="muted"> @{p.handle}</span>}</span></Link></li>
              ))}</ul>
            ) : <p class="muted">Nobody matches.</p>}
          </section>
        </>
      )}
    </Shell>
  );
}
