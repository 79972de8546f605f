// Every admin write leaves an audit row naming who, what and which object; only admins read them.
import { story, api, expectStatus, expectError, asAdmin, newUser, unique, assert } from '../lib.mjs';

story('an admin category write is audited and readable at /v1/admin/audit', async () => {
  const admin = (await asAdmin()).token;
  const slug = unique('aud-');
  const created = expectStatus(await api('POST', '/v1/categories', { token: admin, body: { name: slug, slug, kind: 'stream' } }), 201);
  const id = created.json.data.id;
  expectStatus(await api('PATCH', `/v1/categories/${id}`, { token: admin, body: { name: `${slug} renamed` } }), 200);
  const res = expectStatus(await api('GET', `/v1/admin/audit?target_type=categories&target_id=${id}`, { token: admin }), 200);
  const actions = res.json.data.map((r) => r.action);
  assert.deepEqual(actions, ['PATCH /v1/categories/:id', 'POST /v1/categories'], JSON.stringify(res.json.data));
  for (const r of res.json.data) {
    assert.equal(r.target_id, id);
    assert.ok(r.actor_id && /^[0-9]+$/.test(r.actor_id));
    assert.equal(typeof r.detail, 'object');
  }
});

story('audit pages with a cursor and refuses non-admins', async () => {
  const admin = (await asAdmin()).token;
  for (let i = 0; i < 3; i++) {
    const slug = unique('audp-');
    expectStatus(await api('POST', '/v1/categories', { token: admin, body: { name: slug, slug, kind: 'both' } }), 201);
  }
  const p1 = expectStatus(await api('GET', '/v1/admin/audit?limit=2', { token: admin }), 200);
  assert.equal(p1.json.data.length, 2);
  assert.ok(p1.json.next_cursor);
  const p2 = expectStatus(await api('GET', `/v1/admin/audit?limit=2&cursor=${p1.json.next_cursor}`, { token: admin }), 200);
  assert.ok(BigInt(p2.json.data[0].id) < BigInt(p1.json.data[1].id), 'next page continues after the first');
  expectError(await api('GET', '/v1/admin/audit'), 401, 'unauthenticated');
  const u = await newUser('aud');
  expectError(await api('GET', '/v1/admin/audit', { token: u.token }), 403, 'forbidden');
  expectError(await api('GET', '/v1/admin/audit?actor_id=abc', { token: admin }), 400, 'invalid_argument', 'actor_id');
  expectError(await api('GET', '/v1/admin/audit?bogus=1', { token: admin }), 400, 'invalid_argument', 'bogus');
});
