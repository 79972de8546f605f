// analytics.mjs: a stream's analytics equal what its test audience did. Players send
// heartbeats (anonymous and signed in), sockets sit in the stream's room, one player
// leaves, a fan follows the host; GET /v1/streams/:id/analytics then shows exactly that
// many current, peak and unique viewers and followers gained, and watch time within one
// sample period of the time the clients measured. Only the host and admins see it.
//
// Its own server: the sampler at 250 ms instead of 10 s, and the stream rooms in the
// test application's /test namespace (its "join" puts a socket in any room) until chat
// joins viewers to stream:<id> of "/". Streams go live the way nginx-rtmp makes them: its
// on_publish hook with the stream key (the secret read from the nginx config vidzo wrote),
// and end by the host's POST /v1/streams/:id/end; analytics learns both from the events.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { story, assert, api, expectStatus, expectError, newUser, sleep, withServer } from '../lib.mjs';
import { connected, ack } from '../realtime/realtime_support.mjs';

const SAMPLE_MS = 250;

async function admin(url, dir) {
  const email = 'admin@e2e.test', password = 'Admin-pass-123456';
  execFileSync(process.env.VZ_TEST_BIN, ['admin', 'create', '--email', email, '--password', password, '--if-missing',
    '--log-level', 'error', '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir],
  { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' }, stdio: 'pipe' });
  const d = expectStatus(await api('POST', '/v1/auth/signin', { base: url, body: { email, password } }), 200).json.data;
  return { id: d.user.id, token: d.access_token };
}

// nginx-rtmp's on_publish call for this key (what an encoder's connect triggers).
async function goLive(url, dir, key) {
  const secret = readFileSync(`${dir}/streams/nginx.conf`, 'utf8').match(/secret=([0-9a-f]+)/)[1];
  const r = await fetch(`${url}/internal/rtmp/publish?secret=${secret}`, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `call=publish&app=live&name=${encodeURIComponent(key)}&clientid=${Math.floor(Math.random() * 1e6)}` });
  assert.equal(r.status, 302, await r.text());
}

const BASE_PORT = Number(process.env.VZ_TEST_PORT || 18080) + 30;
let next = 0;
const opts = () => {
  const p = BASE_PORT + (next++ % 5) * 2;
  return { args: ['--dev', '--test-app', '--analytics-sample-ms', String(SAMPLE_MS), '--analytics-presence-nsp', '/test',
    '--rtmp', '--rtmp-port', String(p), '--hls-port', String(p + 1), '--rtmp-host', '127.0.0.1', '--stream-thumbs=false'],
  env: { VIDZO_TOTP_OPTIONAL: '1', VIDZO_AUTH_IP_LIMIT_SCALE: '100' } };
};

async function until(fn, what, ms = 5000) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < ms) {
    last = await fn();
    if (last.ok) return last.v;
    await sleep(50);
  }
  assert.fail(`${what}: ${JSON.stringify(last && last.v)}`);
}

