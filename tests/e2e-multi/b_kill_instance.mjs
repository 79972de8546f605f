// b_kill_instance: kill -9 of one instance (no drain at all) under load: HAProxy's
// retry-on conn-failure/empty-response + redispatch re-send the idempotent GETs that hit
// the dead server, and the health check takes it out within fall 1 x 250 ms, so clients
// see no failure. Socket.IO clients on it reconnect elsewhere (needs the gateway).
import assert from 'node:assert/strict';
import * as c from './cluster.mjs';

export default [{
  name: 'kill -9 of one instance: idempotent GETs through HAProxy never fail',
  timeout: 60000,
  async fn(t) {
    const load = c.load({ rate: 200, clients: 8 });
    await c.sleep(1500);
    const t0 = Date.now();
    const exit = await c.stop(1, 'SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    let downMs = -1;
    while (Date.now() - t0 < 5000) {
      if ((await c.serverState(1)).startsWith('DOWN')) { downMs = Date.now() - t0; break; }
      await c.sleep(20);
    }
    await c.sleep(2000);
    const during = { ...load.stats, codes: { ...load.stats.codes }, errs: { ...load.stats.errs } };
    c.start(1);
    await c.waitReady(1);
    await c.waitBalancerUp(1);
    await c.sleep(1000);
    const st = await load.stop();
    t.log(`kill -9: HAProxy marked it DOWN after ${downMs} ms; load sent ${st.sent} (${st.rate} req/s), non-2xx ${st.non2xx} ${JSON.stringify(st.codes)}, errors ${st.errors} ${JSON.stringify(st.errs)}, slowest ${st.maxMs} ms; before restart: ok ${during.ok} non-2xx ${during.non2xx} errors ${during.errors}`);
    assert.ok(downMs >= 0, 'HAProxy never marked the killed instance DOWN');
    assert.equal(st.non2xx, 0, `non-2xx: ${JSON.stringify(st.codes)}`);
    assert.equal(st.errors, 0, `socket errors: ${JSON.stringify(st.errs)}`);
  },
}];
