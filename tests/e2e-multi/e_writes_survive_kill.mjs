// e_writes_survive_kill: an accepted write is durable. Admin POSTs of categories stream
// through HAProxy while one instance is killed with -9; every 201 must afterwards be
// readable (from any instance). A POST in flight on the killed instance may fail (502 or
// a reset: HAProxy does not re-send non-idempotent requests, see haproxy.cfg.in) but it
// was never acknowledged, so nothing acknowledged is lost.
import assert from 'node:assert/strict';
import * as c from './cluster.mjs';

export default [{
  name: 'every 201 from POSTs during a kill -9 is readable afterwards',
  timeout: 60000,
  async fn(t) {
    const token = (await c.adminSignin(t)).access_token;
    const accepted = [], outcomes = {};
    let stop = false, n = 0;
    const tag = Date.now().toString(36);
    const writer = async (w) => {
      while (!stop) {
        const name = `multi ${tag} ${w}-${n++}`;
        const r = await c.call(c.LB_PORT, 'POST', '/v1/categories', { body: { name, kind: 'both' }, token });
        outcomes[r.status] = (outcomes[r.status] || 0) + 1;
        if (r.status === 201) accepted.push(r.json.data.id);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await c.sleep(1000);
    await c.stop(2, 'SIGKILL');
    await c.sleep(1500);
    stop = true;
    await Promise.all(writers);
    c.start(2);
    await c.waitReady(2);
    let missing = 0;
    for (const [k, id] of accepted.entries()) {
      const r = await c.call(c.PORTS[k % 3], 'GET', `/v1/categories/${id}`);
      if (r.status !== 200) missing++;
    }
    t.log(`POST /v1/categories during kill -9: outcomes ${JSON.stringify(outcomes)}; ${accepted.length} accepted, ${missing} missing afterwards`);
    assert.ok(accepted.length > 20, `too few writes: ${accepted.length}`);
    assert.equal(missing, 0, 'an acknowledged write was lost');
  },
}];
