// f_db_restart: vidzo rides out a PostgreSQL restart. While the database is down every
// instance keeps answering, quickly: /healthz 200 (alive, so no orchestrator restarts it),
// /readyz 503 (the balancer takes it out), database routes 503 with Retry-After; nothing
// crashes or hangs. When the database is back, requests succeed again without restarting
// vidzo: every worker's connection reconnects on its own. Reads use GET
// /v1/categories/1 (404 when the database answers): the list is served from the per-loop
// response cache for up to 2 s, which keeps answering 200 through an outage by design.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as c from './cluster.mjs';

const pgctl = (cmd) => new Promise((resolve, reject) => {
  execFile(join(process.env.VZ_MULTI_ROOT, 'tests/support/postgres.sh'), [cmd], { timeout: 60000 },
    (err, stdout, stderr) => (err ? reject(new Error(`postgres.sh ${cmd}: ${stderr || err.message}`)) : resolve(stdout)));
});

export default [{
  name: 'PostgreSQL restart: 503 + Retry-After meanwhile, then recovery without restarting vidzo',
  timeout: 60000,
  async fn(t) {
    if (process.env.VZ_MULTI_PG_CONTROL !== '1') t.skip('the database is not ours to restart (VZ_MULTI_PG_CONTROL unset)');
    // Warm every worker connection first, so stale connections are part of the test.
    for (let k = 0; k < 48; k++) assert.equal((await c.call(c.PORTS[k % 3], 'GET', '/v1/categories/1')).status, 404);
    await pgctl('stop');
    let down;
    try {
      const t0 = Date.now();
      const seen = { readyz: {}, categories: {}, healthz: {} };
      let slowest = 0, noRetryAfter = 0;
      while (Date.now() - t0 < 3000) {
        for (const port of c.PORTS) {
          for (const [name, path] of [['readyz', '/readyz'], ['categories', '/v1/categories/1'], ['healthz', '/healthz']]) {
            const s0 = Date.now();
            const r = await c.call(port, 'GET', path, { timeout: 8000 });
            slowest = Math.max(slowest, Date.now() - s0);
            const k = r.status || r.error;
            seen[name][k] = (seen[name][k] || 0) + 1;
            if (r.status === 503 && !r.headers.get('retry-after')) noRetryAfter++;
          }
        }
      }
      down = { seen, slowest };
      t.log(`database down 3 s: ${JSON.stringify(seen)}, slowest answer ${slowest} ms`);
      assert.deepEqual(Object.keys(seen.readyz), ['503'], 'readyz is 503 while the database is down');
      assert.deepEqual(Object.keys(seen.categories), ['503'], 'db routes are 503 while the database is down');
      assert.deepEqual(Object.keys(seen.healthz), ['200'], 'healthz stays 200');
      assert.equal(noRetryAfter, 0, 'every 503 carries Retry-After');
      assert.ok(slowest < 6000, `no hang: slowest ${slowest} ms`);
      for (let i = 0; i < 3; i++) assert.ok(c.running(i), `instance ${i + 1} still running`);
    } finally {
      await pgctl('start');
    }
    const t1 = Date.now();
    for (let i = 0; i < 3; i++) await c.waitReady(i, 20000);
    const recoverMs = Date.now() - t1;
    // After readyz, every request must work: no stale connection may leak a 503 now.
    const after = {};
    for (let k = 0; k < 90; k++) {
      const r = await c.call(c.PORTS[k % 3], 'GET', '/v1/categories/1');
      after[r.status || r.error] = (after[r.status || r.error] || 0) + 1;
    }
    t.log(`database back: instances ready after ${recoverMs} ms; next 90 reads ${JSON.stringify(after)}`);
    assert.deepEqual(after, { 404: 90 }, 'reads succeed after the restart');
    for (let i = 0; i < 3; i++) await c.waitBalancerUp(i);
  },
}];
