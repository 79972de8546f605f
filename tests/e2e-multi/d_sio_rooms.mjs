// d_sio_rooms: one room spans all instances. Socket.IO clients on different instances
// (WebSocket straight to 18101/18102/18103, and one long-polling through HAProxy's sticky
// backend) join one room of the e2e namespace "/test" (vidzo --dev); every message a
// client says to the room reaches every other member exactly once, in order, whichever
// instance each is on: room emits travel through Redis pub/sub. Then the instance a group
// of balancer clients sits on is killed with -9: they reconnect through HAProxy to a
// live instance, join again and get messages again.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as c from './cluster.mjs';

const require = createRequire(`${process.env.VZ_MULTI_ROOT || process.cwd()}/tests/package.json`);
let io;
try { ({ io } = require('socket.io-client')); } catch { io = null; }

async function gatewayMissing() {
  if (!io) return 'socket.io-client is not installed under tests/node_modules (make test-deps)';
  const r = await c.call(c.PORTS[0], 'GET', '/socket.io/?EIO=4&transport=polling');
  if (r.status === 404) return 'no Socket.IO gateway on this build (GET /socket.io/ is 404)';
  const ns = await new Promise((resolve) => {
    const s = io(`http://127.0.0.1:${c.PORTS[0]}/test`, { transports: ['websocket'], auth: { token: 'probe' }, reconnection: false, timeout: 3000 });
    s.on('connect', () => { s.close(); resolve(null); });
    s.on('connect_error', (e) => { s.close(); resolve(`namespace /test refused: ${e.message}`); });
  });
  return ns;
}

function client(url, opts, name) {
  const s = io(`${url}/test`, { auth: { token: name }, reconnectionDelay: 100, reconnectionDelayMax: 500, timeout: 5000, ...opts });
  s.got = [];
  s.on('said', (m) => s.got.push(m.msg));
  return s;
}
const { connected, waitFor } = c;
const join = async (s, room) => {
  const a = await s.timeout(5000).emitWithAck('join', { room });
  assert.equal(a.ok, true, `join: ${JSON.stringify(a)}`);
};

export default [{
  name: 'socket.io clients on three instances in one room all get every message once, in order',
  timeout: 40000,
  async fn(t) {
    const why = await gatewayMissing();
    if (why) t.skip(why);
    const room = `stream:multi-${Date.now()}`;
    const socks = [
      client(`http://127.0.0.1:${c.PORTS[0]}`, { transports: ['websocket'] }, 'sender'),
      client(`http://127.0.0.1:${c.PORTS[0]}`, { transports: ['websocket'] }, 'same-1'),
      client(`http://127.0.0.1:${c.PORTS[1]}`, { transports: ['websocket'] }, 'on-2'),
      client(`http://127.0.0.1:${c.PORTS[2]}`, { transports: ['websocket'] }, 'on-3'),
      client(c.LB, { transports: ['polling'], upgrade: false }, 'lb-poll'),
    ];
    try {
      for (const s of socks) { await connected(s); await join(s, room); }
      // presence: every instance counts the 5 members, wherever they are connected
      for (const s of [socks[0], socks[2], socks[3]]) {
        const t0 = Date.now();
        let n;
        while ((n = (await s.timeout(5000).emitWithAck('presence', { room })).count) !== socks.length) {
          if (Date.now() - t0 > 6000) throw new Error(`presence ${n} on ${s.auth.token}, want ${socks.length}`);
          await c.sleep(200);
        }
      }
      console.log(`      presence: ${socks.length} members on 3 instances, seen from each`);
      await c.sleep(300); // subscriptions settle
      const N = 100;
      for (let k = 0; k < N; k++) socks[0].emit('say', { room, msg: k });
      const want = Array.from({ length: N }, (_, k) => k);
      const rcv = socks.slice(1);
      try {
        await waitFor(() => rcv.every((s) => s.got.length >= N), 10000, 'all messages');
      } catch (e) {
        const got = rcv.map((s) => `${s.auth.token}=${s.got.length}`).join(' ');
        throw new Error(`${e.message}: got ${got}`);
      }
      await c.sleep(300); // a duplicate would arrive now
      for (const s of rcv) assert.deepEqual(s.got, want, `${s.auth.token}: every message once, in order`);
      assert.equal(socks[0].got.length, 0, 'the sender is excluded');
      t.log(`${N} messages to ${rcv.length} receivers on 3 instances (one long-polling via HAProxy): all once, in order`);
    } finally { for (const s of socks) s.close(); }
  },
}, {
  name: 'kill -9 of an instance: its socket.io clients reconnect elsewhere and get messages again',
  timeout: 40000,
  async fn(t) {
    const why = await gatewayMissing();
    if (why) t.skip(why);
    const room = `stream:failover-${Date.now()}`;
    // Through the balancer: sticky by source, so all of them land on one instance.
    const lb = [0, 1, 2].map((k) => client(c.LB, { transports: ['websocket'] }, `lb-${k}`));
    for (const s of lb) s.on('connect', () => { s.emit('join', { room }); });
    await Promise.all(lb.map(connected));
    await c.sleep(300);
    // Which instance holds them: the one whose sio backend has current sessions.
    let victim = -1;
    for (let i = 0; i < 3 && victim < 0; i++) if ((await c.sessions(i)) > 0) victim = i;
    assert.ok(victim >= 0, 'found the instance holding the balancer clients');
    // The sender comes through the balancer too, so it shares their instance before and
    // after the failover (sticky by source): this story tests reconnection, not fan-out.
    const sender = client(c.LB, { transports: ['websocket'] }, 'sender');
    sender.on('connect', () => { sender.emit('join', { room }); });
    try {
      await connected(sender);
      await c.sleep(200);
      sender.emit('say', { room, msg: 'before' });
      await waitFor(() => lb.every((s) => s.got.includes('before')), 5000, 'message before the kill');
      const t0 = Date.now();
      await c.stop(victim, 'SIGKILL');
      await waitFor(() => lb.every((s) => s.connected) && sender.connected, 10000, 'reconnect');
      const reconnectMs = Date.now() - t0;
      await c.sleep(300); // the re-join is on its way
      let k = 0;
      const deadline = Date.now() + 8000;
      while (!lb.every((s) => s.got.includes(`after-${k - 1}`)) && Date.now() < deadline) {
        sender.emit('say', { room, msg: `after-${k++}` });
        await c.sleep(200);
      }
      assert.ok(lb.every((s) => s.got.some((m) => String(m).startsWith('after-'))), 'messages after reconnect');
      t.log(`kill -9 of instance ${victim + 1}: ${lb.length} balancer clients reconnected in ${reconnectMs} ms and receive again`);
    } finally {
      sender.close();
      for (const s of lb) s.close();
    }
  },
}];
