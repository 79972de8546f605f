// lib.mjs: what every end-to-end story uses. Stories talk to a real server over real
// HTTP (VZ_TEST_URL); nothing here fakes the server.
import assert from 'node:assert/strict';
import net from 'node:net';

export const stories = [];
export const URL_BASE = process.env.VZ_TEST_URL || 'http://127.0.0.1:18080';

// story('a buyer cannot take the last item twice', async (t) => { ... })
export function story(name, fn, opts = {}) { stories.push({ name, fn, ...opts }); }

// One HTTP call. Returns { status, headers, json, text }.
export async function api(method, path, { body, token, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] ??= 'application/json'; }
  const res = await fetch(URL_BASE + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
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
export async function metric(name, labels = {}) {
  const res = await fetch(URL_BASE + '/metrics');
  const text = await res.text();
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
// The test server runs with --dev: one-time codes land in DATA_DIR/outbox/otp.jsonl.
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// The newest code sent to `to` for `purpose` (email codes in otp.jsonl, SMS in sms.jsonl).
export function lastCode(to, purpose, file = 'otp.jsonl') {
  const path = `${process.env.VZ_TEST_DATA_DIR || process.env.VZ_DATA_DIR || './data'}/outbox/${file}`;
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const m = lines.filter((l) => l.to === to.toLowerCase() && (!purpose || l.purpose === purpose));
  return m.length ? m[m.length - 1].code : null;
}

// A fresh verified user: { id, email, password, token, refresh }.
export async function newUser(prefix = 'u') {
  const handle = unique(prefix).slice(0, 24);
  const email = `${handle}@e2e.test`;
  const password = 'Sunny-day-2026';
  expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password, handle } }), 202);
  const r = expectStatus(await api('POST', '/v1/auth/verify-email', { body: { email, code: lastCode(email, 'verify_email') } }), 200);
  return { id: r.json.data.user.id, email, password, handle, token: r.json.data.access_token, refresh: r.json.data.refresh_token };
}

// The admin of the test database (created once through the CLI, as an operator would).
let admin;
export async function adminToken() {
  if (admin) return admin;
  const email = 'admin@e2e.test', password = 'Admin-pass-123456';
  const bin = process.env.VZ_TEST_BIN || 'build/debug/vidzo';
  const args = ['admin', 'create', '--email', email, '--password', password, '--if-missing', '--log-level', 'error'];
  if (process.env.VZ_TEST_DB_URL) args.push('--db', process.env.VZ_TEST_DB_URL);
  if (process.env.VZ_TEST_DATA_DIR) args.push('--data-dir', process.env.VZ_TEST_DATA_DIR);
  execFileSync(bin, args, { stdio: 'pipe' });
  const r = expectStatus(await api('POST', '/v1/auth/signin', { body: { email, password } }), 200);
  admin = r.json.data.access_token;
  return admin;
}
