// Auth stories against a running server started with --dev (codes in DATA_DIR/outbox/otp.jsonl).
// Env: VZ_TEST_URL (server), VZ_DATA_DIR (its data dir). Run: node tests/e2e/auth.mjs
import assert from 'node:assert/strict';
import { lastCode, unique } from './lib.mjs';
import { createHmac } from 'node:crypto';

const uniq = () => unique('');

async function call(url, method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
const post = (url, p, b, t) => call(url, 'POST', p, b, t);
const get = (url, p, t) => call(url, 'GET', p, null, t);

async function newUser(url, handle) {
  const email = `${handle}@e2e.test`;
  const password = 'Sunny-day-2026';
  assert.equal((await post(url, '/v1/auth/signup', { email, password, handle })).status, 202);
  const r = await post(url, '/v1/auth/verify-email', { email, code: lastCode(email, 'verify_email') });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { email, password, id: r.body.data.user.id, access: r.body.data.access_token, refresh: r.body.data.refresh_token };
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

export default [
  { name: 'sign-up rejects weak passwords with a message naming the field', fn: async ({ url }) => {
    const r = await post(url, '/v1/auth/signup', { email: `w${uniq()}@e2e.test`, password: 'aaaaaaaaaaaa' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'password');
    assert.match(r.body.error.message, /mix/);
    assert.equal((await post(url, '/v1/auth/signup', { password: 'Sunny-day-2026' })).status, 400);
  } },
  { name: 'sign-up, verify email, sign in, read /v1/me', fn: async ({ url }) => {
    const u = await newUser(url, `u${uniq()}`);
    const me = await get(url, '/v1/me', u.access);
    assert.equal(me.status, 200);
    assert.equal(me.body.data.email_verified, true);
    const s = await post(url, '/v1/auth/signin', { email: u.email, password: u.password });
    assert.equal(s.status, 200);
    assert.ok(s.body.data.refresh_token.length === 43);
    assert.equal((await get(url, '/v1/me')).status, 401);
  } },
  { name: 'sign-in errors do not reveal whether an account exists', fn: async ({ url }) => {
    const u = await newUser(url, `g${uniq()}`);
    const a = await post(url, '/v1/auth/signin', { email: u.email, password: 'Wrong-pass-123' });
    const b = await post(url, '/v1/auth/signin', { email: `nobody${uniq()}@e2e.test`, password: 'Wrong-pass-123' });
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.body.error.message, b.body.error.message);
    const f1 = await post(url, '/v1/auth/password/forgot', { email: u.email });
    const f2 = await post(url, '/v1/auth/password/forgot', { email: `nobody${uniq()}@e2e.test` });
    assert.deepEqual([f1.status, f1.body], [f2.status, f2.body]);
  } },
  { name: 'refresh rotates, and reusing an old refresh token revokes the family', fn: async ({ url }) => {
    const u = await newUser(url, `r${uniq()}`);
    const r1 = await post(url, '/v1/auth/refresh', { refresh_token: u.refresh });
    assert.equal(r1.status, 200);
    const r2 = await post(url, '/v1/auth/refresh', { refresh_token: r1.body.data.refresh_token });
    assert.equal(r2.status, 200);
    const reuse = await post(url, '/v1/auth/refresh', { refresh_token: u.refresh });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.error.code, 'token_reused');
    const after = await post(url, '/v1/auth/refresh', { refresh_token: r2.body.data.refresh_token });
    assert.equal(after.status, 401); // the live descendant died with the family
    // and so did the family's access tokens, before their expiry
    assert.equal((await get(url, '/v1/me', r2.body.data.access_token)).status, 401);
    assert.equal((await get(url, '/v1/me', u.access)).status, 401);
    assert.equal((await post(url, '/v1/auth/refresh', {})).status, 400);
  } },
  { name: 'sessions are listed and can be revoked, but not someone else\'s', fn: async ({ url }) => {
    const a = await newUser(url, `s${uniq()}`), b = await newUser(url, `t${uniq()}`);
    const list = await get(url, '/v1/auth/sessions', a.access);
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].current, true);
    const sid = list.body.data[0].id;
    assert.equal((await call(url, 'DELETE', `/v1/auth/sessions/${sid}`, null, b.access)).status, 404);
    assert.equal((await call(url, 'DELETE', `/v1/auth/sessions/${sid}`, null, a.access)).status, 204);
    assert.equal((await post(url, '/v1/auth/refresh', { refresh_token: a.refresh })).status, 401);
    assert.equal((await post(url, '/v1/auth/signout', { refresh_token: b.refresh }, b.access)).status, 204);
    assert.equal((await post(url, '/v1/auth/refresh', { refresh_token: b.refresh })).status, 401);
  } },
  { name: 'sign-out and session revocation end that session\'s access token at once, and only that one', fn: async ({ url }) => {
    const u = await newUser(url, `z${uniq()}`);
    const s2 = (await post(url, '/v1/auth/signin', { email: u.email, password: u.password })).body.data;
    assert.equal((await get(url, '/v1/me', s2.access_token)).status, 200);
    assert.equal((await post(url, '/v1/auth/signout', { refresh_token: s2.refresh_token }, s2.access_token)).status, 204);
    const gone = await get(url, '/v1/me', s2.access_token);
    assert.equal(gone.status, 401);
    assert.equal(gone.body.error.code, 'unauthenticated');
    assert.equal((await get(url, '/v1/me', u.access)).status, 200, 'the other session is untouched');
    // a third device, revoked from the first
    const s3 = (await post(url, '/v1/auth/signin', { email: u.email, password: u.password })).body.data;
    const mine = (await get(url, '/v1/auth/sessions', u.access)).body.data;
    const other = mine.find((x) => !x.current);
    assert.ok(other, 'the third session is listed');
    assert.equal((await call(url, 'DELETE', `/v1/auth/sessions/${other.id}`, null, u.access)).status, 204);
    assert.equal((await get(url, '/v1/me', s3.access_token)).status, 401);
    assert.equal((await get(url, '/v1/me', u.access)).status, 200);
  } },
  { name: 'OTP brute force is stopped after 5 attempts', fn: async ({ url }) => {
    const u = await newUser(url, `o${uniq()}`);
    assert.equal((await post(url, '/v1/auth/otp/request', { email: u.email })).status, 202);
    const code = lastCode(u.email, 'signin');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++)
      assert.equal((await post(url, '/v1/auth/otp/verify', { email: u.email, code: wrong })).status, 400);
    const r = await post(url, '/v1/auth/otp/verify', { email: u.email, code });
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'too_many_attempts');
  } },
  { name: 'OTP sign-in works once with the right code', fn: async ({ url }) => {
    const u = await newUser(url, `p${uniq()}`);
    await post(url, '/v1/auth/otp/request', { email: u.email });
    const code = lastCode(u.email, 'signin');
    assert.equal((await post(url, '/v1/auth/otp/verify', { email: u.email, code })).status, 200);
    assert.equal((await post(url, '/v1/auth/otp/verify', { email: u.email, code })).status, 400);
  } },
  { name: 'password reset by code signs out every device', fn: async ({ url }) => {
    const u = await newUser(url, `x${uniq()}`);
    await post(url, '/v1/auth/password/forgot', { email: u.email });
    const code = lastCode(u.email, 'reset_password');
    assert.equal((await post(url, '/v1/auth/password/reset', { email: u.email, code, password: 'short' })).status, 400);
    assert.equal((await get(url, '/v1/me', u.access)).status, 200);
    assert.equal((await post(url, '/v1/auth/password/reset', { email: u.email, code, password: 'Brand-new-2026' })).status, 204);
    assert.equal((await post(url, '/v1/auth/refresh', { refresh_token: u.refresh })).status, 401);
    assert.equal((await get(url, '/v1/me', u.access)).status, 401, 'access tokens from before the reset end with it');
    const fresh = await post(url, '/v1/auth/signin', { email: u.email, password: 'Brand-new-2026' });
    assert.equal(fresh.status, 200);
    assert.equal((await get(url, '/v1/me', fresh.body.data.access_token)).status, 200, 'a sign-in right after works');
  } },
  { name: 'expired, tampered, alg none and HS/RS-confused JWTs are rejected', fn: async ({ url }) => {
    const u = await newUser(url, `j${uniq()}`);
    const [h, p, s] = u.access.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    const tampered = `${h}.${b64({ ...claims, role: 'admin' })}.${s}`;
    assert.equal((await get(url, '/v1/me', tampered)).status, 401);
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: 'd1' })}.${b64({ ...claims, role: 'admin' })}.`;
    assert.equal((await get(url, '/v1/me', none)).status, 401);
    const rs = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'd1' })}.${p}.${s}`;
    assert.equal((await get(url, '/v1/me', rs)).status, 401);
    const expiredBody = b64({ ...claims, exp: 1000, iat: 900 });
    const forged = createHmac('sha256', 'guess').update(`${h}.${expiredBody}`).digest('base64url');
    assert.equal((await get(url, '/v1/me', `${h}.${expiredBody}.${forged}`)).status, 401);
    assert.equal((await get(url, '/v1/me', u.access)).status, 200);
  } },
];
