// a_rolling_restart: a deploy restarts every instance in turn (SIGTERM, wait for exit 0,
// start, wait for readyz and for HAProxy to route to it again) under a steady load of
// keep-alive GETs through the balancer, and not one request fails: no non-2xx, no socket
// error. Drain (readyz 503 first, in-flight finished) plus HAProxy's retry-on make it so.
import assert from 'node:assert/strict';
import * as c from './cluster.mjs';

export default [{
  name: 'rolling restart under 200 req/s loses no request',
  timeout: 90000,
  async fn(t) {
    const load = c.load({ rate: 200, clients: 8 });
    await c.sleep(1000);
    const rounds = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const exit = await c.stop(i, 'SIGTERM');
      const drainMs = Date.now() - t0;
      assert.deepEqual(exit, { code: 0, signal: null }, `instance ${i + 1} exit after SIGTERM`);
      c.start(i);
      const readyMs = await c.waitReady(i);
      await c.waitBalancerUp(i);
      rounds.push({ instance: i + 1, drainMs, readyMs, upMs: Date.now() - t0 });
      await c.sleep(1500);
    }
    const st = await load.stop();
    t.log(`rolling restart: ${JSON.stringify(rounds)}`);
    t.log(`load: sent ${st.sent} in ${st.seconds}s (${st.rate} req/s), ok ${st.ok}, non-2xx ${st.non2xx} ${JSON.stringify(st.codes)}, socket errors ${st.errors} ${JSON.stringify(st.errs)}, slowest ${st.maxMs} ms`);
    // The load must have been real and steady through all three restarts; how many it
    // adds up to depends on how fast the restarts went (a fast host once failed ">1200").
    assert.ok(st.sent >= 600 && st.rate >= 150, `too little load: ${st.sent} in ${st.seconds}s (${st.rate} req/s)`);
    assert.equal(st.non2xx, 0, `non-2xx answers: ${JSON.stringify(st.codes)}`);
    assert.equal(st.errors, 0, `socket errors: ${JSON.stringify(st.errs)}`);
  },
}];
