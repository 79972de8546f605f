// Per-IP limits at their production values. The suite's shared server runs with --dev,
// which scales per-IP limits by 100 (every story comes from 127.0.0.1), so this story
// starts its own server with VIDZO_AUTH_IP_LIMIT_SCALE=1 and proves the real numbers.
// Needs VZ_TEST_BIN (tests/run.sh sets it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, assert } from '../lib.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function withServer(env, fn) {
  const bin = process.env.VZ_TEST_BIN;
  assert.ok(bin, 'VZ_TEST_BIN must name the vidzo binary');
  const dir = mkdtempSync(join(tmpdir(), 'vidzo-limits-'));
  const port = await freePort();
  const child = spawn(bin, ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '1',
    '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'error', '--dev',
    '--jwt-secret', 'limits-secret-0123456789abcdef0123456789', '--shutdown-timeout', '2'],
  { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1', VIDZO_TOTP_OPTIONAL: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  const url = `http://127.0.0.1:${port}`;
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try { up = (await fetch(`${url}/readyz`)).ok; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    assert.ok(up, `limits server did not start: ${stderr.slice(0, 500)}`);
    await fn(url);
  } finally {
    child.kill('SIGTERM');
    const { code } = await exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `limits server exit: ${stderr.slice(-1500)}`);
    assert.ok(!/Sanitizer|runtime error/.test(stderr), stderr.slice(-1500));
  }
}

const post = (url, path, body) => api('POST', path, { base: url, body });

export default [
  { name: 'per-IP limits hold at production values (scale 1): sign-up 20/min, then 429', timeout: 60000, fn: async () => {
    await withServer({ VIDZO_AUTH_IP_LIMIT_SCALE: '1' }, async (url) => {
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
    await withServer({}, async (url) => {
      const tag = Date.now().toString(36);
      for (let i = 0; i < 25; i++)
        assert.equal((await post(url, '/v1/auth/signup', { email: `dev${tag}${i}@e2e.test`, password: 'Sunny-day-2026' })).status, 202);
      for (let i = 0; i < 10; i++)
        await post(url, '/v1/auth/signin', { email: `dev${tag}0@e2e.test`, password: 'Wrong-pass-123' });
      assert.equal((await post(url, '/v1/auth/signin', { email: `dev${tag}0@e2e.test`, password: 'Wrong-pass-123' })).status, 429);
    });
  } },
];
