// k_chat: live chat (issue 19) over three instances. Clients of one stream's room on
// every instance see each message once; a ban takes the user's sockets out of the room
// on every instance at once; kill -9 of the instance a sender is on, mid-chat, loses no
// message it acknowledged (acks come after the group commit), and the history read on
// another instance has every acknowledged one.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as c from './cluster.mjs';
import { newUser } from '../e2e/lib.mjs';

const require = createRequire(`${process.env.VZ_MULTI_ROOT || process.cwd()}/tests/package.json`);
let io;
try { ({ io } = require('socket.io-client')); } catch { io = null; }

const url = (i) => `http://127.0.0.1:${c.PORTS[i]}`;
const user = (i, p) => newUser(p, { base: url(i), dataDir: join(c.WORK, `data-${i + 1}`) });
async function sock(i, token, opts = {}) {
  const s = io(`${url(i)}/`, { forceNew: true, reconnection: false, transports: ['websocket'], ...(token ? { auth: { token } } : {}), ...opts });
  await c.connected(s);
  return s;
}
const ask = (s, ev, arg) => s.timeout(8000).emitWithAck(ev, arg);
async function ok(s, ev, arg) {
  const r = await ask(s, ev, arg);
  assert.ok(r && r.data, `${ev}: ${JSON.stringify(r)}`);
  return r.data;
}
async function liveStream(i) {
  const host = await user(i, 'mhost');
  const st = await c.call(c.PORTS[i], 'POST', '/v1/streams', { token: host.token, body: { title: 'multi chat' } });
  assert.equal(st.status, 201, st.text);
  const live = await c.call(c.PORTS[i], 'POST', `/v1/test/streams/${st.json.data.id}/live`, { token: host.token });
  assert.equal(live.status, 200, live.text);
  return { host, stream: st.json.data.id };
}