story('analytics: counts equal what the viewers did; only the host and admins see them', async () => {
  await withServer(opts(), async ({ url, dir }) => {
    const host = await newUser('host', { base: url, dataDir: dir });
    const fan = await newUser('fan', { base: url, dataDir: dir });
    const other = await newUser('oth', { base: url, dataDir: dir });
    const adm = await admin(url, dir);
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'analytics e2e' } }), 201).json.data;
    const get = (tok = host.token) => api('GET', `/v1/streams/${s.id}/analytics`, { base: url, token: tok });
    const beat = (body, token) => api('POST', `/v1/streams/${s.id}/heartbeat`, { base: url, token, body });

    // before it is live: zeros for the host, heartbeats refused
    let a = expectStatus(await get(), 200).json.data;
    assert.equal(a.status, 'scheduled');
    assert.equal(a.current_viewers, 0);
    assert.deepEqual(a.minutes, []);
    expectError(await beat({ viewer: 'player-aaaaaaaaaaaa' }), 409, 'not_live', 'id');

    await goLive(url, dir, s.stream_key);
    const t = {}; // when each player's beats went out, as the client saw it
    const players = ['player-one-aaaaaaaa', 'player-two-bbbbbbbb'];
    for (const p of players) {
      const r = expectStatus(await beat({ viewer: p }), 200).json.data;
      assert.deepEqual(r, { interval_s: 30, new_viewer: true });
      t[p] = [Date.now()];
    }
    // a signed-in player; the account counts, whatever viewer id it sends
    expectStatus(await beat({ viewer: 'ignored-for-accounts-1' }, fan.token), 200);
    t.fan = [Date.now()];
    const again = expectStatus(await beat({ viewer: 'something-else-entirely' }, fan.token), 200).json.data;
    assert.equal(again.new_viewer, false);
    t.fan.push(Date.now());

    // two sockets in the stream's room
    const socks = [];
    for (const g of ['guest-a', 'guest-b']) {
      const sock = io(`${url}/test`, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token: g } });
      await connected(sock);
      assert.equal((await ack(sock, 'join', { room: `stream:${s.id}` })).ok, true);
      socks.push(sock);
    }
    const roomFrom = Date.now();
    a = await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.current_viewers === 5, v };
    }, 'current viewers = 2 in the room + 3 players');
    assert.equal(a.room_viewers, 2);
    assert.equal(a.hls_viewers, 3);
    assert.equal(a.unique_viewers, 3); // guests in the room are not identified (chat tells us signed-in ones)
    // the peak is sampled: wait for a sample that saw all five
    await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.minutes.some((m) => m.viewers_peak === 5), v };
    }, 'a minute with a peak of 5');

    // player one beats again; player two leaves
    await sleep(1200);
    expectStatus(await beat({ viewer: players[0] }), 200);
    t[players[0]].push(Date.now());
    expectStatus(await beat({ viewer: players[1], leaving: true }), 200);
    t[players[1]].push(Date.now());
    a = await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.current_viewers === 4, v };
    }, 'current viewers after one player left');
    assert.equal(a.hls_viewers, 2);
    assert.equal(a.peak_viewers, 5);

    // a fan follows the host during the stream
    expectStatus(await api('POST', `/v1/users/${host.id}/follow`, { base: url, token: other.token }), 204);
    a = await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.followers_gained === 1, v };
    }, 'followers gained');

    // the room empties; the stream ends; the figures stay
    for (const sock of socks) sock.close();
    const roomTo = Date.now();
    await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.room_viewers === 0, v };
    }, 'room empty');
    await sleep(3 * SAMPLE_MS);
    expectStatus(await api('POST', `/v1/streams/${s.id}/end`, { base: url, token: host.token }), 200);
    a = await until(async () => {
      const v = expectStatus(await get(), 200).json.data;
      return { ok: v.status === 'ended' && v.current_viewers === 0, v };
    }, 'ended');
    await sleep(3 * SAMPLE_MS); // the sampler closes it

    a = expectStatus(await get(), 200).json.data;
    const gaps = Object.values(t).reduce((sum, ts) => sum + ts.slice(1).reduce((s2, x, i) => s2 + x - ts[i], 0), 0);
    const roomMs = 2 * (roomTo - roomFrom);
    assert.equal(a.unique_viewers, 3);
    assert.equal(a.peak_viewers, 5);
    assert.equal(a.followers_gained, 1);
    assert.equal(a.chat_messages, 0);
    assert.equal(a.reactions, 0);
    // heartbeat gaps are measured by the server, room time by samples: within a sample
    // period per socket plus the presence report lag (1 s), and 200 ms per heartbeat gap
    const slack = 2 * (SAMPLE_MS + 1100) + 200 * 3;
    assert.ok(Math.abs(a.watch_time_ms - (gaps + roomMs)) <= slack,
      `watch ${a.watch_time_ms} vs clients' ${gaps} + ${roomMs} (slack ${slack})`);
    console.log(`  watch time ${a.watch_time_ms} ms, clients measured ${gaps + roomMs} ms (slack ${slack})`);
    assert.equal(a.avg_watch_time_ms, Math.floor(a.watch_time_ms / 3));
    // the series adds up to the totals
    const sum = (k) => a.minutes.reduce((x, m) => x + m[k], 0);
    assert.equal(sum('watch_time_ms'), a.watch_time_ms);
    assert.equal(sum('new_viewers'), 3);
    assert.equal(sum('followers_gained'), 1);
    assert.equal(Math.max(...a.minutes.map((m) => m.viewers_peak)), 5);
    assert.ok(a.minutes.every((m, i) => i === 0 || Date.parse(m.minute) - Date.parse(a.minutes[i - 1].minute) >= 60000));
    // heartbeats after the end are refused and change nothing
    expectError(await beat({ viewer: players[0] }), 409, 'not_live', 'id');

    // operators see the same in /metrics: 6 heartbeats counted (refused ones are not), 3 new
    const metrics = (await api('GET', '/metrics', { base: url })).text;
    const m = (name) => Number((metrics.match(new RegExp(`^${name} (\\d+)`, 'm')) || [])[1]);
    assert.equal(m('vidzo_analytics_heartbeats_total'), 6);
    assert.equal(m('vidzo_analytics_new_viewers_total'), 3);
    assert.ok(m('vidzo_analytics_ticks_total\\{outcome="taken"\\}') > 5, 'the sampler ran');
    assert.equal(m('vidzo_analytics_ticks_total\\{outcome="error"\\}'), 0);

    // who may see it
    expectStatus(await get(adm.token), 200);
    expectError(await get(fan.token), 404, 'not_found', 'id');
    const anon = await api('GET', `/v1/streams/${s.id}/analytics`, { base: url });
    expectError(anon, 401, 'unauthenticated');
    expectError(await api('GET', '/v1/streams/123456789/analytics', { base: url, token: host.token }), 404, 'not_found', 'id');
  });
});

