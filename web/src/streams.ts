// The streams API (issue 18) as the web app uses it. Until docs/openapi.yaml lists these
// paths they go through call() with these hand-written shapes; when it does, swap to
// api.GET('/v1/streams', ...) and let the generated types replace these.
import { call } from './api';

export type StreamStatus = 'scheduled' | 'live' | 'ended' | 'cancelled';
export interface Stream {
  id: string;
  title: string;
  description?: string;
  status: StreamStatus;
  host_id: string;
  host?: { id: string; handle?: string | null; display_name?: string; avatar_url?: string | null };
  category_id?: string | null;
  tags?: string[];
  thumbnail_url?: string | null;
  scheduled_at?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  viewers?: number;
  visibility?: 'public' | 'followers';
  hls_url?: string | null;
  replay_url?: string | null;
  rtmp_url?: string;          // host only
  stream_key?: string;        // host only
}

export interface StreamQuery { status?: StreamStatus; category?: string; host?: string; following?: boolean; q?: string; limit?: number }

/** A feed: [] when the streams API is not on this server yet (404 no such endpoint). */
export async function listStreams(q: StreamQuery): Promise<{ items: Stream[]; available: boolean; error?: string }> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const r = await call<Stream[]>('GET', `/v1/streams?${qs}`);
  if (r.status === 404) return { items: [], available: false };
  if (r.error) return { items: [], available: true, error: r.error.message };
  return { items: r.data ?? [], available: true };
}

export const getStream = (id: string) => call<Stream>('GET', `/v1/streams/${encodeURIComponent(id)}`);
export const createStream = (b: { title: string; description?: string; category_id?: string; scheduled_at?: string; visibility?: string; tags?: string[] }) =>
  call<Stream>('POST', '/v1/streams', b);
export const endStream = (id: string) => call<Stream>('POST', `/v1/streams/${encodeURIComponent(id)}/end`, {});
export const cancelStream = (id: string) => call<Stream>('DELETE', `/v1/streams/${encodeURIComponent(id)}`);
export const rotateKey = (id: string) => call<Stream>('POST', `/v1/streams/${encodeURIComponent(id)}/key`, {});
export const streamAnalytics = (id: string) => call<Record<string, unknown>>('GET', `/v1/streams/${encodeURIComponent(id)}/analytics`);
/** The player's heartbeat (every 30 s): counts an HLS viewer and reports its delay. */
export const heartbeat = (id: string, b: { latency_ms?: number; watching?: boolean }) =>
  call<unknown>('POST', `/v1/streams/${encodeURIComponent(id)}/heartbeat`, b);
