// Issue 15, item 11: a JSON route reads only JSON. A body sent as text/plain, XML, a form
// or with no Content-Type is 415 unsupported_media_type before anything is parsed (a
// text/plain POST is what a browser sends cross-origin without a preflight), and the
// profile stays as it was. application/json with parameters and application/*+json are
// JSON; a POST without a body needs no Content-Type; uploads keep their own types.
import { api, assert, expectError, expectStatus, newUser } from '../lib.mjs';

// A PATCH /v1/me with this body as it is, under this Content-Type (none: what fetch picks).
const patchMe = (token, payload, type) => api('PATCH', '/v1/me', { token, raw: payload, headers: type ? { 'content-type': type } : {} });

export default [
  { name: 'issue 15: a JSON body under another Content-Type, or none, is 415 and changes nothing', fn: async () => {
    const u = await newUser();
    expectStatus(await api('PATCH', '/v1/me', { token: u.token, body: { bio: 'before' } }), 200);
    const json = JSON.stringify({ bio: 'after' });
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/xml', 'application/x-www-form-urlencoded',
      'text/json', 'application/jsonp']) {
      const r = expectError(await patchMe(u.token, json, type), 415, 'unsupported_media_type');
      assert.equal(r.json.error.field, undefined, type);
    }
    // bytes with no Content-Type at all (fetch adds none for a Uint8Array)
    expectError(await patchMe(u.token, new TextEncoder().encode(json)), 415, 'unsupported_media_type');
    // a multipart form (fetch sets multipart/form-data; boundary=...)
    const fd = new FormData();
    fd.append('bio', 'after');
    expectError(await patchMe(u.token, fd), 415, 'unsupported_media_type');
    const me = expectStatus(await api('GET', '/v1/me', { token: u.token }), 200);
    assert.equal(me.json.data.bio, 'before');
    // anonymous JSON routes too: a text/plain sign-in is refused before it is read
    expectError(await api('POST', '/v1/auth/signin', { raw: JSON.stringify({ email: u.email, password: u.password }),
      headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  } },
  { name: 'issue 15: application/json with parameters, application/*+json and body-less POSTs are accepted', fn: async () => {
    const u = await newUser(), v = await newUser();
    const a = expectStatus(await patchMe(u.token, JSON.stringify({ bio: 'one' }), 'application/json; charset=utf-8'), 200);
    assert.equal(a.json.data.bio, 'one');
    const b = expectStatus(await patchMe(u.token, JSON.stringify({ bio: 'two' }), 'Application/Merge-Patch+JSON'), 200);
    assert.equal(b.json.data.bio, 'two');
    // POST without a body and without Content-Type (follow) stays fine
    const f = await api('POST', `/v1/users/${v.id}/follow`, { token: u.token });
    assert.equal(f.status, 204);
    assert.equal(f.headers.get('content-type'), null);
    // an upload route takes its own types
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
      '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
    expectStatus(await api('PUT', '/v1/me/avatar', { token: u.token, raw: png, headers: { 'content-type': 'image/png' } }), 200);
  } },
];
