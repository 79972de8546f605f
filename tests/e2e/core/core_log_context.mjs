// Issue 16: request context in logs. A line a handler writes (here the idempotency replay
// and key-reuse lines of POST /v1/sellers/applications) carries the request's id, user and
// route without the handler naming them; lines written outside a handler (start-up,
// drain, stop, after on-loop requests) carry none, so no request's context leaks.
import { api, assert, newUser, unique } from '../lib.mjs';
import { startServer, stopServer } from './core_net.mjs';

const application = { business_name: 'Bilby Bakes', legal_name: 'Bilby Bakes Ltd', country: 'NZ',
  tax_id: 'NZ123456789', address: '1 Queen St, Auckland 1010' };

export default [
  { name: 'a handler\'s log line carries rid, uid and route; lines outside handlers carry none', timeout: 60000, fn: async () => {
    process.env.VIDZO_PASSWORD_COST_FAST = '1'; // inherited by the private server only
    const srv = await startServer(['--dev', '--log-level', 'info'], { port: Number(process.env.VZ_TEST_PORT || 18080) + 5 });
    delete process.env.VIDZO_PASSWORD_COST_FAST;
    try {
      const u = await newUser('lc', { base: srv.url, dataDir: srv.dir }), key = unique('k-');
      const send = (rid, body = application) => api('POST', '/v1/sellers/applications',
        { base: srv.url, token: u.token, body, headers: { 'idempotency-key': key, 'x-request-id': rid } });
      const first = unique('rid-first-'), replay = unique('rid-replay-'), reuse = unique('rid-reuse-'), health = unique('rid-health-');
      assert.equal((await send(first)).status, 201);
      assert.equal((await send(replay)).status, 201);
      assert.equal((await send(reuse, { ...application, business_name: 'Other' })).status, 422);
      // on-loop requests (healthz, no access line) on every loop: their context must not
      // survive into the drain lines those loop threads write next
      for (let i = 0; i < 8; i++) await api('GET', '/healthz', { base: srv.url, headers: { 'x-request-id': health } });
    } finally {
      const e = await stopServer(srv);
      assert.equal(e.code, 0, `exit ${JSON.stringify(e)}`);
      assert.ok(!/Sanitizer|runtime error/.test(srv.err), srv.err);
    }
    const lines = srv.out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const replayed = lines.filter((l) => l.msg === 'idempotent request replayed');
    assert.equal(replayed.length, 1, srv.out);
    assert.ok(replayed[0].rid.startsWith('rid-replay-'), JSON.stringify(replayed[0]));
    assert.equal(replayed[0].route, '/v1/sellers/applications');
    assert.ok(/^[0-9]+$/.test(replayed[0].uid), JSON.stringify(replayed[0]));
    const reused = lines.filter((l) => l.msg === 'idempotency key reused for a different request');
    assert.equal(reused.length, 1, srv.out);
    assert.ok(reused[0].rid.startsWith('rid-reuse-'));
    assert.equal(reused[0].uid, replayed[0].uid);
    assert.equal(reused[0].level, 'warn');
    // the access line names the same request once (its own fields, not doubled)
    const access = lines.find((l) => l.msg === 'request' && l.rid === replayed[0].rid);
    assert.ok(access && access.status === '201' && access.uid === replayed[0].uid, JSON.stringify(access));
    // outside handlers: no context at all
    const outside = lines.filter((x) => ['listening', 'SIGTERM', 'stopped'].includes(x.msg) || x.msg.startsWith('draining'));
    assert.ok(outside.length >= 4, srv.out);
    for (const l of outside) assert.equal(l.rid, undefined, JSON.stringify(l));
    assert.ok(!srv.out.includes('rid-health-'), 'an on-loop request\'s id leaked into a later line');
  } },
];
