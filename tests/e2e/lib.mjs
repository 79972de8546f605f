// lib.mjs: what every end-to-end story uses. Stories talk to a real server over real
// HTTP (VZ_TEST_URL); nothing here fakes the server.
import assert from 'node:assert/strict';
import net from 'node:net';
import { checkResponse } from '../contract/validate.mjs';

export const stories = [];
export const URL_BASE = process.env.VZ_TEST_URL || 'http://127.0.0.1:18080';

// story('a buyer cannot take the last item twice', async (t) => { ... })
export function story(name, fn, opts = {}) { stories.push({ name, fn, ...opts }); }

// The one HTTP client of the end-to-end stories (and of tests/e2e-multi, which imports it).
// Returns { status, headers, json, text }: headers is a fetch Headers, json is undefined
// when the body is not JSON. Options:
//   body     sent as JSON (content-type application/json unless headers name another)
//   raw      sent as it is (a string or a Buffer), for what JSON.stringify cannot say
//   token    a bearer token; headers: more request headers
//   base     another server than the suite's: a story's own server, a cluster instance
//   timeout  ms for the whole exchange; past it the call fails (a hang is a failure)
//   fresh    the connection closes after the reply and none is kept for a later call
//            (servers that are killed and restarted would leave kept ones dead)
//   soft     a network error (refused, reset, timeout) is { status: 0, error } instead of
//            an exception, for stories that count outcomes while servers go away
//   contract false: the answer is not checked against the contract (tests/contract/
//            validate.mjs); every other answer is, and one that breaks it fails the story
export async function api(method, path, { body, token, headers = {}, raw, base = URL_BASE, timeout, fresh, soft, contract = true } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (fresh) h.connection = 'close';
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] ??= 'application/json'; }
  let res, text;
  try {
    res = await fetch(base + path, { method, headers: h, body: payload, signal: timeout ? AbortSignal.timeout(timeout) : undefined });
    text = await res.text();
  } catch (e) {
    const error = e.name === 'TimeoutError' ? `no reply within ${timeout} ms` : e.cause?.code || e.cause?.message || e.message;
    if (soft) return { status: 0, error, headers: new Headers(), json: undefined, text: '' };
    throw new Error(`${method} ${base}${path}: ${error}`, { cause: e });
  }
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  const out = { status: res.status, headers: res.headers, json, text };
  if (contract) {
    const problems = checkResponse(method, path, out);
    if (problems.length) assert.fail(`contract: ${problems.join('\n  ')}`);
  }
  return out;
}

