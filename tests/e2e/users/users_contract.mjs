// The user operations no other story reached (the contract report, tests/contract/
// validate.mjs, listed them): unblocking and lifting a suspension.
import { story, assert, api, newUser, asAdmin, expectStatus, expectError } from '../lib.mjs';

story('unblock: the block goes, following works again; strangers are 401, bad ids 404', async () => {
  const a = await newUser('ub'), b = await newUser('ub');
  expectStatus(await api('POST', `/v1/users/${a.id}/block`, { token: b.token }), 204);
  expectError(await api('POST', `/v1/users/${b.id}/follow`, { token: a.token }), 403, 'blocked');
  expectError(await api('DELETE', `/v1/users/${a.id}/block`), 401);
  expectError(await api('DELETE', '/v1/users/nope/block', { token: b.token }), 404, 'not_found', 'id');
  expectStatus(await api('DELETE', `/v1/users/${a.id}/block`, { token: b.token }), 204);
  expectStatus(await api('DELETE', `/v1/users/${a.id}/block`, { token: b.token }), 204); // already gone: the same
  expectStatus(await api('POST', `/v1/users/${b.id}/follow`, { token: a.token }), 204);
});

story('unsuspend: an admin lifts a suspension and the account signs in again; users get 403, strangers 401', async () => {
  const admin = (await asAdmin()).token, u = await newUser('us');
  const s = expectStatus(await api('POST', `/v1/admin/users/${u.id}/suspend`, { token: admin, body: { reason: 'test' } }), 200);
  assert.equal(s.json.data.suspended, true);
  expectError(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } }), 403, 'account_suspended');
  expectError(await api('POST', `/v1/admin/users/${u.id}/unsuspend`), 401);
  expectError(await api('POST', `/v1/admin/users/${u.id}/unsuspend`, { token: (await newUser('us')).token }), 403);
  expectError(await api('POST', '/v1/admin/users/1/unsuspend', { token: admin }), 404, 'not_found', 'id');
  const r = expectStatus(await api('POST', `/v1/admin/users/${u.id}/unsuspend`, { token: admin }), 200);
  assert.deepEqual(r.json.data, { id: u.id, suspended: false, suspended_until: null });
  expectStatus(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } }), 200);
  // lifting again changes nothing
  assert.equal(expectStatus(await api('POST', `/v1/admin/users/${u.id}/unsuspend`, { token: admin }), 200).json.data.suspended, false);
});
