// h_sio_recovery: Socket.IO connection state recovery across instances. A listener in a
// busy chat room loses its connection and comes back on another instance: it must get
// its old socket id, stay in the room without joining again, and receive every message
// of the chat exactly once, in order. Room packets and dropped sessions live in Redis
// (one stream, keys with a TTL), so the instance it returns to can replay what it
// missed. Twice: the client itself moves to another instance while its network is down
// for 2 s; and the instance it sits on is restarted (SIGTERM) under it, as in a rolling
// deploy, and HAProxy sends it elsewhere. The instance it returns to replays from the
// memory its stream follower filled, also one started after the drop (it begins with the
// last 2 minutes of the stream); a burst past the in-memory bound (1,024 packets per
// room) is replayed from the stream itself.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as c from './cluster.mjs';

const require = createRequire(`${process.env.VZ_MULTI_ROOT || process.cwd()}/tests/package.json`);
let io;
try { ({ io } = require('socket.io-client')); } catch { io = null; }

const NSP = '/test-recovery'; // vidzo --dev: the e2e application with recovery on
const N = 300;

async function adminToken(t) {
  if (!io) t.skip('socket.io-client is not installed under tests/node_modules (make test-deps)');
  return (await c.adminSignin(t)).access_token;
}

function client(url, token, opts = {}) {
  const s = io(url + NSP, { forceNew: true, auth: { token }, transports: ['websocket'], timeout: 5000, ...opts });
  s.got = [];
  s.on('said', (m, offset) => { s.got.push(m.msg); s.offsets = (s.offsets || 0) + (/^[0-9]+$/.test(offset) ? 1 : 0); });
  return s;
}

// vidzo_realtime_recoveries_total{from="memory"|"stream"|"none"} of instance i.
async function recoveries(i) {
  const r = await c.call(c.PORTS[i], 'GET', '/metrics');
  const n = (from) => Number((r.text.match(new RegExp(`vidzo_realtime_recoveries_total\\{from="${from}"\\} (\\d+)`)) || [])[1] ?? NaN);
  return { memory: n('memory'), stream: n('stream'), none: n('none') };
}

const join = async (s, room) => assert.equal((await s.timeout(5000).emitWithAck('join', { room })).ok, true);

// The sender says 0..n-1, one every `every` ms; `drop` runs after message 60.
async function chat(sender, room, drop, { n = N, every = 10 } = {}) {
  for (let i = 0; i < n; i++) {
    sender.emit('say', { room, msg: i });
    if (i === 60) await drop();
    if (every) await c.sleep(every);
    else if (i % 100 === 0) await c.sleep(1); // let the socket flush
  }
  await sender.timeout(5000).emitWithAck('join', { room }); // the last says were handled
}

async function checkAllOnce(listener, sender, room, firstId, n = N) {
  assert.equal(listener.recovered, true, 'the session was recovered');
  assert.equal(listener.id, firstId, 'same socket id');
  await c.waitFor(() => listener.got.length >= n, 8000, `all ${n} messages (got ${listener.got.length})`).catch(() => {});
  await c.sleep(200); // a duplicate would arrive now
  const seen = new Set();
  const missing = [...Array(n).keys()].filter((k) => !listener.got.includes(k));
  const dups = listener.got.filter((m) => seen.has(m) || !seen.add(m));
  assert.deepEqual({ missing: missing.length, dups: dups.length }, { missing: 0, dups: 0 });
  assert.deepEqual(listener.got, [...Array(n).keys()], 'in order');
  assert.equal(listener.offsets, n, 'every packet carried an offset');
  // still in the room, without joining again
  sender.emit('say', { room, msg: 'after' });
  await c.waitFor(() => listener.got.includes('after'), 5000, 'a message after recovery');
}

// A listener on instance 1 (reconnecting `delay` ms after a drop) and a sender on
// instance 2, both in room; resolves once both are connected and joined.
async function pair(token, room, delay) {
  const listener = client(`http://127.0.0.1:${c.PORTS[0]}`, token,
    { reconnectionDelay: delay, reconnectionDelayMax: delay, randomizationFactor: 0 });
  const sender = client(`http://127.0.0.1:${c.PORTS[1]}`, token);
  try {
    await c.connected(listener);
    await c.connected(sender);
    assert.equal(listener.recovered, false);
    await join(listener, room);
    await join(sender, room);
  } catch (e) {
    listener.close();
    sender.close();
    throw e;
  }
  return { listener, sender, firstId: listener.id };
}

// The listener's network goes away; its next connection goes to instance 3.
function moveToInstance3(listener) {
  listener.io.uri = `http://127.0.0.1:${c.PORTS[2]}`;
  listener.io.engine.close();
}

