// Profile edit (name, handle, bio) and avatar upload. Signed-out visitors go to sign in.
import { useEffect, useState } from 'preact/hooks';
import { api, errorOf, say, useSession, type ApiError } from '../api';
import { API_URL } from '../config';
import { Link, navigate } from '../router';
import { Avatar, ErrorText, Shell } from '../ui';

export function Settings() {
  const { tokens, me, refreshMe } = useSession();
  const [name, setName] = useState('');
  const [handle, setHandle] = useState('');
  const [bio, setBio] = useState('');
  const [err, setErr] = useState<ApiError>();
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const welcome = new URLSearchParams(location.search).has('welcome');
  useEffect(() => { if (!tokens) navigate('/signin?next=/settings', true); }, [tokens]);
  useEffect(() => {
    if (me) { setName(me.display_name || ''); setHandle(me.handle || ''); setBio(me.bio || ''); }
  }, [me?.id]);
  if (!tokens) return null;

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setErr(undefined); setSaved('');
    const { data, error } = await api.PATCH('/v1/me', { body: { display_name: name, bio, ...(handle && handle !== me?.handle ? { handle } : {}) } });
    setBusy(false);
    if (error || !data?.data) return setErr(errorOf(error));
    refreshMe(data.data);
    setSaved('Profile saved.');
  };
  const upload = async (e: Event) => {
    const f = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!f) return;
    setErr(undefined); setSaved('');
    if (f.size > 2 * 1024 * 1024) return setErr({ code: 'too_large', message: 'Pick an image of 2 MB or less.' });
    // raw body with the file's own type (JPEG, PNG, WebP): the server checks the bytes
    const t = api.session.get();
    const r = await fetch(`${API_URL}/v1/me/avatar`, { method: 'PUT', body: f, headers: { 'Content-Type': f.type || 'application/octet-stream', Authorization: `Bearer ${t?.access}` } })
      .catch(() => null);
    const j = r ? await r.json().catch(() => ({})) : {};
    if (!r || !r.ok) return setErr(errorOf(j));
    const { data } = await api.GET('/v1/me');
    if (data?.data) refreshMe(data.data);
    setSaved('Avatar updated.');
  };

  return (
    <Shell title="Settings">
      <section class="narrow">
        <h1>Your profile</h1>
        {welcome && <p class="note" role="status">Welcome to VidZo! Pick a name and a picture so people know who you are.</p>}
        <div class="avatar-row">
          <Avatar url={me?.avatar_url} name={name || me?.handle || ''} size={72} />
          <div>
            <input id="avatar" class="file" type="file" accept="image/jpeg,image/png,image/webp" onChange={upload} aria-describedby="avatar-hint" />
            <label for="avatar" class="btn small ghost">Change picture</label>
            <p class="hint" id="avatar-hint">JPEG, PNG or WebP, up to 2 MB.</p>
          </div>
        </div>
        <form onSubmit={save}>
          <label for="st-name">Display name</label>
          <input id="st-name" maxLength={50} value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="st-err" />
          <label for="st-handle">Handle</label>
          <input id="st-handle" minLength={3} maxLength={30} value={handle} onInput={(e) => setHandle(e.currentTarget.value)}
            aria-invalid={err?.field === 'handle'} aria-describedby="st-err" />
          <label for="st-bio">Bio</label>
          <textarea id="st-bio" maxLength={500} rows={4} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
          <ErrorText id="st-err" msg={say(err)} />
          {saved && <p class="ok" role="status">{saved}</p>}
          <button class="btn" type="submit" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          {me?.id && <Link href={`/u/${me.id}`} class="link">View your profile</Link>}
        </form>
      </section>
    </Shell>
  );
}
