// Users stories, part two: search, push devices, deletion keeping anonymised rows.
import { api, assert, expectError, expectStatus, newUser, unique } from '../lib.mjs';

export default [
  { name: 'search finds users by handle or name prefix, pages with a cursor, projects fields', fn: async () => {
    const tag = `zq${unique('')}`;
    const a = await newUser(`${tag}a`), b = await newUser(`${tag}b`), c = await newUser(`${tag}c`);
    expectStatus(await api('PATCH', '/v1/me', { token: c.token, body: { display_name: `Quokka ${tag}` } }), 200);
    // c is most followed, so it comes first
    expectStatus(await api('POST', `/v1/users/${c.id}/follow`, { token: a.token }), 204);
    const p1 = expectStatus(await api('GET', `/v1/users?q=${tag}&limit=2`), 200);
    assert.equal(p1.json.data.length, 2);
    assert.equal(p1.json.data[0].id, c.id);
    assert.ok(p1.json.next_cursor);
    const p2 = expectStatus(await api('GET', `/v1/users?q=${tag}&limit=2&cursor=${p1.json.next_cursor}`), 200);
    assert.equal(p2.json.data.length, 1);
    const all = [...p1.json.data, ...p2.json.data].map((u) => u.id).sort();
    assert.deepEqual(all, [a.id, b.id, c.id].sort());
    assert.ok(!('email' in p1.json.data[0]));
    const byName = expectStatus(await api('GET', `/v1/users?q=quokka%20${tag}`), 200);
    assert.deepEqual(byName.json.data.map((u) => u.id), [c.id]);
    const proj = expectStatus(await api('GET', `/v1/users?q=${tag}&fields=id,handle`), 200);
    assert.deepEqual(Object.keys(proj.json.data[0]).sort(), ['handle', 'id']);
    // search syntax from the client is not interpreted
    expectStatus(await api('GET', `/v1/users?q=${encodeURIComponent('"x* OR NEAR(a b) & !:*')}`), 200);
    expectError(await api('GET', '/v1/users'), 400, 'invalid_argument', 'q');
    expectError(await api('GET', '/v1/users?q=%20%2B%2B'), 400, 'invalid_argument', 'q');
    expectError(await api('GET', `/v1/users?q=${tag}&cursor=nonsense`), 400, undefined, 'cursor');
  } },
  { name: 'search hides deleted users and users who blocked the viewer', fn: async () => {
    const tag = `zb${unique('')}`;
    const a = await newUser(`${tag}a`), b = await newUser(`${tag}b`), d = await newUser(`${tag}d`);
    expectStatus(await api('POST', `/v1/users/${a.id}/block`, { token: b.token }), 204);
    const seen = expectStatus(await api('GET', `/v1/users?q=${tag}`, { token: a.token }), 200);
    assert.ok(!seen.json.data.some((u) => u.id === b.id));
    expectStatus(await api('DELETE', '/v1/me', { token: d.token }), 204);
    const anon = expectStatus(await api('GET', `/v1/users?q=${tag}`), 200);
    assert.deepEqual(anon.json.data.map((u) => u.id).sort(), [a.id, b.id].sort());
  } },
  { name: 'push devices: register, list, re-register moves the token, someone else\'s is 404', fn: async () => {
    const a = await newUser(), b = await newUser();
    const token = `fcm-${unique('')}-${'x'.repeat(40)}`;
    const r = expectStatus(await api('POST', '/v1/me/devices', { token: a.token, body: { platform: 'android', token } }), 201);
    assert.equal(r.json.data.platform, 'android');
    const again = expectStatus(await api('POST', '/v1/me/devices', { token: a.token, body: { platform: 'android', token } }), 200);
    assert.equal(again.json.data.id, r.json.data.id);
    const list = expectStatus(await api('GET', '/v1/me/devices', { token: a.token }), 200);
    assert.deepEqual(list.json.data.map((d) => d.id), [r.json.data.id]);
    expectError(await api('DELETE', `/v1/me/devices/${r.json.data.id}`, { token: b.token }), 404, 'not_found');
    expectError(await api('POST', '/v1/me/devices', { token: a.token, body: { platform: 'symbian', token } }), 400, 'invalid_argument', 'platform');
    expectError(await api('POST', '/v1/me/devices', { token: a.token, body: { platform: 'ios' } }), 400, 'invalid_argument', 'token');
    expectError(await api('POST', '/v1/me/devices', { body: { platform: 'ios', token } }), 401);
    expectError(await api('GET', '/v1/me/devices'), 401);
    // the same install signs in as b: the token now belongs to b only
    expectStatus(await api('POST', '/v1/me/devices', { token: b.token, body: { platform: 'ios', token } }), 200);
    assert.equal((await api('GET', '/v1/me/devices', { token: a.token })).json.data.length, 0);
    const bl = (await api('GET', '/v1/me/devices', { token: b.token })).json.data;
    assert.equal(bl.length, 1);
    expectStatus(await api('DELETE', `/v1/me/devices/${bl[0].id}`, { token: b.token }), 204);
    expectError(await api('DELETE', `/v1/me/devices/${bl[0].id}`, { token: b.token }), 404);
  } },
  { name: 'account deletion keeps an anonymised row: sessions die, handle and email are free again', fn: async () => {
    const a = await newUser(), b = await newUser();
    expectStatus(await api('POST', `/v1/users/${b.id}/follow`, { token: a.token }), 204);
    expectStatus(await api('DELETE', '/v1/me', { token: a.token }), 204);
    expectError(await api('POST', '/v1/auth/refresh', { body: { refresh_token: a.refresh } }), 401);
    expectError(await api('POST', '/v1/auth/signin', { body: { email: a.email, password: a.password } }), 401, 'invalid_credentials');
    assert.equal((await api('GET', `/v1/users/${b.id}`)).json.data.followers_count, 0);
    // the row stays (orders will point at it), but nothing personal is left to find
    expectError(await api('GET', `/v1/users/${a.id}`), 404);
    const c = await newUser(); // the handle is free again
    expectStatus(await api('PATCH', '/v1/me', { token: c.token, body: { handle: a.handle } }), 200);
    expectError(await api('DELETE', '/v1/me'), 401);
  } },
];
