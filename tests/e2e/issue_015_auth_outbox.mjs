// Issue 15, item 9: a server started without --dev and without a mail/SMS sender (there is
// none yet) writes one-time codes to DATA_DIR/outbox and says so once at start, so a
// newcomer after `make run` can sign up. Also the helpers the other issue-15 auth stories
// use to start a server of their own (VZ_TEST_BIN).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, unique } from './lib.mjs';

const PV = 'Victim-pass-2026';

export async function call(url, method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: r.status, json, text };
}

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

// The newest code for `to` in a given data dir's outbox.
export function codeIn(dir, to, purpose, file = 'otp.jsonl') {
  const path = `${dir}/outbox/${file}`;
  if (!existsSync(path)) return null;
  const m = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((l) => l.to === to.toLowerCase() && (!purpose || l.purpose === purpose));
  return m.length ? m[m.length - 1].code : null;
}

export default [
  { name: 'issue 15: without --dev and without a mail/SMS sender, codes go to DATA_DIR/outbox', timeout: 60000, fn: async () => {
    await withServer({}, async ({ url, dir, log }) => {
      assert.match(log(), /no mail\/SMS sender configured: one-time codes are written to DATA_DIR\/outbox/);
      const email = `${unique('nodev')}@e2e.test`;
      assert.equal((await call(url, 'POST', '/v1/auth/signup', { email, password: PV })).status, 202);
      const code = codeIn(dir, email, 'verify_email');
      assert.ok(code, 'no sign-up code in the outbox');
      assert.equal(statSync(`${dir}/outbox/otp.jsonl`).mode & 0o077, 0, 'the outbox file is private');
      const v = await call(url, 'POST', '/v1/auth/verify-email', { email, code });
      assert.equal(v.status, 200, v.text);
      assert.equal((await call(url, 'POST', '/v1/auth/signin', { email, password: PV })).status, 200);
      // password reset and SMS codes arrive the same way
      assert.equal((await call(url, 'POST', '/v1/auth/password/forgot', { email })).status, 202);
      assert.ok(codeIn(dir, email, 'reset_password'), 'no reset code in the outbox');
      const phone = `+4916${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
      assert.equal((await call(url, 'POST', '/v1/me/phone', { phone }, v.json.data.access_token)).status, 202);
      assert.ok(codeIn(dir, phone, `verify_phone:${v.json.data.user.id}`, 'sms.jsonl'), 'no SMS code in the outbox');
      assert.equal(log().match(/no mail\/SMS sender configured/g).length, 1, 'said once');
      assert.ok(!log().includes(code), 'a code reached the log');
    });
  } },
];
