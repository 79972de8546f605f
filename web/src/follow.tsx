// Follow / unfollow a user. Whether I follow them comes from my own "following" list
// (the profile object has no per-viewer flag yet), fetched once per page.
import { useEffect, useState } from 'preact/hooks';
import { api, errorOf, say, useSession } from './api';
import { navigate } from './router';

let mine: Promise<Set<string>> | null = null;
let mineFor = '';
function myFollowing(me: string): Promise<Set<string>> {
  if (!mine || mineFor !== me) {
    mineFor = me;
    mine = api.GET('/v1/users/{id}/following', { params: { path: { id: me }, query: { limit: 100 } as never } })
      .then(({ data }) => new Set(((data as { data?: { id?: string }[] })?.data ?? []).map((u) => u.id!)));
  }
  return mine;
}

export function FollowButton({ userId, name, onChange }: { userId: string; name: string; onChange?: (delta: number) => void }) {
  const { tokens } = useSession();
  const [on, setOn] = useState<boolean | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    if (tokens) myFollowing(tokens.userId).then((s) => setOn(s.has(userId)));
  }, [tokens?.userId, userId]);
  if (tokens?.userId === userId) return null;
  const toggle = async () => {
    if (!tokens) return navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
    setErr('');
    const opts = { params: { path: { id: userId } } };
    const { error } = on ? await api.DELETE('/v1/users/{id}/follow', opts) : await api.POST('/v1/users/{id}/follow', opts);
    if (error) return setErr(say(errorOf(error)));
    const s = await myFollowing(tokens.userId);
    if (on) s.delete(userId); else s.add(userId);
    onChange?.(on ? -1 : 1);
    setOn(!on);
  };
  return (
    <span>
      <button type="button" class={`btn small ${on ? 'ghost' : ''}`} aria-pressed={!!on} onClick={toggle} disabled={!!tokens && on === null}>
        {on ? 'Following' : 'Follow'}<span class="sr"> {name}</span>
      </button>
      {err && <span class="error" role="alert"> {err}</span>}
    </span>
  );
}