export function expectStatus(res, status) {
  assert.equal(res.status, status, `want ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}

// The one error envelope: {"error":{"code","message","field"?}}.
export function expectError(res, status, code, field) {
  expectStatus(res, status);
  assert.ok(res.json && res.json.error, `no error envelope: ${res.text.slice(0, 200)}`);
  if (code) assert.equal(res.json.error.code, code, `error code: ${res.text}`);
  if (field !== undefined) assert.equal(res.json.error.field, field, `error field: ${res.text}`);
  assert.equal(typeof res.json.error.message, 'string');
  return res;
}

// Raw bytes over TCP, for what fetch refuses to send. Resolves with everything read
// until the server closes or `ms` passes.
export function rawHttp(bytes, { ms = 2000, chunks } = {}) {
  const u = new URL(URL_BASE);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let out = Buffer.alloc(0);
    const timer = setTimeout(() => { s.destroy(); resolve({ text: out.toString('latin1'), closed: false }); }, ms);
    s.on('data', (d) => { out = Buffer.concat([out, d]); });
    s.on('close', () => { clearTimeout(timer); resolve({ text: out.toString('latin1'), closed: true }); });
    s.on('error', () => {});
    s.on('connect', async () => {
      if (chunks) for (const c of chunks) { s.write(c); await new Promise((r) => setTimeout(r, 20)); }
      else s.write(bytes);
    });
  });
}

// Reads one counter or gauge from /metrics (sum over matching label sets).
export async function metric(name, labels = {}, { base } = {}) {
  const { text } = expectStatus(await api('GET', '/metrics', { base }), 200);
  let sum = 0, seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/);
    if (!m || m[1] !== name) continue;
    const lbl = m[2] || '';
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) { sum += Number(m[3]); seen = true; }
  }
  return seen ? sum : undefined;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const unique = (p = 'x') => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
export { assert };

// ---- accounts ------------------------------------------------------------------
// The test server runs with --dev: one-time codes land in DATA_DIR/outbox/otp.jsonl
// (SMS codes in sms.jsonl).
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const DATA_DIR = process.env.VZ_TEST_DATA_DIR || process.env.VZ_DATA_DIR || './data';

// The newest code sent to `to` for `purpose` (any purpose when it is empty); dataDir: the
// outbox of a story's own server.
export function lastCode(to, purpose, { file = 'otp.jsonl', dataDir = DATA_DIR } = {}) {
  const path = `${dataDir}/outbox/${file}`;
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const m = lines.filter((l) => l.to === to.toLowerCase() && (!purpose || l.purpose === purpose));
  return m.length ? m[m.length - 1].code : null;
}

// A fresh verified user with a session: { id, email, password, handle, token, refresh }.
// The handle is `prefix` and a unique tail (24 characters at most), the email
// handle@e2e.test. base and dataDir: sign up on a story's own server instead.
export async function newUser(prefix = 'u', { base, dataDir } = {}) {
  const handle = unique(prefix).slice(0, 24);
  const email = `${handle}@e2e.test`, password = 'Sunny-day-2026';
  // Sign-up is limited per IP and every story comes from 127.0.0.1: wait out a 429.
  for (let i = 0; ; i++) {
    const s = await api('POST', '/v1/auth/signup', { base, body: { email, password, handle } });
    if (s.status !== 429 || i === 4) { expectStatus(s, 202); break; }
    await sleep(1000 * Number(s.headers.get('retry-after') || 2));
  }
  const code = lastCode(email, 'verify_email', { dataDir });
  const d = expectStatus(await api('POST', '/v1/auth/verify-email', { base, body: { email, code } }), 200).json.data;
  return { id: d.user.id, email, password, handle, token: d.access_token, refresh: d.refresh_token };
}

// The admin of the test database, created once through the CLI as an operator would
// (`vidzo admin create --if-missing`), signed in: the shape newUser returns, without handle.
let admin;
export async function asAdmin() {
  if (admin) return admin;
  const email = 'admin@e2e.test', password = 'Admin-pass-123456';
  const bin = process.env.VZ_TEST_BIN || 'build/debug/vidzo';
  const args = ['admin', 'create', '--email', email, '--password', password, '--if-missing', '--log-level', 'error'];
  if (process.env.VZ_TEST_DB_URL) args.push('--db', process.env.VZ_TEST_DB_URL);
  if (process.env.VZ_TEST_DATA_DIR) args.push('--data-dir', process.env.VZ_TEST_DATA_DIR);
  execFileSync(bin, args, { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' }, stdio: 'pipe' });
  const d = expectStatus(await api('POST', '/v1/auth/signin', { body: { email, password } }), 200).json.data;
  assert.equal(d.user.role, 'admin', 'the CLI made an admin (run the server with VIDZO_TOTP_OPTIONAL=1)');
  admin = { id: d.user.id, email, password, token: d.access_token, refresh: d.refresh_token };
  return admin;
}

// ---- private servers ------------------------------------------------------------
// For stories that need other flags or settings than the shared server's.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A port the kernel just handed out and took back: free, unlike a guessed one.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Starts `vidzo serve` (VZ_TEST_BIN) on its own port, data dir and SQLite file with extra
// flags and environment, runs fn({ url, dir, log }), then SIGTERM: the story fails unless
// the server drains to exit 0 with no sanitizer report.
export async function withServer({ args = [], env = {} }, fn) {
  const bin = process.env.VZ_TEST_BIN;
  assert.ok(bin, 'VZ_TEST_BIN must name the vidzo binary');
  const dir = mkdtempSync(join(tmpdir(), 'vidzo-own-'));
  const port = await freePort();
  const child = spawn(bin, ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '1',
    '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'warn',
    '--jwt-secret', 'own-secret-0123456789abcdef0123456789', '--shutdown-timeout', '2', ...args],
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