export default [{
  name: 'recovery: a client drops for 2 s and comes back on another instance with every message once, in order',
  timeout: 40000,
  async fn(t) {
    const token = await adminToken(t);
    const room = `busy-${Date.now()}`;
    const { listener, sender, firstId } = await pair(token, room, 2000);
    try {
      const back = new Promise((resolve) => listener.once('connect', resolve)); // the namespace is back
      const before = await recoveries(2);
      await chat(sender, room, async () => moveToInstance3(listener));
      await back;
      assert.equal(String(listener.io.engine.port), String(c.PORTS[2]), 'reconnected to instance 3');
      await checkAllOnce(listener, sender, room, firstId);
      const after = await recoveries(2);
      assert.equal(after.memory - before.memory, 1, 'replayed from the memory instance 3\'s follower filled');
      t.log(`dropped on instance 1, recovered on instance 3: ${N} messages from instance 2, all once, in order`);
    } finally { listener.close(); sender.close(); }
  },
}, {
  name: 'recovery: a rolling restart (SIGTERM) of the client\'s instance costs it nothing',
  timeout: 60000,
  async fn(t) {
    const token = await adminToken(t);
    const room = `deploy-${Date.now()}`;
    const listener = client(c.LB, token, { reconnectionDelay: 200, reconnectionDelayMax: 500 });
    try {
      await c.connected(listener);
      const firstId = listener.id;
      await c.sleep(300); // HAProxy's counters catch up
      let victim = -1;
      for (let i = 0; i < 3 && victim < 0; i++) if ((await c.sessions(i)) > 0) victim = i;
      assert.ok(victim >= 0, 'found the instance holding the listener');
      const sender = client(`http://127.0.0.1:${c.PORTS[(victim + 1) % 3]}`, token);
      try {
        await c.connected(sender);
        await join(listener, room);
        await join(sender, room);
        const back = new Promise((resolve) => listener.once('connect', resolve)); // the namespace is back
        let exit;
        await chat(sender, room, async () => { exit = c.stop(victim, 'SIGTERM'); });
        assert.deepEqual(await exit, { code: 0, signal: null }, 'the instance drained and exited 0');
        await back;
        await checkAllOnce(listener, sender, room, firstId);
        t.log(`instance ${victim + 1} restarted under the listener: recovered elsewhere, ${N} messages all once, in order`);
      } finally { sender.close(); }
    } finally { listener.close(); }
  },
}, {
  name: 'recovery: an instance started after the drop has the recent past in memory (its backfill)',
  timeout: 40000,
  async fn(t) {
    const token = await adminToken(t);
    const room = `late-${Date.now()}`;
    await c.stop(2, 'SIGTERM'); // instance 3 is down until after the drop
    const { listener, sender, firstId } = await pair(token, room, 3000);
    try {
      const back = new Promise((resolve) => listener.once('connect', resolve)); // the namespace is back
      let ready;
      await chat(sender, room, async () => {
        moveToInstance3(listener);
        await c.sleep(50);
        c.start(2); // starts with the last 2 minutes of the stream: the listener's offset among them
        ready = c.waitReady(2);
      });
      await ready;
      await back;
      assert.equal(String(listener.io.engine.port), String(c.PORTS[2]), 'reconnected to instance 3');
      await checkAllOnce(listener, sender, room, firstId);
      const r = await recoveries(2);
      assert.deepEqual([r.memory, r.stream], [1, 0], 'from the backfilled memory');
      t.log(`recovered on an instance started 50 ms after the drop: ${N} messages, all once, in order, from its backfill`);
    } finally { listener.close(); sender.close(); }
  },
}, {
  name: 'recovery: a burst past the in-memory bound (1,024 packets a room) is replayed from the Redis stream',
  timeout: 40000,
  async fn(t) {
    const token = await adminToken(t);
    const room = `burst-${Date.now()}`, n = 1500;
    const { listener, sender, firstId } = await pair(token, room, 2000);
    try {
      const back = new Promise((resolve) => listener.once('connect', resolve));
      const before = await recoveries(2);
      await chat(sender, room, async () => {
        // it must have an offset to come back with: at least one of the burst arrived
        await c.waitFor(() => listener.got.length > 0, 5000, 'a first message');
        moveToInstance3(listener);
      }, { n, every: 0 });
      await back;
      await checkAllOnce(listener, sender, room, firstId, n);
      const r = await recoveries(2);
      assert.deepEqual([r.stream - before.stream, r.memory - before.memory], [1, 0], 'from the stream');
      t.log(`${n - 61} messages while away, more than memory keeps for a room: all once, in order, from the stream`);
    } finally { listener.close(); sender.close(); }
  },
}];
