// The streams API (issue 18) and its analytics as the web app uses them: typed from the
// contract (clients/ts).
import type { operations } from '@vidzo/client';
import { api, errorOf, type ApiError, type Schemas } from './api';

export type StreamStatus = 'scheduled' | 'live' | 'ended' | 'cancelled';
export type Stream = Schemas['Stream'];
export type StreamIn = operations['createStream']['requestBody']['content']['application/json'];
export type StreamQuery = NonNullable<operations['listStreams']['parameters']['query']>;
type One = { data?: Stream; error?: ApiError; status: number };

// The ingest key is in the create and rotate replies only (the server keeps its hash): the
// studio holds it in memory for this tab, never in storage.
const keys = new Map<string, string>();
export const keyOf = (id: string) => keys.get(id);

function one(r: { data?: { data?: Schemas['Stream'] }; error?: unknown; response: Response }): One {
  if (r.error || !r.data?.data) return { error: errorOf(r.error), status: r.response.status };
  const s = r.data.data as Stream;
  const key = (s as Schemas['StreamWithKey']).stream_key;
  if (key) keys.set(s.id, key);
  return { data: s, status: r.response.status };
}

/** A feed; available is false when this server has no streams API (404 on the route). */
export async function listStreams(q: StreamQuery): Promise<{ items: Stream[]; available: boolean; error?: string }> {
  try {
    const r = await api.GET('/v1/streams', { params: { query: q } });
    if (r.response.status === 404) return { items: [], available: false };
    if (r.error) return { items: [], available: true, error: errorOf(r.error).message };
    return { items: (r.data?.data ?? []) as Stream[], available: true };
  } catch { return { items: [], available: true, error: errorOf(undefined).message }; }
}

const path = (id: string) => ({ params: { path: { id } } });
export const getStream = async (id: string) => one(await api.GET('/v1/streams/{id}', path(id)));
export const createStream = async (b: StreamIn) => one(await api.POST('/v1/streams', { body: b }));
export const endStream = async (id: string) => one(await api.POST('/v1/streams/{id}/end', path(id)));
export const cancelStream = async (id: string) => one(await api.DELETE('/v1/streams/{id}', path(id)));
export const rotateKey = async (id: string) => one(await api.POST('/v1/streams/{id}/key', path(id)));
export const streamAnalytics = async (id: string): Promise<Schemas['StreamAnalytics'] | null> => {
  const r = await api.GET('/v1/streams/{id}/analytics', path(id));
  return r.data?.data ?? null;
};
/** The player's heartbeat while it plays (analytics: HLS viewers, watch time). Signed-in
 * players are counted by account; anonymous ones by a random id kept in this browser. The
 * reply says when to send the next one. delay_ms is the player's distance behind live
 * (hls.js latency), which the server keeps for the host's analytics and auction fairness. */
export function viewerId(): string {
  let v = localStorage.getItem('vidzo.viewer');
  if (!v) {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    v = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    localStorage.setItem('vidzo.viewer', v);
  }
  return v;
}
export const heartbeat = async (id: string, b: { in_room?: boolean; leaving?: boolean; delay_ms?: number }) => {
  const r = await api.POST('/v1/streams/{id}/heartbeat', { ...path(id), body: { viewer: viewerId(), ...b } }).catch(() => null);
  return { data: r?.data?.data as { interval_s?: number } | undefined };
};
