// Helpers shared by the users*, sellers*, media* and auth_phone stories (no stories here).
// Same environment as auth.mjs: a --dev server whose codes land in DATA_DIR/outbox.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, lastCode, unique } from './lib.mjs';

export const dataDir = process.env.VZ_TEST_DATA_DIR || process.env.VZ_DATA_DIR || './data';
export const uniq = () => unique('');

export { lastCode };

// A verified account with a session: { id, email, password, handle, access, refresh }.
export async function newUser(handle = `u${uniq()}`, extra = {}) {
  const email = `${handle}@e2e.test`, password = 'Sunny-day-2026';
  const s = await api('POST', '/v1/auth/signup', { body: { email, password, handle, ...extra } });
  assert.equal(s.status, 202, s.text);
  const r = await api('POST', '/v1/auth/verify-email', { body: { email, code: lastCode(email, 'verify_email') } });
  assert.equal(r.status, 200, r.text);
  return { id: r.json.data.user.id, email, password, handle, access: r.json.data.access_token, refresh: r.json.data.refresh_token };
}

// An admin made with the CLI (`vidzo admin create`) against the suite's database.
let admin;
export async function asAdmin() {
  if (admin) return admin;
  const bin = process.env.VZ_TEST_BIN, db = process.env.VZ_TEST_DB_URL;
  assert.ok(bin && db, 'VZ_TEST_BIN and VZ_TEST_DB_URL are needed to create an admin');
  const email = `admin${uniq()}@e2e.test`, password = 'Admin-pass-2026';
  execFileSync(bin, ['admin', 'create', '--email', email, '--password', password, '--db', db, '--data-dir', dataDir, '--log-level', 'error'],
    { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' }, stdio: 'pipe' });
  const r = await api('POST', '/v1/auth/signin', { body: { email, password } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.user.role, 'admin');
  admin = { id: r.json.data.user.id, email, access: r.json.data.access_token };
  return admin;
}
