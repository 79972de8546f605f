// streams/ingest.mjs: going live for real. Each story runs its own vidzo with --rtmp, so
// vidzo generates and supervises a real nginx + libnginx-mod-rtmp, and pushes an ffmpeg
// test pattern at it: live, HLS advancing, thumbnail, grace, recording -> replay; the
// refusals (wrong, rotated key, second publisher, ended stream); nginx killed and
// restarted. Slow (real encoders): they run once per suite, where VZ_MEDIA=1
// (tests/run.sh: VZ_MEDIA_LABEL, debug-sqlite). Ports: VZ_TEST_PORT + 10..19.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { story, api, expectStatus, expectError, assert, newUser, withServer, sleep } from '../lib.mjs';

const BASE_PORT = Number(process.env.VZ_TEST_PORT || 18080) + 10;
let next = 0;
const ports = () => { const r = BASE_PORT + (next % 5) * 2; next++; return { rtmp: r, hls: r + 1 }; };
const rtmpArgs = (p, grace) => ['--rtmp', '--rtmp-port', String(p.rtmp), '--hls-port', String(p.hls),
  '--rtmp-host', '127.0.0.1', '--stream-grace', String(grace), '--dev'];

// An encoder: ffmpeg pushing a 30 fps test pattern with a tone, H.264 yuv420p + AAC.
function encoder(p, key) {
  const child = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${p.rtmp}/live/${key}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig, err })));
  return { child, exited, stop: () => { child.kill('SIGKILL'); return exited; } };
}

