// A user's public profile: name, bio, links, counts, follow, their live and past streams.
import { useEffect, useState } from 'preact/hooks';
import { api, type Profile } from '../api';
import { FollowButton } from '../follow';
import { listStreams, type Stream } from '../streams';
import { Avatar, Shell, StreamCard } from '../ui';
import { NotFound } from './NotFound';

export function ProfilePage({ params }: { params: Record<string, string> }) {
  const [p, setP] = useState<Profile | null | undefined>(undefined);
  const [streams, setStreams] = useState<Stream[]>([]);
  const [replays, setReplays] = useState<Stream[]>([]);
  useEffect(() => {
    setP(undefined);
    api.GET('/v1/users/{id}', { params: { path: { id: params.id } } }).then(({ data }) => setP((data?.data as Profile) ?? null));
    Promise.all([listStreams({ host: params.id, status: 'live', limit: 4 }), listStreams({ host: params.id, status: 'scheduled', limit: 8 })])
      .then(([a, b]) => setStreams([...a.items, ...b.items]));
    listStreams({ host: params.id, status: 'ended', limit: 12 }).then((r) => setReplays(r.items));
  }, [params.id]);
  if (p === null) return <NotFound />;
  if (!p) return <Shell title="Profile"><p class="muted" aria-live="polite">Loading…</p></Shell>;
  const name = p.display_name || p.handle || 'User';
  return (
    <Shell title={name}>
      <section class="profile">
        <Avatar url={p.avatar_url} name={name} size={96} />
        <div>
          <h1>{name}</h1>
          {p.handle && <p class="muted">@{p.handle}</p>}
          <p><span id="followers-count">{p.followers_count ?? 0}</span> followers · {p.following_count ?? 0} following</p>
          <FollowButton userId={p.id!} name={name} onChange={(d) => setP({ ...p, followers_count: (p.followers_count ?? 0) + d })} />
        </div>
      </section>
      {p.bio && <p class="bio">{p.bio}</p>}
      {!!p.links?.length && (
        <ul class="links">{p.links.map((l) => <li key={l.url}><a href={l.url} rel="noopener nofollow ugc" target="_blank">{l.label}</a></li>)}</ul>
      )}
      <section aria-labelledby="p-streams" class="row">
        <h2 id="p-streams">Streams</h2>
        {streams.length ? <ul class="grid">{streams.map((s) => <StreamCard key={s.id} s={s} />)}</ul> : <p class="muted">Not live and nothing planned.</p>}
      </section>
      <section aria-labelledby="p-replays" class="row">
        <h2 id="p-replays">Replays</h2>
        {replays.length ? <ul class="grid">{replays.map((s) => <StreamCard key={s.id} s={s} />)}</ul> : <p class="muted">No replays yet.</p>}
      </section>
    </Shell>
  );
}