story('heartbeat: bad input is refused naming the field; followers-only streams stay hidden', async () => {
  await withServer(opts(), async ({ url, dir }) => {
    const host = await newUser('host', { base: url, dataDir: dir });
    const fan = await newUser('fan', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token,
      body: { title: 'followers only', visibility: 'followers' } }), 201).json.data;
    await goLive(url, dir, s.stream_key);
    const beat = (body, token, id = s.id) => api('POST', `/v1/streams/${id}/heartbeat`, { base: url, token, body });
    // anonymous and a signed-in non-follower: as if there were no such stream
    expectError(await beat({ viewer: 'player-one-aaaaaaaa' }), 404, 'not_found', 'id');
    expectError(await beat({}, fan.token), 404, 'not_found', 'id');
    expectStatus(await api('POST', `/v1/users/${host.id}/follow`, { base: url, token: fan.token }), 204);
    expectStatus(await beat({}, fan.token), 200);
    expectStatus(await beat({}, host.token), 200);

    const pub = expectStatus(await api('POST', '/v1/streams', { base: url, token: fan.token, body: { title: 'public' } }), 201).json.data;
    await goLive(url, dir, pub.stream_key);
    const bad = [
      [{}, 'viewer'],                                  // anonymous without a viewer id
      [{ viewer: 'short' }, 'viewer'],                 // under 16
      [{ viewer: 'x'.repeat(65) }, 'viewer'],          // over 64
      [{ viewer: 'has spaces in it!!!' }, 'viewer'],
      [{ viewer: 'player-one-aaaaaaaa', in_room: 'yes' }, 'in_room'],
      [{ viewer: 'player-one-aaaaaaaa', leaving: 1 }, 'leaving'],
      [{ viewer: 'player-one-aaaaaaaa', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of bad) expectError(await beat(body, undefined, pub.id), 400, 'invalid_argument', field);
    expectError(await beat({ viewer: 'player-one-aaaaaaaa' }, undefined, '999999999'), 404, 'not_found', 'id');
    expectError(await beat({ viewer: 'player-one-aaaaaaaa' }, undefined, 'abc'), 404);
    const a = expectStatus(await api('GET', `/v1/streams/${pub.id}/analytics`, { base: url, token: fan.token }), 200).json.data;
    assert.equal(a.unique_viewers, 0, 'refused beats counted nothing');
    // the follower's stream: two viewers (the fan and the host's own player)
    const b = expectStatus(await api('GET', `/v1/streams/${s.id}/analytics`, { base: url, token: host.token }), 200).json.data;
    assert.equal(b.unique_viewers, 2);
    assert.equal(b.hls_viewers, 2);
  });
});

