// Profile edit (name, handle, bio) and avatar upload. Signed-out visitors go to sign in.
import { useEffect, useState } from 'preact/hooks';
import { api, errorOf, say, useSession, type ApiError } from '../api';
import { API_URL } from '../config';
import { Link, navigate } from '../router';
import { Avatar, ErrorText, Shell } from '../ui';

const AVATAR_TYPES = ['image/jpeg', 'image/png', 'image/webp'];
const AVATAR_MAX = 5 * 1024 * 1024; // the avatar purpose's limit (media.h)

/** The server's upload and avatar errors in words (the message stays for anything else). */
function avatarError(e: ApiError, confirming = false): ApiError {
  const words: Record<string, string> = {
    payload_too_large: 'Pick an image of 5 MB or less.',
    unsupported_media_type: 'Pick a JPEG, PNG or WebP image.',
    media_not_ready: 'The picture has not finished uploading. Try again.',
    media_not_usable: 'That picture cannot be used. Pick it again.',
    media_in_use: 'That picture is already in use. Pick it again.',
    not_found: 'The upload expired. Pick the picture again.',
    rate_limited: 'Too many uploads. Wait a moment and try again.',
    expired: 'The upload took too long. Pick the picture again.',
    upload_missing: 'The picture did not arrive. Pick it again.',
  };
  // at confirm the server has read the bytes: a refused type means the file is not a picture
  if (confirming && e.code === 'invalid_argument') return { ...e, message: 'That file is not a JPEG, PNG or WebP picture.' };
  if (e.code === 'invalid_argument' && (e.field === 'content_type' || e.field === 'size'))
    return { ...e, message: e.field === 'size' ? words.payload_too_large : words.unsupported_media_type };
  return words[e.code] ? { ...e, message: words[e.code] } : e;
}
function failedWords(reason?: string, error?: string): string {
  switch (reason) {
    case 'verification_failed': case 'image_refused': return 'That file is not a picture we can use. Pick a JPEG, PNG or WebP image.';
    case 'file_changed': return 'The picture changed while it was uploading. Pick it again.';
    case 'processing_failed': return 'The picture could not be processed right now. Try again in a few minutes.';
    default: return error || 'The picture could not be used.';
  }
}

