// c_ratelimit_shared: a route limit is one budget per client across all instances
// (GCRA in Redis), not one per instance. POST /v1/auth/signin allows 30/min per client IP
// (burst 30); 60 quick calls spread round-robin over the three instances, all claiming
// the same client through X-Forwarded-For (--trust-proxy), get about 30 answers that are
// not 429. Per-instance counters would let all 60 through. The limit is checked before
// validation, so an empty body (400) spends it as well as a real sign-in would.
import assert from 'node:assert/strict';
import http from 'node:http';
import * as c from './cluster.mjs';

function post(port, path, body, xff) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'x-forwarded-for': xff } },
    (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, retry: res.headers['retry-after'] })); });
    req.on('error', (e) => resolve({ status: 0, error: e.code }));
    req.end(data);
  });
}

export default [{
  name: 'a rate limit holds across instances (signin 30/min, 60 calls over 3 instances)',
  async fn(t) {
    const probe = await post(c.PORTS[0], '/v1/auth/signin', {}, '198.51.100.1');
    if (probe.status === 404) t.skip('POST /v1/auth/signin does not exist on this build');
    const ip = `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
    const perInstance = [{}, {}, {}];
    let limited = 0, passed = 0;
    for (let n = 0; n < 60; n++) {
      const i = n % 3;
      const r = await post(c.PORTS[i], '/v1/auth/signin', {}, ip);
      perInstance[i][r.status] = (perInstance[i][r.status] || 0) + 1;
      if (r.status === 429) { limited++; assert.ok(Number(r.retry) >= 1, 'Retry-After on 429'); } else passed++;
    }
    t.log(`signin from one client over 3 instances: ${passed} not limited, ${limited} got 429; per instance ${JSON.stringify(perInstance)}`);
    assert.ok(passed >= 30 && passed <= 32, `the global budget is 30 (+refill), got ${passed} through`);
    // another client still has its own budget, on any instance
    const other = await post(c.PORTS[2], '/v1/auth/signin', {}, '203.0.113.251' === ip ? '203.0.113.252' : '203.0.113.251');
    assert.notEqual(other.status, 429, 'another client is not limited');
  },
}];