// The player's delay behind live (hls.js latency) rides on the heartbeat: kept per viewer
// (the latest; a beat without it keeps the last), summarised over current viewers as the
// median and 90th percentile by nearest rank, which live auctions will read for fairness.
story('heartbeat delay_ms: bounds; analytics shows the median and p90 of what current viewers sent', async () => {
  await withServer(opts(), async ({ url, dir }) => {
    const host = await newUser('host', { base: url, dataDir: dir });
    const fan = await newUser('fan', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'delay e2e' } }), 201).json.data;
    const get = () => api('GET', `/v1/streams/${s.id}/analytics`, { base: url, token: host.token });
    const beat = (body, token) => api('POST', `/v1/streams/${s.id}/heartbeat`, { base: url, token, body });
    // not live: no current viewers, so no delays
    assert.deepEqual(expectStatus(await get(), 200).json.data.delay, { viewers: 0, median_ms: null, p90_ms: null });
    await goLive(url, dir, s.stream_key);
    assert.deepEqual(expectStatus(await get(), 200).json.data.delay, { viewers: 0, median_ms: null, p90_ms: null });

    // bounds: 0..120000 integers; anything else names the field and stores nothing
    for (const bad of [-1, 120001, 1.5, '2000', true, null])
      expectError(await beat({ viewer: 'player-bad-aaaaaaaa', delay_ms: bad }), 400, 'invalid_argument', 'delay_ms');
    assert.equal(expectStatus(await get(), 200).json.data.hls_viewers, 0);
    expectStatus(await beat({ viewer: 'player-zero-aaaaaaa', delay_ms: 0 }), 200);
    expectStatus(await beat({ viewer: 'player-max-aaaaaaaa', delay_ms: 120000 }), 200);

    // ten players at 1..10 s plus the two edges: 12 values
    const sent = [0, 120000];
    for (let i = 1; i <= 10; i++) {
      expectStatus(await beat({ viewer: `player-${String(i).padStart(2, '0')}-bbbbbbbb`, delay_ms: i * 1000 }), 200);
      sent.push(i * 1000);
    }
    // a player that sends no delay counts as a viewer but not in the delays
    expectStatus(await beat({ viewer: 'player-nodelay-cccc' }), 200);
    const rank = (vals, pct) => { const v = [...vals].sort((a, b) => a - b); return v[Math.max(1, Math.ceil(v.length * pct / 100)) - 1]; };
    let d = expectStatus(await get(), 200).json.data;
    assert.equal(d.hls_viewers, 13);
    assert.deepEqual(d.delay, { viewers: 12, median_ms: rank(sent, 50), p90_ms: rank(sent, 90) });
    assert.deepEqual(d.delay, { viewers: 12, median_ms: 5000, p90_ms: 10000 });

    // the latest delay counts; a beat without delay_ms keeps the last one
    expectStatus(await beat({ viewer: 'player-max-aaaaaaaa', delay_ms: 500 }), 200);
    sent[1] = 500;
    expectStatus(await beat({ viewer: 'player-zero-aaaaaaa' }), 200);
    d = expectStatus(await get(), 200).json.data;
    assert.deepEqual(d.delay, { viewers: 12, median_ms: rank(sent, 50), p90_ms: rank(sent, 90) });
    // a signed-in viewer in the room reports too (it is a current viewer by heartbeat)
    expectStatus(await beat({ in_room: true, delay_ms: 90000 }, fan.token), 200);
    sent.push(90000);
    d = expectStatus(await get(), 200).json.data;
    assert.deepEqual(d.delay, { viewers: 13, median_ms: rank(sent, 50), p90_ms: rank(sent, 90) });
    // players that leave no longer count
    for (const p of ['player-zero-aaaaaaa', 'player-max-aaaaaaaa'])
      expectStatus(await beat({ viewer: p, leaving: true }), 200);
    sent.splice(0, 2);
    d = expectStatus(await get(), 200).json.data;
    assert.deepEqual(d.delay, { viewers: 11, median_ms: rank(sent, 50), p90_ms: rank(sent, 90) });
    console.log(`  delay of ${d.delay.viewers} viewers: median ${d.delay.median_ms} ms, p90 ${d.delay.p90_ms} ms`);
    // the figures are the host's: a viewer gets 404
    expectError(await api('GET', `/v1/streams/${s.id}/analytics`, { base: url, token: fan.token }), 404, 'not_found', 'id');
    // after the end: no current viewers, so no delays
    expectStatus(await api('POST', `/v1/streams/${s.id}/end`, { base: url, token: host.token }), 200);
    assert.deepEqual(expectStatus(await get(), 200).json.data.delay, { viewers: 0, median_ms: null, p90_ms: null });
  });
});
