// Seller applications: a user applies once at a time, an admin approves (role becomes
// seller, audited) or rejects with a reason.
import { api, asAdmin, assert, expectError, expectStatus, newUser } from '../lib.mjs';

const application = (over = {}) => ({
  business_name: 'Koala Crafts', legal_name: 'Koala Crafts GmbH', country: 'DE', tax_id: 'DE123456789',
  address: 'Hauptstr. 1, 10115 Berlin', description: 'Hand-made things, live.', website: 'https://koala.example', ...over,
});

export default [
  { name: 'apply, a second pending application is 409, admin approves and the role becomes seller', fn: async () => {
    const u = await newUser(), admin = await asAdmin();
    const r = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application() }), 201);
    assert.equal(r.json.data.status, 'pending');
    assert.equal(r.json.data.legal_name, 'Koala Crafts GmbH');
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application() }), 409, 'conflict');
    const mine = expectStatus(await api('GET', '/v1/sellers/applications/me', { token: u.token }), 200);
    assert.equal(mine.json.data.id, r.json.data.id);
    const queue = expectStatus(await api('GET', '/v1/admin/sellers/applications?status=pending&limit=100', { token: admin.token }), 200);
    assert.ok(queue.json.data.some((a) => a.id === r.json.data.id));
    const ok = expectStatus(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/approve`, { token: admin.token }), 200);
    assert.equal(ok.json.data.status, 'approved');
    expectError(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/approve`, { token: admin.token }), 409);
    // one decision, one audit row: who approved which application, for whom
    const rows = expectStatus(await api('GET', `/v1/admin/audit?target_id=${u.id}&limit=100`, { token: admin.token }), 200).json.data
      .concat(expectStatus(await api('GET', `/v1/admin/audit?target_id=${r.json.data.id}&limit=100`, { token: admin.token }), 200).json.data);
    assert.deepEqual(rows.map((x) => x.action), ['seller.approve']);
    assert.equal(rows[0].target_type, 'seller_application');
    assert.equal(rows[0].target_id, r.json.data.id);
    assert.equal(rows[0].detail.user_id, u.id);
    // the role is read at refresh: the next access token says seller
    const t = expectStatus(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 200);
    assert.equal(t.json.data.user.role, 'seller');
    const me = expectStatus(await api('GET', '/v1/me', { token: t.json.data.access_token }), 200);
    assert.equal(me.json.data.role, 'seller');
    expectError(await api('POST', '/v1/sellers/applications', { token: t.json.data.access_token, body: application() }), 409);
  } },
  { name: 'admin rejects with a reason; the user may apply again', fn: async () => {
    const u = await newUser(), admin = await asAdmin();
    const r = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ website: undefined }) }), 201);
    expectError(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/reject`, { token: admin.token, body: {} }), 400, 'invalid_argument', 'reason');
    const no = expectStatus(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/reject`,
      { token: admin.token, body: { reason: 'tax id does not match the legal name' } }), 200);
    assert.equal(no.json.data.status, 'rejected');
    assert.equal(no.json.data.review_note, 'tax id does not match the legal name');
    expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application() }), 201);
    expectError(await api('POST', '/v1/admin/sellers/applications/1/approve', { token: admin.token }), 404);
  } },
  { name: 'seller applications: 400 names the field, 401 without a token, 403 for non-admins, 404 before applying', fn: async () => {
    const u = await newUser(), other = await newUser();
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ country: 'Germany' }) }), 400, 'invalid_argument', 'country');
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ country: 'de' }) }), 400, 'invalid_argument', 'country');
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ legal_name: undefined }) }), 400, 'invalid_argument', 'legal_name');
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ website: 'javascript:alert(1)' }) }), 400, 'invalid_argument', 'website');
    expectError(await api('POST', '/v1/sellers/applications', { token: u.token, body: application({ extra: 1 }) }), 400);
    expectError(await api('POST', '/v1/sellers/applications', { body: application() }), 401);
    expectError(await api('GET', '/v1/sellers/applications/me', { token: other.token }), 404);
    const r = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application() }), 201);
    expectError(await api('GET', '/v1/admin/sellers/applications', { token: u.token }), 403, 'forbidden');
    expectError(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/approve`, { token: other.token }), 403);
    expectError(await api('POST', `/v1/admin/sellers/applications/${r.json.data.id}/approve`), 401);
    const admin = await asAdmin();
    expectError(await api('GET', '/v1/admin/sellers/applications?status=maybe', { token: admin.token }), 400, 'invalid_argument', 'status');
  } },
];
