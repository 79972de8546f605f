// Issue 15, item 9: a server started without --dev and without a mail/SMS sender (there is
// none yet) writes one-time codes to DATA_DIR/outbox and says so once at start, so a
// newcomer after `make run` can sign up. Also withServer, with which the other issue-15
// auth stories start a server of their own (VZ_TEST_BIN).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, assert, lastCode, unique } from '../lib.mjs';

const PV = 'Victim-pass-2026';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts a second server (own port, data dir, SQLite) with extra flags and environment,
// runs fn({ url, dir, log }) and checks the server drains cleanly on SIGTERM.
export async function withServer({ args = [], env = {} }, fn) {
  const bin = process.env.VZ_TEST_BIN;
  assert.ok(bin, 'VZ_TEST_BIN must name the vidzo binary');
  const dir = mkdtempSync(join(tmpdir(), 'vidzo-i15-'));
  const port = await freePort();
  const child = spawn(bin, ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '1',
    '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'warn',
    '--jwt-secret', 'issue15-secret-0123456789abcdef0123456789', '--shutdown-timeout', '2', ...args],
  { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  const url = `http://127.0.0.1:${port}`;
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try { up = (await fetch(`${url}/readyz`)).ok; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    assert.ok(up, `server did not start: ${out.slice(0, 500)}`);
    await fn({ url, dir, log: () => out });
  } finally {
    child.kill('SIGTERM');
    const { code } = await exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `server exit: ${out.slice(-1500)}`);
    assert.ok(!/Sanitizer|runtime error/.test(out), out.slice(-1500));
  }
}

export default [
  { name: 'issue 15: without --dev and without a mail/SMS sender, codes go to DATA_DIR/outbox', timeout: 60000, fn: async () => {
    await withServer({}, async ({ url, dir, log }) => {
      assert.match(log(), /no mail\/SMS sender configured: one-time codes are written to DATA_DIR\/outbox/);
      const email = `${unique('nodev')}@e2e.test`;
      assert.equal((await api('POST', '/v1/auth/signup', { base: url, body: { email, password: PV } })).status, 202);
      const code = lastCode(email, 'verify_email', { dataDir: dir });
      assert.ok(code, 'no sign-up code in the outbox');
      assert.equal(statSync(`${dir}/outbox/otp.jsonl`).mode & 0o077, 0, 'the outbox file is private');
      const v = await api('POST', '/v1/auth/verify-email', { base: url, body: { email, code } });
      assert.equal(v.status, 200, v.text);
      assert.equal((await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PV } })).status, 200);
      // password reset and SMS codes arrive the same way
      assert.equal((await api('POST', '/v1/auth/password/forgot', { base: url, body: { email } })).status, 202);
      assert.ok(lastCode(email, 'reset_password', { dataDir: dir }), 'no reset code in the outbox');
      const phone = `+4916${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
      assert.equal((await api('POST', '/v1/me/phone', { base: url, body: { phone }, token: v.json.data.access_token })).status, 202);
      assert.ok(lastCode(phone, `verify_phone:${v.json.data.user.id}`, { dataDir: dir, file: 'sms.jsonl' }), 'no SMS code in the outbox');
      assert.equal(log().match(/no mail\/SMS sender configured/g).length, 1, 'said once');
      assert.ok(!log().includes(code), 'a code reached the log');
    });
  } },
];
