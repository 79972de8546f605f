// @vidzo/client: the typed VidZo API client. The types (src/schema.d.ts) are generated from
// docs/openapi.yaml by `npm run generate` (make does it), so a route or field the server
// drops is a compile error in the apps that use it, not a 404 at run time.
//
//   const api = createVidzoClient({ baseUrl: 'https://api.example.com', session: memorySession() });
//   const { data, error } = await api.GET('/v1/users/{id}', { params: { path: { id } } });
//
// The session holds the access and refresh tokens; a 401 on a signed-in call refreshes once
// (POST /v1/auth/refresh rotates the refresh token) and repeats the call.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { paths, components, operations };
export type Schemas = components['schemas'];
export type ApiError = { code: string; message: string; field?: string; request_id?: string };

export interface Tokens { access: string; refresh: string; userId: string; role?: string }

/** Where the tokens live (memory, localStorage, a native keychain...). */
export interface SessionStore {
  get(): Tokens | null;
  set(t: Tokens | null): void;
}

export function memorySession(): SessionStore {
  let t: Tokens | null = null;
  return { get: () => t, set: (v) => { t = v; } };
}

export interface VidzoClientOptions {
  /** API origin, '' for the page's own origin (the server that serves the web app). */
  baseUrl: string;
  session: SessionStore;
  fetch?: typeof fetch;
  /** Called when the session ended (refresh refused): the app shows signed-out state. */
  onSignedOut?: () => void;
}

export type VidzoClient = Client<paths> & { session: SessionStore; baseUrl: string };

/** The error envelope of a failed call, or a synthetic one for a network failure. */
export function errorOf(e: unknown): ApiError {
  const env = e as { error?: ApiError } | undefined;
  if (env && env.error && typeof env.error.code === 'string') return env.error;
  return { code: 'network', message: 'The server could not be reached. Check your connection and try again.' };
}

export function createVidzoClient(opts: VidzoClientOptions): VidzoClient {
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const client = createClient<paths>({ baseUrl: opts.baseUrl, fetch: f }) as VidzoClient;
  let refreshing: Promise<boolean> | null = null;

  // One refresh at a time: parallel 401s wait for the same rotation (a second rotation with
  // the old refresh token would be seen as reuse and end the session).
  const refresh = (): Promise<boolean> => {
    if (refreshing) return refreshing;
    const t = opts.session.get();
    if (!t) return Promise.resolve(false);
    refreshing = (async () => {
      try {
        const r = await f(`${opts.baseUrl}/v1/auth/refresh`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: t.refresh }),
        });
        if (!r.ok) {
          if (r.status === 401 || r.status === 403) { opts.session.set(null); opts.onSignedOut?.(); }
          return false;
        }
        const d = (await r.json()).data as Schemas['Tokens'];
        opts.session.set({ access: d.access_token!, refresh: d.refresh_token!, userId: d.user?.id ?? t.userId,
          role: d.user?.role ?? t.role });
        return true;
      } catch { return false; } finally { refreshing = null; }
    })();
    return refreshing;
  };

  const auth: Middleware = {
    async onRequest({ request }) {
      const t = opts.session.get();
      if (t && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${t.access}`);
      return request;
    },
    async onResponse({ request, response }) {
      if (response.status !== 401 || !opts.session.get() || request.url.includes('/v1/auth/')) return response;
      if (!(await refresh())) return response;
      const again = request.clone();
      again.headers.set('Authorization', `Bearer ${opts.session.get()!.access}`);
      return f(again);
    },
  };
  client.use(auth);
  client.session = opts.session;
  client.baseUrl = opts.baseUrl;
  return client;
}
