// Watch a stream: HLS (hls.js light build, low-latency settings), viewer count, follow the
// host, and the chat panel. Ended streams play their replay. Anonymous visitors watch and
// read; sending needs an account.
import Hls from 'hls.js/light';
import { useEffect, useRef, useState } from 'preact/hooks';
import { FollowButton } from '../follow';
import { Link } from '../router';
import { getStream, heartbeat, type Stream } from '../streams';
import { fmtCount, fmtWhen, Shell } from '../ui';
import { NotFound } from './NotFound';
import { ChatPanel } from './Chat';

function Player({ src, live, onLatency }: { src: string; live: boolean; onLatency: (ms: number | undefined) => void }) {
  const v = useRef<HTMLVideoElement>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const video = v.current!;
    let hls: Hls | null = null;
    if (Hls.isSupported()) {
      hls = new Hls(live ? {
        lowLatencyMode: true,          // LL-HLS parts when the origin offers them
        liveSyncDurationCount: 2,      // 2 x 1 s fragments behind the edge
        liveMaxLatencyDurationCount: 5,
        maxLiveSyncPlaybackRate: 1.15, // catch up gently instead of jumping
        backBufferLength: 30,
      } : { backBufferLength: 90 });
      hls.on(Hls.Events.ERROR, (_e, d) => {
        if (!d.fatal) return;
        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) { setErr('Reconnecting to the stream…'); setTimeout(() => hls?.startLoad(), 2000); }
        else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls?.recoverMediaError();
        else setErr('This stream cannot be played.');
      });
      hls.on(Hls.Events.FRAG_BUFFERED, () => setErr(''));
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src; // Safari: native HLS
    } else setErr('This browser cannot play HLS video.');
    video.play().catch(() => { video.muted = true; video.play().catch(() => undefined); }); // autoplay rules: muted is allowed
    const t = setInterval(() => onLatency(hls?.latency ? Math.round(hls.latency * 1000) : undefined), 5000);
    return () => { clearInterval(t); hls?.destroy(); };
  }, [src]);
  return (
    <div class="player">
      <video ref={v} id="video" controls playsInline autoPlay aria-label={live ? 'Live video' : 'Replay video'} />
      {err && <p class="overlay" role="status">{err}</p>}
    </div>
  );
}

export function Watch({ params }: { params: Record<string, string> }) {
  const [s, setS] = useState<Stream | null | undefined>(undefined);
  const [viewers, setViewers] = useState<number | undefined>();
  const [delay, setDelay] = useState<number | undefined>(); // the player's delay behind the live edge (ms)
  const inRoom = useRef(false);
  const delayRef = useRef<number | undefined>(); // the latest delay, for the heartbeat
  const beatNow = useRef<() => void>(); // set while heartbeats run
  const onLatency = (ms: number | undefined) => {
    const first = delayRef.current === undefined && ms !== undefined;
    delayRef.current = ms; setDelay(ms);
    // the first measurement goes out at once, not up to interval_s later: the host's
    // figures (and auction fairness) know this player's delay from its first seconds
    if (first) beatNow.current?.();
  };
  useEffect(() => {
    let on = true;
    const load = () => getStream(params.id).then((r) => {
      if (!on) return;
      if (r.status === 404 || (r.error && !r.data)) { setS((old) => (old === undefined ? null : old)); return; }
      setS(r.data!); if (r.data!.viewers !== undefined) setViewers(r.data!.viewers);
    });
    load();
    const t = setInterval(load, 15000); // live ↔ ended changes; chat pushes counts faster
    return () => { on = false; clearInterval(t); };
  }, [params.id]);
  // Analytics counts HLS viewers and watch time by heartbeat, every interval_s (30 s) while
  // the page plays a live stream; leaving says so at once.
  useEffect(() => {
    if (s?.status !== 'live') return;
    let t: ReturnType<typeof setTimeout>;
    let on = true, seq = 0;
    const beat = async () => {
      clearTimeout(t);
      const mine = ++seq; // an early beat while one is in flight: only the newest re-arms the timer
      // the server takes 0..120000 ms; a larger figure is a stalled or paused player: not sent
      const d = delayRef.current;
      const delay_ms = d !== undefined && Number.isFinite(d) && d >= 0 && d <= 120000 ? Math.round(d) : undefined;
      const r = await heartbeat(params.id, { in_room: inRoom.current, ...(delay_ms !== undefined ? { delay_ms } : {}) });
      if (on && mine === seq) t = setTimeout(beat, Math.max(5, r.data?.interval_s ?? 30) * 1000);
    };
    beat();
    beatNow.current = beat;
    const bye = () => { heartbeat(params.id, { leaving: true }); };
    window.addEventListener('pagehide', bye);
    return () => { on = false; beatNow.current = undefined; clearTimeout(t); window.removeEventListener('pagehide', bye); bye(); };
  }, [params.id, s?.status]);

  if (s === null) return <NotFound />;
  if (!s) return <Shell title="Stream"><p class="muted" aria-live="polite">Loading…</p></Shell>;
  const host = s.host?.display_name || s.host?.handle || 'the host';
  const src = s.status === 'live' ? s.hls_url : s.status === 'ended' ? s.replay?.hls_url : null;
  return (
    <Shell title={s.title}>
      <div class="watch">
        <section class="stage" aria-labelledby="w-title">
          {src ? <Player src={src} live={s.status === 'live'} onLatency={onLatency} />
            : <div class="player empty" role="status">
                {s.status === 'scheduled' ? `Starts ${s.scheduled_at ? fmtWhen(s.scheduled_at) : 'soon'}`
                  : s.status === 'ended' ? (s.replay?.status === 'failed' || s.replay?.status === 'empty' ? 'This stream has no replay.' : 'The replay is being prepared.') : s.status === 'cancelled' ? 'This stream was cancelled.' : 'Waiting for the stream…'}
              </div>}
          <div class="info">
            <h1 id="w-title">{s.title}</h1>
            <p class="muted">
              {s.status === 'live' && <><span class="badge live">LIVE</span> <span id="viewer-count" aria-live="off">{fmtCount(viewers ?? 0)}</span> watching · {delay !== undefined && <><span id="delay">{(delay / 1000).toFixed(1)} s behind live</span> · </>}</>}
              {s.status === 'ended' && <>Replay · </>}
              {s.host?.id ? <Link href={`/u/${s.host.id}`}>{host}</Link> : host}
            </p>
            {s.host?.id && <FollowButton userId={s.host.id} name={host} />}
            {s.description && <p class="bio">{s.description}</p>}
          </div>
        </section>
        <ChatPanel stream={s} onViewers={setViewers} onJoined={(j) => { inRoom.current = j; }} />
      </div>
    </Shell>
  );
}