async function waitFor(what, fn, ms = 15000, every = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const show = async (base, id, token) => expectStatus(await api('GET', `/v1/streams/${id}`, { base, token }), 200).json.data;
const get = async (url) => { try { const r = await fetch(url); return { status: r.status, text: await r.text(), type: r.headers.get('content-type') }; } catch { return { status: 0, text: '' }; } };
const refused = async (enc) => {
  const r = await Promise.race([enc.exited, sleep(8000).then(() => null)]);
  if (!r) { await enc.stop(); assert.fail('the publish was not refused within 8 s'); }
  assert.notEqual(r.code, 0, 'ffmpeg exits with an error when the publish is refused');
};
const sql = (dir, q) => execFileSync('sqlite3', ['-cmd', '.timeout 5000', `${dir}/vidzo.db`, q]).toString().trim();

story('OBS-style push: live, HLS advances, thumbnail, encoder stops, grace ends it, the replay appears', async () => {
  const p = ports();
  await withServer({ args: rtmpArgs(p, 3) }, async ({ url, dir }) => {
    const host = await newUser('live', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'Test pattern', tags: ['test'] } }), 201).json.data;
    assert.equal(s.ingest_url, `rtmp://127.0.0.1:${p.rtmp}/live`);
    const enc = encoder(p, s.stream_key);
    const live = await waitFor('live', async () => { const x = await show(url, s.id); return x.status === 'live' && x; });
    assert.ok(live.started_at);
    assert.equal(live.hls_url, `http://127.0.0.1:${p.hls}/hls/${s.id}/index.m3u8`, 'named by id: no key in any URL');
    assert.ok(!live.hls_url.includes(s.stream_key));
    const seq = (t) => Number((/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(t) || [])[1]);
    const first = await waitFor('the HLS playlist', async () => { const r = await get(live.hls_url); return r.status === 200 && /#EXTINF/.test(r.text) && r; });
    assert.match(first.type, /mpegurl/);
    // 1 s fragments once running (the stream's first one also holds the encoder's start-up)
    const steady = await waitFor('four segments', async () => { const r = await get(live.hls_url); return seq(r.text) >= 2 && (r.text.match(/#EXTINF/g) || []).length >= 3 && r.text; }, 10000);
    const durs = [...steady.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(durs.every((d) => d <= 1.6) && durs.some((d) => d >= 0.9), `1 s fragments: ${steady}`);
    const seg = /^(\d{13})\.ts$/m.exec(first.text);
    assert.ok(seg && Math.abs(Number(seg[1]) - Date.now()) < 15000, 'segments are named by their wall-clock ms');
    const segRes = await fetch(`http://127.0.0.1:${p.hls}/hls/${s.id}/${seg[1]}.ts`);
    assert.equal(segRes.status, 200);
    await waitFor('the playlist to advance', async () => seq((await get(live.hls_url)).text) > seq(first.text), 8000);
    const feed = expectStatus(await api('GET', '/v1/streams?status=live', { base: url }), 200).json.data;
    assert.deepEqual(feed.map((x) => x.id), [s.id]);
    assert.equal(feed[0].thumbnail_url, `http://127.0.0.1:${p.hls}/thumbs/${s.id}.jpg`, 'the live thumbnail shows in feeds');
    const thumb = await waitFor('the live thumbnail', async () => { const r = await fetch(feed[0].thumbnail_url); return r.status === 200 && r; }, 20000);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    // the encoder goes away and does not come back: the grace (3 s) ends the stream
    await enc.stop();
    await sleep(1500);
    assert.equal((await show(url, s.id)).status, 'live', 'within the grace the stream stays live');
    const ended = await waitFor('ended', async () => { const x = await show(url, s.id); return x.status === 'ended' && x; });
    assert.equal(ended.hls_url, null);
    const replay = await waitFor('the replay', async () => { const x = await show(url, s.id); return x.replay?.status === 'ready' && x.replay; }, 30000);
    const vod = await get(replay.hls_url);
    assert.equal(vod.status, 200);
    assert.match(vod.text, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.match(vod.text, /#EXT-X-ENDLIST/);
    assert.ok(replay.duration_ms > 3000, `replay of the pushed seconds: ${replay.duration_ms} ms`);
    const mp4 = await fetch(replay.mp4_url);
    assert.equal(mp4.status, 200);
    assert.ok((await mp4.arrayBuffer()).byteLength > 10000);
    const replays = expectStatus(await api('GET', '/v1/streams?status=ended', { base: url }), 200).json.data;
    assert.equal(replays[0].id, s.id);
    assert.equal(replays[0].replay.status, 'ready');
    assert.equal(sql(dir, `SELECT count(*) FROM jobs WHERE queue LIKE 'ev.%' OR queue LIKE 'streams.%'`) > 0, true);
  });
}, { only: 'VZ_MEDIA', timeout: 120000 });

story('refused publishes: wrong key, rotated key, a second publisher, an ended stream; a drop within the grace keeps one session', async () => {
  const p = ports();
  await withServer({ args: rtmpArgs(p, 8) }, async ({ url, dir }) => {
    const host = await newUser('live', { base: url, dataDir: dir });
    await refused(encoder(p, 'live_' + 'x'.repeat(38)));
    await refused(encoder(p, 'not-a-key'));
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'keys' } }), 201).json.data;
    const k2 = expectStatus(await api('POST', `/v1/streams/${s.id}/key`, { base: url, token: host.token }), 200).json.data.stream_key;
    await refused(encoder(p, s.stream_key));
    assert.equal((await show(url, s.id)).status, 'scheduled', 'a refused key changes nothing');
    const a = encoder(p, k2);
    await waitFor('live', async () => (await show(url, s.id)).status === 'live');
    await refused(encoder(p, k2)); // the same key while someone publishes with it
    assert.equal(await Promise.race([a.exited.then(() => 'exited'), sleep(500).then(() => 'running')]), 'running', 'the first publisher keeps going');
    // another stream of the same host cannot go live while this one is
    const other = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'second' } }), 201).json.data;
    await refused(encoder(p, other.stream_key));
    assert.equal((await show(url, other.id)).status, 'scheduled', 'one live stream per host');
    // drop and come back within the grace: the same session
    await a.stop();
    await waitFor('the drop to be seen', async () => sql(dir, `SELECT count(*) FROM stream_sessions WHERE stream_id = ${s.id} AND disconnected_at IS NOT NULL`) === '1', 8000);
    const b = encoder(p, k2);
    await waitFor('the resume', async () => sql(dir, `SELECT reconnects FROM stream_sessions WHERE stream_id = ${s.id}`) === '1', 8000);
    assert.equal(sql(dir, `SELECT count(*) FROM stream_sessions WHERE stream_id = ${s.id}`), '1', 'one session');
    assert.equal((await show(url, s.id)).status, 'live');
    await sleep(9000); // past the first drop's grace: the resumed session must not be ended by it
    assert.equal((await show(url, s.id)).status, 'live', 'the stale grace job leaves a resumed session alone');
    // the host ends it while the encoder still pushes: ended now, the encoder is cut off
    const ended = expectStatus(await api('POST', `/v1/streams/${s.id}/end`, { base: url, token: host.token }), 200).json.data;
    assert.equal(ended.status, 'ended');
    const r = await Promise.race([b.exited, sleep(8000).then(() => null)]);
    if (!r) { await b.stop(); assert.fail('the encoder was not disconnected when the stream ended'); }
    await refused(encoder(p, k2));
    expectError(await api('POST', `/v1/streams/${s.id}/end`, { base: url, token: host.token }), 409, 'conflict');
    const ev = sql(dir, `SELECT count(*) FROM stream_sessions WHERE stream_id = ${s.id} AND ended_at IS NOT NULL`);
    assert.equal(ev, '1');
    await waitFor('the replay', async () => (await show(url, s.id)).replay?.status === 'ready', 30000);
  });
}, { only: 'VZ_MEDIA', timeout: 150000 });

