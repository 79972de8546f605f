// k_analytics: a stream's analytics count its audience across instances, once. One
// socket in the stream's room on each of the three instances and two players heartbeating
// through two others: every instance answers 5 current viewers (3 in the room, 2 players);
// the samplers of all three instances run, yet each tick is taken by one of them, so the
// room's watch time is 3 sockets x the time they stayed, not three times that.
// run.sh puts the rooms in the test application's /test namespace
// (VIDZO_ANALYTICS_PRESENCE_NSP) and samples every 250 ms; the stream is made live in the
// database as streams' go-live hook does (the hooks are not on main yet).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as c from './cluster.mjs';

const require = createRequire(`${process.env.VZ_MULTI_ROOT || process.cwd()}/tests/package.json`);
let io;
try { ({ io } = require('socket.io-client')); } catch { io = null; }

const sql = (q) => execFileSync('psql', [c.PG_URL, '-qtAc', q], { encoding: 'utf8' }).trim();

async function ticks(which) {
  let n = 0;
  for (const p of c.PORTS) {
    const r = await c.call(p, 'GET', '/metrics');
    const m = r.text.match(new RegExp(`^vidzo_analytics_ticks_total\\{outcome="${which}"\\} (\\d+)`, 'm'));
    n += m ? Number(m[1]) : 0;
  }
  return n;
}

export default [{
  name: 'analytics count sockets on every instance and players once; one instance per tick',
  timeout: 40000,
  async fn(t) {
    if (!io) t.skip('socket.io-client is not installed under tests/node_modules');
    if (process.env.VIDZO_ANALYTICS_PRESENCE_NSP !== '/test') t.skip('run.sh does not put the stream rooms in /test');
    const admin = await c.adminSignin(t, c.PORTS[0]);
    const tok = admin.access_token;
    const cr = await c.call(c.PORTS[0], 'POST', '/v1/streams', { token: tok, body: { title: 'multi analytics' } });
    assert.equal(cr.status, 201, cr.text);
    const id = cr.json.data.id;
    // one live stream per host: end any the admin left live in an earlier run
    sql(`UPDATE streams SET status = 'ended', ended_at = ${Date.now()} WHERE host_id = ${admin.user.id} AND status = 'live'`);
    sql(`UPDATE streams SET status = 'live', started_at = ${Date.now()}, source = 'rtmp' WHERE id = ${id}`);
    const get = (i) => c.call(c.PORTS[i], 'GET', `/v1/streams/${id}/analytics`, { token: tok });
    for (const [i, v] of [[1, 'multi-player-one-aaaa'], [2, 'multi-player-two-bbbb']]) {
      const r = await c.call(c.PORTS[i], 'POST', `/v1/streams/${id}/heartbeat`, { body: { viewer: v } });
      assert.equal(r.status, 200, r.text);
    }
    const socks = c.PORTS.map((p, i) => io(`http://127.0.0.1:${p}/test`, { transports: ['websocket'], auth: { token: `multi-${i}` },
      reconnection: false, forceNew: true }));
    try {
      for (const s of socks) {
        await c.connected(s);
        const a = await s.timeout(5000).emitWithAck('join', { room: `stream:${id}` });
        assert.equal(a.ok, true);
      }
      const inAt = Date.now();
      const takenBefore = await ticks('taken'), skippedBefore = await ticks('skipped');
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        let d;
        while (Date.now() - t0 < 5000) {
          d = (await get(i)).json.data;
          if (d.current_viewers === 5) break;
          await c.sleep(50);
        }
        assert.deepEqual([d.current_viewers, d.room_viewers, d.hls_viewers], [5, 3, 2], `instance ${i + 1}`);
      }
      await c.sleep(2000);
      for (const s of socks) s.close();
      const outAt = Date.now();
      const t0 = Date.now();
      let d;
      while (Date.now() - t0 < 5000) {
        d = (await get(0)).json.data;
        if (d.room_viewers === 0) break;
        await c.sleep(50);
      }
      assert.equal(d.room_viewers, 0);
      await c.sleep(600);
      d = (await get(1)).json.data;
      const taken = (await ticks('taken')) - takenBefore, skipped = (await ticks('skipped')) - skippedBefore;
      const roomMs = 3 * (outAt - inAt);
      t.log(`watch ${d.watch_time_ms} ms for 3 sockets x ${outAt - inAt} ms = ${roomMs}; ticks taken ${taken}, skipped ${skipped}; peak ${d.peak_viewers}`);
      assert.equal(d.unique_viewers, 2);
      assert.equal(d.peak_viewers, 5);
      // presence is reported each second, so each socket may be seen up to ~1 s late or long
      assert.ok(Math.abs(d.watch_time_ms - roomMs) <= 3 * 1500, `watch ${d.watch_time_ms} vs ${roomMs}`);
      assert.ok(skipped > 0, 'the other instances saw the ticks taken');
      // three samplers, one claim per tick: at most one tick taken per 250 ms elapsed (+1)
      const elapsed = Date.now() - inAt;
      assert.ok(taken <= Math.ceil(elapsed / 250) + 2, `${taken} ticks taken in ${elapsed} ms`);
    } finally {
      for (const s of socks) s.close();
      sql(`UPDATE streams SET status = 'ended', ended_at = ${Date.now()} WHERE id = ${id}`);
    }
  },
}];
