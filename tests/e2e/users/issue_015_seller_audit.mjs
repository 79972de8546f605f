// Issue 15, item 15: a seller decision's audit row is found by the application it decided:
// GET /v1/admin/audit?target_type=seller_application&target_id=<application id> returns
// exactly that decision (the user whose role changed is in its detail).
import { api, asAdmin, assert, expectStatus, newUser } from '../lib.mjs';

const application = { business_name: 'Wombat Wares', legal_name: 'Wombat Wares Ltd', country: 'AU', tax_id: 'AU51824753556',
  address: '1 George St, Sydney NSW 2000' };

export default [
  { name: 'issue 15: approve and reject audit rows are found by the application id', fn: async () => {
    const u = await newUser(), admin = await asAdmin();
    const audit = async (q) => expectStatus(await api('GET', `/v1/admin/audit?${q}&limit=100`, { token: admin.token }), 200).json.data;
    const first = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application }), 201).json.data;
    expectStatus(await api('POST', `/v1/admin/sellers/applications/${first.id}/reject`,
      { token: admin.token, body: { reason: 'address does not match' } }), 200);
    const second = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application }), 201).json.data;
    expectStatus(await api('POST', `/v1/admin/sellers/applications/${second.id}/approve`, { token: admin.token }), 200);

    const rej = await audit(`target_type=seller_application&target_id=${first.id}`);
    assert.deepEqual(rej.map((x) => x.action), ['seller.reject']);
    assert.equal(rej[0].target_id, first.id);
    assert.equal(rej[0].actor_id, admin.id);
    assert.equal(rej[0].detail.user_id, u.id);
    assert.equal(rej[0].detail.reason, 'address does not match');
    const ok = await audit(`target_id=${second.id}`);
    assert.deepEqual(ok.map((x) => [x.action, x.target_type, x.target_id]), [['seller.approve', 'seller_application', second.id]]);
    assert.equal(ok[0].detail.decision, 'approved');
    // every decision shows under the type filter
    const all = (await audit('target_type=seller_application')).map((x) => x.target_id);
    assert.ok(all.includes(first.id) && all.includes(second.id));
  } },
];