story('nginx-rtmp killed: logged, restarted by the supervisor, in /readyz meanwhile; its publisher gets the grace', async () => {
  const p = ports();
  await withServer({ args: rtmpArgs(p, 2) }, async ({ url, dir, log }) => {
    const host = await newUser('live', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'crash' } }), 201).json.data;
    const enc = encoder(p, s.stream_key);
    await waitFor('live', async () => (await show(url, s.id)).status === 'live');
    const pid = Number(readFileSync(`${dir}/streams/nginx.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL');
    // between the death and the restart (250 ms backoff) /readyz says why it is not ready
    const down = await waitFor('/readyz to report nginx down', async () => {
      const r = await api('GET', '/readyz', { base: url });
      return r.status === 503 && r;
    }, 3000, 10).catch(() => null);
    assert.ok(down, '/readyz never showed the dead nginx');
    assert.match(down.json.error.message, /nginx-rtmp is down \(killed by signal 9; 1 restarts\)/);
    await waitFor('the death in the log', async () => /nginx-rtmp died; restarting/.test(log()), 5000);
    await waitFor('a new nginx', async () => {
      try { const n = Number(readFileSync(`${dir}/streams/nginx.pid`, 'utf8')); return n && n !== pid && (await get(`http://127.0.0.1:${p.hls}/health`)).status === 200; } catch { return false; }
    }, 10000);
    expectStatus(await api('GET', '/readyz', { base: url }), 200);
    await enc.exited; // ffmpeg gives up when its server goes away
    await waitFor('ended after the grace', async () => (await show(url, s.id)).status === 'ended', 15000);
    // and the new nginx takes a new stream
    const s2 = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'after' } }), 201).json.data;
    const e2 = encoder(p, s2.stream_key);
    await waitFor('live again', async () => (await show(url, s2.id)).status === 'live');
    await e2.stop();
  });
}, { only: 'VZ_MEDIA', timeout: 90000 });

story('--transcode: the HLS URL is a master playlist of the source and a 480p rendition, both advancing', async () => {
  const p = ports();
  await withServer({ args: [...rtmpArgs(p, 3), '--transcode', '--stream-thumbs=false'] }, async ({ url, dir }) => {
    const host = await newUser('abr', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'abr' } }), 201).json.data;
    const enc = encoder(p, s.stream_key);
    const live = await waitFor('live', async () => { const x = await show(url, s.id); return x.status === 'live' && x; });
    assert.equal(live.hls_url, `http://127.0.0.1:${p.hls}/abr/${s.id}.m3u8`);
    const master = await waitFor('the master playlist', async () => { const r = await get(live.hls_url); return r.status === 200 && r.text; }, 20000);
    const variants = [...master.matchAll(/^(\S+\.m3u8)$/gm)].map((m) => m[1]);
    assert.deepEqual(variants, [`${s.id}_src/index.m3u8`, `${s.id}_480p/index.m3u8`]);
    assert.match(master, /BANDWIDTH=3000000[\s\S]*BANDWIDTH=900000/);
    for (const v of variants)
      await waitFor(`segments in ${v}`, async () => /#EXTINF/.test((await get(`http://127.0.0.1:${p.hls}/abr/${v}`)).text), 20000);
    await enc.stop();
  });
}, { only: 'VZ_MEDIA', timeout: 90000 });
