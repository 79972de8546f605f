// Ingest latency (issue 18): wall-clock from a frame's capture to the HLS segment that
// holds it being listed in the playlist, and to an HLS player (ffmpeg's HLS demuxer,
// started at the live edge) decoding it.
//   flock /work/wt/bench.lock node bench/ingest-latency.mjs [seconds=40]
// Starts build/release/vidzo --rtmp on private ports (VZ_BENCH_PORT, default 18330..18332),
// an ffmpeg encoder pushing a 30 fps test pattern with the capture time burnt in
// (drawtext), and polls the playlist every 10 ms. Capture times: the encoder runs with
// -re and prints each frame as its filters take it (showinfo), so the frame at pts t is
// captured at T0 + t, T0 being when frame 0 was printed. A segment's first pts is the
// RTMP timestamp (the encoder's pts) plus nginx-rtmp's hls_muxdelay, 0.7 s by default,
// which ingest.c leaves unset. The player keeps those timestamps (-copyts).
// Prints p50/p90/max per measure.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECS = Number(process.argv[2] || 40);
const P = Number(process.env.VZ_BENCH_PORT || 18330);
const HTTP = P, RTMP = P + 1, HLS = P + 2;
const bin = process.env.VIDZO_BIN || join(root, 'build/release/vidzo');
const dir = mkdtempSync(join(tmpdir(), 'vz-lat-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kids = [];
const cleanup = () => { for (const k of kids) { try { k.kill('SIGKILL'); } catch {} } rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);

const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (a) => `p50 ${q(a, 0.5).toFixed(0)} ms, p90 ${q(a, 0.9).toFixed(0)} ms, max ${Math.max(...a).toFixed(0)} ms (n=${a.length})`;

execFileSync(bin, ['admin', 'create', '--email', 'lat@vidzo.local', '--password', 'Latency-pass-2026', '--data-dir', dir, '--log-level', 'error'],
  { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' } });
const server = spawn(bin, ['serve', '--port', String(HTTP), '--bind', '127.0.0.1', '--threads', '1', '--data-dir', dir,
  '--log-level', 'warn', '--rtmp', '--rtmp-port', String(RTMP), '--hls-port', String(HLS), '--rtmp-host', '127.0.0.1',
  '--stream-thumbs=false'], { env: { ...process.env, VIDZO_TOTP_OPTIONAL: '1' }, stdio: 'ignore' });
kids.push(server);
const base = `http://127.0.0.1:${HTTP}`;
server.on('exit', (c) => { if (c) { console.error('vidzo exited', c); process.exit(1); } });
for (let i = 0; i < 100; i++) { try { if ((await fetch(`${base}/readyz`)).ok) break; } catch {} await sleep(100); }
const token = (await (await fetch(`${base}/v1/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'lat@vidzo.local', password: 'Latency-pass-2026' }) })).json()).data.access_token;
const s = (await (await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify({ title: 'latency' }) })).json()).data;
const playlist = `http://127.0.0.1:${HLS}/hls/${s.id}/index.m3u8`;

const Tspawn = Date.now();
let T0 = Tspawn;
const enc = spawn('ffmpeg', ['-nostdin', '-loglevel', 'info', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30',
  '-vf', `drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fontsize=40:fontcolor=white:box=1:boxcolor=black:x=10:y=10:text='%{localtime\\:%H\\\\\\:%M\\\\\\:%S} %{pts}',showinfo`,
  '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-f', 'flv',
  `rtmp://127.0.0.1:${RTMP}/live/${s.stream_key}`], { stdio: ['ignore', 'ignore', 'pipe'] });
kids.push(enc);
let ebuf = '', t0set = false;
enc.stderr.on('data', (d) => {
  const t = Date.now();
  ebuf += d;
  if (!t0set && /n:\s*0 pts:\s*0 /.test(ebuf)) { T0 = t; t0set = true; }
  if (ebuf.length > 65536) ebuf = ebuf.slice(-4096);
});

const seen = new Map(); // segment -> wall time first listed
const offset = 0.7;     // hls_muxdelay
const listed = [], frames = [];
const probe = (seg) => {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=start_time,duration', '-of', 'json',
    `http://127.0.0.1:${HLS}/hls/${s.id}/${seg}`]).toString();
  const f = JSON.parse(out).format;
  return { start: Number(f.start_time), dur: Number(f.duration) };
};
const end = Date.now() + SECS * 1000;
let player = null, g2g = [];
while (Date.now() < end) {
  let text = '';
  try { const r = await fetch(playlist); if (r.ok) text = await r.text(); } catch {}
  const now = Date.now();
  for (const m of text.matchAll(/^(\d+\.ts)$/gm)) {
    if (seen.has(m[1])) continue;
    seen.set(m[1], now);
    const { start, dur } = probe(m[1]);
    if (seen.size === 1) continue; // the first segment also holds the start-up
    const first = T0 + (start - offset) * 1000;
    listed.push(now - first);                   // the segment's first (oldest) frame
    frames.push(now - (first + dur * 500));     // its middle frame: the median frame's latency
  }
  if (!player && seen.size > 3) {
    // a player joining at the live edge: ffmpeg's HLS demuxer from the newest segment
    player = spawn('ffmpeg', ['-nostdin', '-loglevel', 'info', '-live_start_index', '-1', '-copyts', '-i', playlist, '-vf', 'showinfo',
      '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    kids.push(player);
    let buf = '', warm = 0;
    player.stderr.on('data', (d) => {
      const t = Date.now();
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const m = /pts_time:([\d.]+)/.exec(line);
        if (m && ++warm > 60) g2g.push(t - (T0 + (Number(m[1]) - offset) * 1000)); // past the catch-up burst
      }
    });
  }
  await sleep(10);
}
console.log(`segments listed: ${seen.size}; encoder frame 0 at +${T0 - Tspawn} ms after its spawn`);
console.log(`capture -> listed, segment's first frame: ${fmt(listed)}`);
console.log(`capture -> listed, per frame (segment middle): ${fmt(frames)}`);
if (g2g.length) console.log(`capture -> decoded by an HLS player at the live edge (ffmpeg): ${fmt(g2g)}`);
process.exit(0);
