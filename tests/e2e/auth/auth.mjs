// Auth stories against the suite's server, started with --dev (codes in DATA_DIR/outbox/otp.jsonl).
import { api, assert, lastCode, newUser, unique } from '../lib.mjs';
import { createHmac } from 'node:crypto';

const post = (path, body, token) => api('POST', path, { body, token });
const get = (path, token) => api('GET', path, { token });

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

export default [
  { name: 'sign-up rejects weak passwords with a message naming the field', fn: async () => {
    const r = await post('/v1/auth/signup', { email: `w${unique('')}@e2e.test`, password: 'aaaaaaaaaaaa' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.field, 'password');
    assert.match(r.json.error.message, /mix/);
    assert.equal((await post('/v1/auth/signup', { password: 'Sunny-day-2026' })).status, 400);
  } },
  { name: 'sign-up, verify email, sign in, read /v1/me', fn: async () => {
    const u = await newUser('u');
    const me = await get('/v1/me', u.token);
    assert.equal(me.status, 200);
    assert.equal(me.json.data.email_verified, true);
    const s = await post('/v1/auth/signin', { email: u.email, password: u.password });
    assert.equal(s.status, 200);
    assert.ok(s.json.data.refresh_token.length === 43);
    assert.equal((await get('/v1/me')).status, 401);
  } },
  { name: 'sign-in errors do not reveal whether an account exists', fn: async () => {
    const u = await newUser('g');
    const a = await post('/v1/auth/signin', { email: u.email, password: 'Wrong-pass-123' });
    const b = await post('/v1/auth/signin', { email: `nobody${unique('')}@e2e.test`, password: 'Wrong-pass-123' });
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.json.error.message, b.json.error.message);
    const f1 = await post('/v1/auth/password/forgot', { email: u.email });
    const f2 = await post('/v1/auth/password/forgot', { email: `nobody${unique('')}@e2e.test` });
    assert.deepEqual([f1.status, f1.json], [f2.status, f2.json]);
  } },
  { name: 'refresh rotates, and reusing an old refresh token revokes the family', fn: async () => {
    const u = await newUser('r');
    const r1 = await post('/v1/auth/refresh', { refresh_token: u.refresh });
    assert.equal(r1.status, 200);
    const r2 = await post('/v1/auth/refresh', { refresh_token: r1.json.data.refresh_token });
    assert.equal(r2.status, 200);
    const reuse = await post('/v1/auth/refresh', { refresh_token: u.refresh });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.json.error.code, 'token_reused');
    const after = await post('/v1/auth/refresh', { refresh_token: r2.json.data.refresh_token });
    assert.equal(after.status, 401); // the live descendant died with the family
    // and so did the family's access tokens, before their expiry
    assert.equal((await get('/v1/me', r2.json.data.access_token)).status, 401);
    assert.equal((await get('/v1/me', u.token)).status, 401);
    assert.equal((await post('/v1/auth/refresh', {})).status, 400);
  } },
  { name: 'sessions are listed and can be revoked, but not someone else\'s', fn: async () => {
    const a = await newUser('s'), b = await newUser('t');
    const list = await get('/v1/auth/sessions', a.token);
    assert.equal(list.status, 200);
    assert.equal(list.json.data.length, 1);
    assert.equal(list.json.data[0].current, true);
    const sid = list.json.data[0].id;
    assert.equal((await api('DELETE', `/v1/auth/sessions/${sid}`, { token: b.token })).status, 404);
    assert.equal((await api('DELETE', `/v1/auth/sessions/${sid}`, { token: a.token })).status, 204);
    assert.equal((await post('/v1/auth/refresh', { refresh_token: a.refresh })).status, 401);
    assert.equal((await post('/v1/auth/signout', { refresh_token: b.refresh }, b.token)).status, 204);
    assert.equal((await post('/v1/auth/refresh', { refresh_token: b.refresh })).status, 401);
  } },
  { name: 'sign-out and session revocation end that session\'s access token at once, and only that one', fn: async () => {
    const u = await newUser('z');
    const s2 = (await post('/v1/auth/signin', { email: u.email, password: u.password })).json.data;
    assert.equal((await get('/v1/me', s2.access_token)).status, 200);
    assert.equal((await post('/v1/auth/signout', { refresh_token: s2.refresh_token }, s2.access_token)).status, 204);
    const gone = await get('/v1/me', s2.access_token);
    assert.equal(gone.status, 401);
    assert.equal(gone.json.error.code, 'unauthenticated');
    assert.equal((await get('/v1/me', u.token)).status, 200, 'the other session is untouched');
    // a third device, revoked from the first
    const s3 = (await post('/v1/auth/signin', { email: u.email, password: u.password })).json.data;
    const mine = (await get('/v1/auth/sessions', u.token)).json.data;
    const other = mine.find((x) => !x.current);
    assert.ok(other, 'the third session is listed');
    assert.equal((await api('DELETE', `/v1/auth/sessions/${other.id}`, { token: u.token })).status, 204);
    assert.equal((await get('/v1/me', s3.access_token)).status, 401);
    assert.equal((await get('/v1/me', u.token)).status, 200);
  } },
  { name: 'OTP brute force is stopped after 5 attempts', fn: async () => {
    const u = await newUser('o');
    assert.equal((await post('/v1/auth/otp/request', { email: u.email })).status, 202);
    const code = lastCode(u.email, 'signin');
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++)
      assert.equal((await post('/v1/auth/otp/verify', { email: u.email, code: wrong })).status, 400);
    const r = await post('/v1/auth/otp/verify', { email: u.email, code });
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, 'too_many_attempts');
  } },
  { name: 'OTP sign-in works once with the right code', fn: async () => {
    const u = await newUser('p');
    await post('/v1/auth/otp/request', { email: u.email });
    const code = lastCode(u.email, 'signin');
    assert.equal((await post('/v1/auth/otp/verify', { email: u.email, code })).status, 200);
    assert.equal((await post('/v1/auth/otp/verify', { email: u.email, code })).status, 400);
  } },
  { name: 'password reset by code signs out every device', fn: async () => {
    const u = await newUser('x');
    await post('/v1/auth/password/forgot', { email: u.email });
    const code = lastCode(u.email, 'reset_password');
    assert.equal((await post('/v1/auth/password/reset', { email: u.email, code, password: 'short' })).status, 400);
    assert.equal((await get('/v1/me', u.token)).status, 200);
    assert.equal((await post('/v1/auth/password/reset', { email: u.email, code, password: 'Brand-new-2026' })).status, 204);
    assert.equal((await post('/v1/auth/refresh', { refresh_token: u.refresh })).status, 401);
    assert.equal((await get('/v1/me', u.token)).status, 401, 'access tokens from before the reset end with it');
    const fresh = await post('/v1/auth/signin', { email: u.email, password: 'Brand-new-2026' });
    assert.equal(fresh.status, 200);
    assert.equal((await get('/v1/me', fresh.json.data.access_token)).status, 200, 'a sign-in right after works');
  } },
  { name: 'expired, tampered, alg none and HS/RS-confused JWTs are rejected', fn: async () => {
    const u = await newUser('j');
    const [h, p, s] = u.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    const tampered = `${h}.${b64({ ...claims, role: 'admin' })}.${s}`;
    assert.equal((await get('/v1/me', tampered)).status, 401);
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: 'd1' })}.${b64({ ...claims, role: 'admin' })}.`;
    assert.equal((await get('/v1/me', none)).status, 401);
    const rs = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'd1' })}.${p}.${s}`;
    assert.equal((await get('/v1/me', rs)).status, 401);
    const expiredBody = b64({ ...claims, exp: 1000, iat: 900 });
    const forged = createHmac('sha256', 'guess').update(`${h}.${expiredBody}`).digest('base64url');
    assert.equal((await get('/v1/me', `${h}.${expiredBody}.${forged}`)).status, 401);
    assert.equal((await get('/v1/me', u.token)).status, 200);
  } },
];
