// The app's one API client (clients/ts) and its signed-in state. Tokens are kept in
// localStorage so a reload stays signed in; the access token is short-lived and refreshed
// by the client on a 401.
import { createVidzoClient, errorOf, type ApiError, type SessionStore, type Tokens, type Schemas } from '@vidzo/client';
import { useEffect, useState } from 'preact/hooks';
import { API_URL } from './config';

const KEY = 'vidzo.session';
type Listener = () => void;
const listeners = new Set<Listener>();

const store: SessionStore = {
  get() {
    try { return JSON.parse(localStorage.getItem(KEY) || 'null') as Tokens | null; } catch { return null; }
  },
  set(t) {
    if (t) localStorage.setItem(KEY, JSON.stringify(t)); else localStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
};

export const api = createVidzoClient({ baseUrl: API_URL, session: store });
export { errorOf };
export type { ApiError, Schemas };
export type Profile = Schemas['Profile'];

export function signedIn(t: Schemas['Tokens']) {
  store.set({ access: t.access_token!, refresh: t.refresh_token!, userId: t.user?.id ?? '', role: t.user?.role });
}

export async function signOut() {
  const t = store.get();
  if (t) await api.POST('/v1/auth/signout', { body: { refresh_token: t.refresh } }).catch(() => undefined);
  me = null;
  meFor = '';
  store.set(null);
}

// The signed-in user's profile, shared by every component that asks (header, studio...).
let me: Profile | null = null;
let meFor = '';
export function useSession() {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = () => tick((n) => n + 1);
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  const t = store.get();
  useEffect(() => {
    if (!t || meFor === t.userId) return;
    meFor = t.userId;
    api.GET('/v1/me').then(({ data }) => { me = data?.data ?? null; listeners.forEach((l) => l()); });
  }, [t?.userId]);
  return { tokens: t, me: t && meFor === t.userId ? me : null, refreshMe: (p: Profile) => { me = p; listeners.forEach((l) => l()); } };
}

/** Calls a route the generated contract does not list yet (streams, chat history: issues
 * 18 and 19 land in parallel). Same envelope, same auth; replace with api.GET when the
 * contract has the path. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<{ data?: T; error?: ApiError; status: number; next_cursor?: string | null }> {
  const t = store.get();
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (t) headers.Authorization = `Bearer ${t.access}`;
  try {
    let r = await fetch(`${API_URL}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401 && t) { // let the typed client refresh, then repeat once
      await api.GET('/v1/me');
      const t2 = store.get();
      if (t2 && t2.access !== t.access) {
        headers.Authorization = `Bearer ${t2.access}`;
        r = await fetch(`${API_URL}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      }
    }
    const j = r.status === 204 ? {} : await r.json().catch(() => ({}));
    if (!r.ok) return { error: errorOf(j), status: r.status };
    return { data: j.data as T, next_cursor: j.next_cursor, status: r.status };
  } catch (e) {
    return { error: errorOf(e), status: 0 };
  }
}

/** The message a person should read for an API error. */
export function say(e: ApiError | undefined): string {
  if (!e) return '';
  switch (e.code) {
    case 'invalid_credentials': return 'That email and password do not match.';
    case 'email_not_verified': return 'Confirm your email first: enter the code we sent.';
    case 'rate_limited': return 'Too many tries. Wait a moment and try again.';
    case 'unauthenticated': return 'Sign in to do that.';
    default: return e.message || 'Something went wrong.';
  }
}
