// Users stories: profiles, handles, follows with counts, blocks.
import { api, assert, newUser } from '../lib.mjs';

export default [
  { name: 'profiles: private view for me, public view for others, fields= projection', fn: async () => {
    const a = await newUser('a'), b = await newUser('b');
    const mine = await api('GET', '/v1/me', { token: a.token });
    assert.ok('email' in mine.json.data);
    const pub = await api('GET', `/v1/users/${a.id}`, { token: b.token });
    assert.equal(pub.status, 200);
    assert.ok(!('email' in pub.json.data));
    const proj = await api('GET', `/v1/users/${a.id}?fields=id,handle`);
    assert.deepEqual(Object.keys(proj.json.data).sort(), ['handle', 'id']);
    assert.equal((await api('GET', '/v1/users/1')).status, 404);
  } },
  { name: 'handles are unique ignoring case', fn: async () => {
    const a = await newUser('c'), b = await newUser('d');
    const r = await api('PATCH', '/v1/me', { body: { handle: a.handle.toUpperCase() }, token: b.token });
    assert.equal(r.status, 409);
    assert.equal((await api('PATCH', '/v1/me', { body: { handle: 'x' }, token: b.token })).status, 400);
    assert.equal((await api('PATCH', '/v1/me', { body: { bio: 'hi' } })).status, 401);
  } },
  { name: 'follow updates counts and lists; block ends it and hides the profile', fn: async () => {
    const a = await newUser('e'), b = await newUser('f');
    assert.equal((await api('POST', `/v1/users/${b.id}/follow`, { token: a.token })).status, 204);
    assert.equal((await api('POST', `/v1/users/${b.id}/follow`, { token: a.token })).status, 204);
    const pb = await api('GET', `/v1/users/${b.id}`);
    assert.equal(pb.json.data.followers_count, 1);
    const fl = await api('GET', `/v1/users/${b.id}/followers?limit=1`);
    assert.equal(fl.json.data[0].id, a.id);
    assert.equal((await api('POST', `/v1/users/${a.id}/follow`, { token: a.token })).status, 400);
    assert.equal((await api('POST', `/v1/users/${b.id}/block`, { token: a.token })).status, 204);
    assert.equal((await api('GET', `/v1/users/${b.id}`, { token: b.token })).json.data.followers_count, 0);
    assert.equal((await api('GET', `/v1/users/${a.id}`, { token: b.token })).status, 404);
    const f = await api('POST', `/v1/users/${a.id}/follow`, { token: b.token });
    assert.equal(f.status, 403);
  } },
  { name: 'account deletion anonymises and signs out', fn: async () => {
    const a = await newUser('g');
    assert.equal((await api('DELETE', '/v1/me', { token: a.token })).status, 204);
    assert.equal((await api('GET', `/v1/users/${a.id}`)).status, 404);
  } },
];