export default [{
  name: 'chat: one room over three instances; a ban removes the sockets on every instance',
  timeout: 40000,
  async fn(t) {
    if (!io) t.skip('socket.io-client is not installed under tests/node_modules');
    const { host, stream } = await liveStream(0);
    const viewer = await user(1, 'mview');
    const h = await sock(0, host.token);
    const vs = [await sock(0, viewer.token), await sock(1, viewer.token), await sock(2, viewer.token)];
    const anon = [await sock(1), await sock(2)];
    const all = [h, ...vs, ...anon];
    try {
      for (const s of all) await ok(s, 'chat:join', { stream_id: stream });
      for (const s of all) { s.got = []; s.on('chat:message', (m) => s.got.push(m.text)); }
      for (let k = 0; k < 3; k++) await ok(h, 'chat:send', { stream_id: stream, text: `m${k}` });
      await ok(vs[2], 'chat:send', { stream_id: stream, text: 'from 3' });
      await c.waitFor(() => all.every((s) => s.got.length === 4), 5000, 'every client has the 4 messages');
      for (const s of all) assert.deepEqual(s.got.slice(0, 3), ['m0', 'm1', 'm2'], 'in order');
      const t0 = Date.now();
      await ok(h, 'chat:ban', { stream_id: stream, user_id: viewer.id });
      // the banned user's sockets on all three instances are out of the room: a send is
      // refused as not_in_room on each, and room messages stop reaching them
      for (const s of vs) {
        let r;
        const t1 = Date.now();
        while ((r = await ask(s, 'chat:send', { stream_id: stream, text: 'x' })).error?.code !== 'not_in_room' && Date.now() - t1 < 2000) await c.sleep(50);
        assert.equal(r.error?.code, 'not_in_room', JSON.stringify(r));
      }
      const spread = Date.now() - t0;
      for (const s of all) s.got.length = 0;
      await c.sleep(1100); // the host's own token bucket (burst 3, 1/s)
      await ok(h, 'chat:send', { stream_id: stream, text: 'after ban' });
      await c.waitFor(() => anon.every((s) => s.got.length === 1), 5000, 'anonymous viewers still hear');
      await c.sleep(300);
      for (const s of vs) assert.deepEqual(s.got, [], 'the banned sockets hear nothing');
      assert.equal((await ask(vs[1], 'chat:join', { stream_id: stream })).error?.code, 'banned');
      t.log(`4 messages reached 6 clients on 3 instances; a ban emptied the room of the user's 3 sockets within ${spread} ms`);
    } finally { all.forEach((s) => s.close()); }
  },
}, {
  name: 'chat: kill -9 of the sender\'s instance mid-chat loses no acknowledged message',
  timeout: 60000,
  async fn(t) {
    if (!io) t.skip('socket.io-client is not installed under tests/node_modules');
    const { host, stream } = await liveStream(0);
    const h0 = await sock(0, host.token);
    await ok(h0, 'chat:join', { stream_id: stream });
    await ok(h0, 'chat:settings', { stream_id: stream, rate_per_s: 20, burst: 50 }); // the sender's pace: 20/s
    h0.close();
    const s = await sock(1, host.token);
    await ok(s, 'chat:join', { stream_id: stream });
    const acked = [];
    let sent = 0, stopped = false;
    const pump = (async () => {
      while (!stopped && s.connected) {
        const k = sent++;
        s.timeout(5000).emit('chat:send', { stream_id: stream, text: `k${k}` }, (e, r) => { if (!e && r?.data) acked.push(r.data.id); });
        await c.sleep(50);
      }
    })();
    await c.sleep(3000);
    const killedAt = acked.length;
    await c.stop(1, 'SIGKILL');
    stopped = true;
    await pump;
    assert.ok(killedAt > 20, `${killedAt} acks before the kill`);
    // every acknowledged message is in the history, read through another instance
    const ids = new Set();
    let before = '';
    for (let page = 0; page < 50; page++) {
      const r = await c.call(c.PORTS[2], 'GET', `/v1/streams/${stream}/chat?limit=100${before}`);
      assert.equal(r.status, 200, r.text);
      for (const m of r.json.data) ids.add(m.id);
      if (!r.json.next_cursor) break;
      before = `&cursor=${r.json.next_cursor}`;
    }
    const lost = acked.filter((id) => !ids.has(id));
    assert.deepEqual(lost, [], `${lost.length} acknowledged messages lost`);
    c.start(1);
    await c.waitReady(1);
    await c.waitBalancerUp(1);
    t.log(`sent ${sent}, acknowledged ${acked.length} (${killedAt} before kill -9), all ${acked.length} in history; ${ids.size} stored`);
  },
}, {
  name: 'chat: Redis down: chat on the sender\'s instance goes on, history is written; back up: across instances',
  timeout: 60000,
  async fn(t) {
    if (!io) t.skip('socket.io-client is not installed under tests/node_modules');
    if (!c.REDIS_URL || process.env.VZ_MULTI_REDIS_CONTROL !== '1') t.skip('Redis is not ours to stop (VZ_MULTI_REDIS_CONTROL unset)');
    const redis = (cmd) => execFileSync('sh', [`${process.env.VZ_MULTI_ROOT || process.cwd()}/tests/support/redis.sh`, cmd], { encoding: 'utf8' }).trim();
    const { host, stream } = await liveStream(0);
    const h = await sock(0, host.token), local = await sock(0), remote = await sock(1);
    let down = false;
    try {
      for (const s of [h, local, remote]) { await ok(s, 'chat:join', { stream_id: stream }); s.got = []; s.on('chat:message', (m) => s.got.push(m.text)); }
      await ok(h, 'chat:send', { stream_id: stream, text: 'before' });
      await c.waitFor(() => local.got.length === 1 && remote.got.length === 1, 5000, 'the message before the outage');
      redis('stop');
      down = true;
      const acked = [];
      for (let k = 0; k < 3; k++) acked.push((await ok(h, 'chat:send', { stream_id: stream, text: `down-${k}` })).id);
      await c.waitFor(() => local.got.length === 4, 5000, 'same-instance delivery while Redis is down');
      assert.deepEqual(local.got.slice(1), ['down-0', 'down-1', 'down-2']);
      const hist = await c.call(c.PORTS[1], 'GET', `/v1/streams/${stream}/chat?limit=10`);
      assert.equal(hist.status, 200);
      for (const id of acked) assert.ok(hist.json.data.some((m) => m.id === id), 'in the history, read on another instance');
      redis('start');
      down = false;
      let k = 0;
      const t0 = Date.now();
      while (!remote.got.some((g) => g.startsWith('back-')) && Date.now() - t0 < 20000) {
        const r = await ask(h, 'chat:send', { stream_id: stream, text: `back-${k++}` });
        if (r.error && r.error.code !== 'rate_limited') throw new Error(JSON.stringify(r));
        await c.sleep(1000);
      }
      assert.ok(remote.got.some((g) => g.startsWith('back-')), 'across instances again');
      t.log(`Redis down: 3 messages acked, delivered on the sender's instance and stored; back up after ${Date.now() - t0} ms`);
    } finally {
      if (down) redis('start');
      [h, local, remote].forEach((s) => s.close());
    }
  },
}];