export function Settings() {
  const { tokens, me, refreshMe } = useSession();
  const [name, setName] = useState('');
  const [handle, setHandle] = useState('');
  const [bio, setBio] = useState('');
  const [err, setErr] = useState<ApiError>();
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const [pic, setPic] = useState<'uploading' | 'processing'>(); // the avatar's progress
  const welcome = new URLSearchParams(location.search).has('welcome');
  useEffect(() => { if (!tokens) navigate('/signin?next=/settings', true); }, [tokens]);
  // The profile fills the form when it arrives, but never over what was already typed.
  useEffect(() => {
    if (me) { setName((v) => v || me.display_name || ''); setHandle((v) => v || me.handle || ''); setBio((v) => v || me.bio || ''); }
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
  // The avatar through the upload flow: ask for an upload (purpose avatar), PUT the bytes
  // to the URL it names (this server's one-time URL, or presigned S3), confirm, then make
  // it the profile picture with PATCH /v1/me {avatar_upload_id}. The server makes the
  // resized variants in a job: until avatar_url exists the picture shows "processing".
  // (PUT /v1/me/avatar remains for older clients; this page no longer uses it.)
  const upload = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const f = input.files?.[0];
    input.value = ''; // the same file may be picked again after an error
    if (!f) return;
    setErr(undefined); setSaved(''); setPic(undefined);
    if (!AVATAR_TYPES.includes(f.type)) return setErr({ code: 'unsupported_media_type', message: 'Pick a JPEG, PNG or WebP image.' });
    if (f.size > AVATAR_MAX) return setErr({ code: 'too_large', message: 'Pick an image of 5 MB or less.' });
    setPic('uploading');
    const fail = (x: ApiError) => { setPic(undefined); setErr(x); };
    const u = await api.POST('/v1/uploads', { body: { purpose: 'avatar', content_type: f.type, size: f.size } }).catch((x) => ({ data: undefined, error: x }));
    if (u.error || !u.data?.data) return fail(avatarError(errorOf(u.error)));
    const up = u.data.data;
    // the browser sets Content-Length itself; the type must be the one declared
    const put = await fetch(up.upload.url.startsWith('/') ? API_URL + up.upload.url : up.upload.url,
      { method: 'PUT', body: f, headers: { 'Content-Type': up.upload.headers['Content-Type'] } }).catch(() => null);
    if (!put || !put.ok) return fail({ code: 'upload_failed', message: 'The picture could not be sent. Check your connection and try again.' });
    const c = await api.POST('/v1/uploads/{id}/confirm', { params: { path: { id: String(up.id) } } }).catch((x) => ({ data: undefined, error: x }));
    if (c.error) return fail(avatarError(errorOf(c.error), true));
    const p = await api.PATCH('/v1/me', { body: { avatar_upload_id: String(up.id) } }).catch((x) => ({ data: undefined, error: x }));
    if (p.error || !p.data?.data) return fail(avatarError(errorOf(p.error)));
    refreshMe(p.data.data);
    setPic(p.data.data.avatar_url ? undefined : 'processing');
    if (p.data.data.avatar_url) setSaved('Avatar updated.');
  };
  // While the image job runs: poll the profile until the variant's URL is there (or the
  // media failed, e.g. the file is not a picture after all).
  useEffect(() => {
    if (pic !== 'processing') return;
    let on = true, n = 0;
    const t = setInterval(async () => {
      const { data } = await api.GET('/v1/me').catch(() => ({ data: undefined }));
      const m = data?.data;
      if (!on || !m) return;
      if (m.avatar_url) { refreshMe(m); setPic(undefined); setSaved('Avatar updated.'); return; }
      const a = m.avatar as { status?: string; error?: string; reason?: string } | undefined;
      if (a?.status === 'failed' || !a) {
        refreshMe(m); setPic(undefined);
        setErr({ code: a?.reason || 'processing_failed', message: a?.status === 'failed' ? failedWords(a.reason, a.error) : 'The picture was replaced or removed.' });
        return;
      }
      if (++n > 60) { setPic(undefined); setErr({ code: 'slow', message: 'The picture is taking long to process. Reload the page in a minute.' }); }
    }, 1000);
    return () => { on = false; clearInterval(t); };
  }, [pic]);

  return (
    <Shell title="Settings">
      <section class="narrow">
        <h1>Your profile</h1>
        {welcome && <p class="note" role="status">Welcome to VidZo! Pick a name and a picture so people know who you are.</p>}
        <div class="avatar-row">
          <Avatar url={me?.avatar_url} name={name || me?.handle || ''} size={72} />
          <div>
            <input id="avatar" class="file" type="file" accept="image/jpeg,image/png,image/webp" onChange={upload} aria-describedby="avatar-hint avatar-state" disabled={!!pic} />
            <label for="avatar" class="btn small ghost" aria-disabled={!!pic}>Change picture</label>
            <p class="hint" id="avatar-hint">JPEG, PNG or WebP, up to 5 MB.</p>
            <p class="hint" id="avatar-state" role="status" aria-live="polite">
              {pic === 'uploading' ? 'Uploading…' : pic === 'processing' ? 'Processing your picture…' : ''}
            </p>
          </div>
        </div>
        <form onSubmit={save}>
          {/* disabled until the profile has loaded: its arrival fills these fields, and would
              otherwise overwrite what someone typed first */}
          <fieldset class="plain" disabled={!me?.id} aria-busy={!me?.id}>
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
          </fieldset>
          {me?.id && <Link href={`/u/${me.id}`} class="link">View your profile</Link>}
        </form>
      </section>
    </Shell>
  );
}
