// i_redis_outage: Redis goes away under live chat rooms (with connection state recovery,
// whose room packets normally travel through a Redis stream). While it is down, members
// on the sender's own instance still get every message, with an offset argument; REST
// stays up; no instance crashes. When Redis is back, the instances' stream followers
// reconnect by themselves and messages cross instances again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as c from './cluster.mjs';

const ROOT = process.env.VZ_MULTI_ROOT || process.cwd();
const require = createRequire(`${ROOT}/tests/package.json`);
let io;
try { ({ io } = require('socket.io-client')); } catch { io = null; }

const redis = (cmd) => execFileSync('sh', [`${ROOT}/tests/support/redis.sh`, cmd], { encoding: 'utf8' }).trim();

function client(port, token) {
  const s = io(`http://127.0.0.1:${port}/test-recovery`, { forceNew: true, auth: { token }, transports: ['websocket'], timeout: 5000 });
  s.got = [];
  s.on('said', (m, offset) => s.got.push({ msg: m.msg, offset }));
  return s;
}
const join = async (s, room) => assert.equal((await s.timeout(5000).emitWithAck('join', { room })).ok, true);
const heard = (s, msg) => s.got.some((g) => g.msg === msg);

export default [{
  name: 'Redis down: room messages still reach the sender\'s instance; back up: across instances again',
  timeout: 60000,
  async fn(t) {
    if (!io) t.skip('socket.io-client is not installed under tests/node_modules (make test-deps)');
    if (!c.REDIS_URL) t.skip('no Redis configured');
    if (process.env.VZ_MULTI_REDIS_CONTROL !== '1') t.skip('Redis is not ours to stop (VZ_MULTI_REDIS_CONTROL unset)');
    const token = (await c.adminSignin(t)).access_token;
    const room = `outage-${Date.now()}`;
    const [sender, local, remote] = [c.PORTS[0], c.PORTS[0], c.PORTS[1]].map((p) => client(p, token));
    let redisDown = false;
    try {
      for (const x of [sender, local, remote]) { await c.connected(x); await join(x, room); }
      sender.emit('say', { room, msg: 'before' });
      await c.waitFor(() => heard(local, 'before') && heard(remote, 'before'), 5000, 'the message before the outage');

      redis('stop');
      redisDown = true;
      for (let k = 0; k < 5; k++) sender.emit('say', { room, msg: `down-${k}` });
      await c.waitFor(() => heard(local, 'down-4'), 5000, 'messages on the same instance while Redis is down');
      const down = local.got.filter((g) => String(g.msg).startsWith('down-'));
      assert.deepEqual(down.map((g) => g.msg), ['down-0', 'down-1', 'down-2', 'down-3', 'down-4'], 'each once, in order');
      assert.ok(down.every((g) => /^[0-9]+$/.test(g.offset)), 'still with an offset argument');
      const r = await c.call(c.PORTS[1], 'GET', '/v1/categories');
      assert.equal(r.status, 200, 'REST is up without Redis');

      redis('start');
      redisDown = false;
      // the follower backs off up to 5 s between attempts: keep saying until one crosses
      let k = 0;
      const t0 = Date.now();
      while (!heard(remote, `back-${k - 1}`) && Date.now() - t0 < 15000) {
        sender.emit('say', { room, msg: `back-${k++}` });
        await c.sleep(250);
      }
      assert.ok(remote.got.some((g) => String(g.msg).startsWith('back-')), 'across instances again after Redis returns');
      for (let i = 0; i < 3; i++) assert.ok(c.running(i), `instance ${i + 1} still running`);
      t.log(`Redis stopped: 5 messages to the local member, REST 200; restarted: across instances again after ${Date.now() - t0} ms`);
    } finally {
      if (redisDown) redis('start');
      for (const x of [sender, local, remote]) x.close();
    }
  },
}];
