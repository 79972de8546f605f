// c_ratelimit_shared: a route limit is one budget per client across all instances
// (GCRA in Redis), not one per instance. POST /v1/auth/signin has a per-client-IP limit;
// calls spread round-robin over the three instances, all claiming the same client through
// X-Forwarded-For (--trust-proxy), until the first 429: then the two other instances must
// refuse at once too (with per-instance counters they would still have two thirds of
// their budget), and the number that passed is the route's one budget, not 3x. The limit
// is checked before validation, so an empty body (400) spends it like a real sign-in.
import assert from 'node:assert/strict';
import * as c from './cluster.mjs';

// A sign-in attempt claiming client `xff` (the instances run with --trust-proxy).
const post = (port, path, body, xff) => c.call(port, 'POST', path, { body, headers: { 'x-forwarded-for': xff } });

export default [{
  name: 'a rate limit holds across instances (signin per-IP budget spent on all 3 at once)',
  async fn(t) {
    const ip = `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
    const perInstance = [{}, {}, {}];
    let passed = 0, first = -1;
    for (let n = 0; n < 600 && first < 0; n++) {
      const r = await post(c.PORTS[n % 3], '/v1/auth/signin', {}, ip);
      perInstance[n % 3][r.status] = (perInstance[n % 3][r.status] || 0) + 1;
      if (r.status === 429) { first = n % 3; assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After on 429'); } else passed++;
    }
    assert.ok(first >= 0, `no 429 after ${passed} calls`);
    const others = [];
    for (let k = 1; k <= 2; k++) others.push((await post(c.PORTS[(first + k) % 3], '/v1/auth/signin', {}, ip)).status);
    t.log(`signin from one client over 3 instances: ${passed} passed before the first 429 (on instance ${first + 1}); the other two then answered ${others.join(', ')}; per instance ${JSON.stringify(perInstance)}`);
    assert.deepEqual(others, [429, 429], 'the budget is spent on every instance at once');
    // another client still has its own budget, on any instance
    const other = await post(c.PORTS[2], '/v1/auth/signin', {}, '203.0.113.251' === ip ? '203.0.113.252' : '203.0.113.251');
    assert.notEqual(other.status, 429, 'another client is not limited');
  },
}];
