// Per-IP limits at their production values. The suite's shared server runs with --dev,
// which scales per-IP limits by 100 (every story comes from 127.0.0.1), so this story
// starts its own server with VIDZO_AUTH_IP_LIMIT_SCALE=1 and proves the real numbers.
// Needs VZ_TEST_BIN (tests/run.sh sets it).
import { api, assert, withServer } from '../lib.mjs';

// The suite's settings but the per-IP scale: --dev and TOTP optional as tests/run.sh.
const limits = (env) => ({ args: ['--dev'], env: { VIDZO_TOTP_OPTIONAL: '1', ...env } });

const post = (url, path, body) => api('POST', path, { base: url, body });

export default [
  { name: 'per-IP limits hold at production values (scale 1): sign-up 20/min, then 429', timeout: 60000, fn: async () => {
    await withServer(limits({ VIDZO_AUTH_IP_LIMIT_SCALE: '1' }), async ({ url }) => {
      const tag = Date.now().toString(36);
      const statuses = [];
      for (let i = 0; i < 21; i++)
        statuses.push((await post(url, '/v1/auth/signup', { email: `lim${tag}${i}@e2e.test`, password: 'Sunny-day-2026' })).status);
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(202));
      const r = await post(url, '/v1/auth/signup', { email: `lim${tag}x@e2e.test`, password: 'Sunny-day-2026' });
      assert.equal(r.status, 429);
      assert.equal(r.json.error.code, 'rate_limited');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      // sign-in failures: 10 per email in 15 minutes, whatever the IP scale
      for (let i = 0; i < 10; i++)
        assert.equal((await post(url, '/v1/auth/signin', { email: `lim${tag}0@e2e.test`, password: 'Wrong-pass-123' })).status, 401);
      const locked = await post(url, '/v1/auth/signin', { email: `lim${tag}0@e2e.test`, password: 'Wrong-pass-123' });
      assert.equal(locked.status, 429);
    });
  } },
  { name: 'the --dev scale lifts per-IP limits but not per-account ones', timeout: 60000, fn: async () => {
    await withServer(limits({}), async ({ url }) => {
      const tag = Date.now().toString(36);
      for (let i = 0; i < 25; i++)
        assert.equal((await post(url, '/v1/auth/signup', { email: `dev${tag}${i}@e2e.test`, password: 'Sunny-day-2026' })).status, 202);
      for (let i = 0; i < 10; i++)
        await post(url, '/v1/auth/signin', { email: `dev${tag}0@e2e.test`, password: 'Wrong-pass-123' });
      assert.equal((await post(url, '/v1/auth/signin', { email: `dev${tag}0@e2e.test`, password: 'Wrong-pass-123' })).status, 429);
    });
  } },
];
