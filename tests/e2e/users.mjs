// Users stories: profiles, handles, follows with counts, blocks. Same environment as auth.mjs.
import assert from 'node:assert/strict';
import { lastCode, unique } from './lib.mjs';

const uniq = () => unique('');
async function call(url, method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
async function newUser(url, handle) {
  const email = `${handle}@e2e.test`;
  const s = await call(url, 'POST', '/v1/auth/signup', { email, password: 'Sunny-day-2026', handle });
  assert.equal(s.status, 202, JSON.stringify(s.body));
  const r = await call(url, 'POST', '/v1/auth/verify-email', { email, code: lastCode(email, 'verify_email') });
  assert.equal(r.status, 200);
  return { id: r.body.data.user.id, access: r.body.data.access_token, handle };
}

export default [
  { name: 'profiles: private view for me, public view for others, fields= projection', fn: async ({ url }) => {
    const a = await newUser(url, `a${uniq()}`), b = await newUser(url, `b${uniq()}`);
    const mine = await call(url, 'GET', '/v1/me', null, a.access);
    assert.ok('email' in mine.body.data);
    const pub = await call(url, 'GET', `/v1/users/${a.id}`, null, b.access);
    assert.equal(pub.status, 200);
    assert.ok(!('email' in pub.body.data));
    const proj = await call(url, 'GET', `/v1/users/${a.id}?fields=id,handle`, null);
    assert.deepEqual(Object.keys(proj.body.data).sort(), ['handle', 'id']);
    assert.equal((await call(url, 'GET', '/v1/users/1', null)).status, 404);
  } },
  { name: 'handles are unique ignoring case', fn: async ({ url }) => {
    const a = await newUser(url, `c${uniq()}`), b = await newUser(url, `d${uniq()}`);
    const r = await call(url, 'PATCH', '/v1/me', { handle: a.handle.toUpperCase() }, b.access);
    assert.equal(r.status, 409);
    assert.equal((await call(url, 'PATCH', '/v1/me', { handle: 'x' }, b.access)).status, 400);
    assert.equal((await call(url, 'PATCH', '/v1/me', { bio: 'hi' })).status, 401);
  } },
  { name: 'follow updates counts and lists; block ends it and hides the profile', fn: async ({ url }) => {
    const a = await newUser(url, `e${uniq()}`), b = await newUser(url, `f${uniq()}`);
    assert.equal((await call(url, 'POST', `/v1/users/${b.id}/follow`, null, a.access)).status, 204);
    assert.equal((await call(url, 'POST', `/v1/users/${b.id}/follow`, null, a.access)).status, 204);
    const pb = await call(url, 'GET', `/v1/users/${b.id}`, null);
    assert.equal(pb.body.data.followers_count, 1);
    const fl = await call(url, 'GET', `/v1/users/${b.id}/followers?limit=1`, null);
    assert.equal(fl.body.data[0].id, a.id);
    assert.equal((await call(url, 'POST', `/v1/users/${a.id}/follow`, null, a.access)).status, 400);
    assert.equal((await call(url, 'POST', `/v1/users/${b.id}/block`, null, a.access)).status, 204);
    assert.equal((await call(url, 'GET', `/v1/users/${b.id}`, null, b.access)).body.data.followers_count, 0);
    assert.equal((await call(url, 'GET', `/v1/users/${a.id}`, null, b.access)).status, 404);
    const f = await call(url, 'POST', `/v1/users/${a.id}/follow`, null, b.access);
    assert.equal(f.status, 403);
  } },
  { name: 'account deletion anonymises and signs out', fn: async ({ url }) => {
    const a = await newUser(url, `g${uniq()}`);
    assert.equal((await call(url, 'DELETE', '/v1/me', null, a.access)).status, 204);
    assert.equal((await call(url, 'GET', `/v1/users/${a.id}`, null)).status, 404);
  } },
];
