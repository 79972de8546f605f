// k_market_race: 300 checkouts spread over the three instances (one PostgreSQL) race for
// a 10-unit product: exactly 10 orders, stock 0, every other buyer a 409 out_of_stock; the
// 10 are paid (sandbox) through different instances and the ledger balances. The stock
// is taken by one conditional UPDATE per line, so no instance can oversell another's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lastCode } from '../e2e/lib.mjs';
import * as c from './cluster.mjs';

let n = 0;
// A verified user signed up on instance 1 (its outbox has the code); its own client
// address, since the per-IP sign-up limits are the production ones here.
async function user(prefix) {
  const handle = `${prefix}${Date.now().toString(36)}${(n++).toString(36)}`.slice(0, 24);
  const email = `${handle}@multi.test`, password = 'Sunny-day-2026';
  const xff = `198.51.100.${(n % 250) + 1}`;
  const s = await c.call(c.PORTS[0], 'POST', '/v1/auth/signup', { body: { email, password, handle }, headers: { 'x-forwarded-for': xff } });
  assert.equal(s.status, 202, s.text);
  const code = lastCode(email, 'verify_email', { dataDir: join(c.WORK, 'data-1') });
  const v = await c.call(c.PORTS[0], 'POST', '/v1/auth/verify-email', { body: { email, code }, headers: { 'x-forwarded-for': xff } });
  assert.equal(v.status, 200, v.text);
  return { id: v.json.data.user.id, token: v.json.data.access_token, refresh: v.json.data.refresh_token };
}

export default [{
  name: 'market: 300 checkouts over 3 instances on 10 units: 10 orders, stock 0, all paid, ledger balanced',
  async fn(t) {
    const admin = await c.adminSignin(t);
    const at = (i, method, path, token, body, headers) => c.call(c.PORTS[i % 3], method, path, { token, body, headers });
    const seller = await user('ks');
    const app = await at(0, 'POST', '/v1/sellers/applications', seller.token, { business_name: 'Race', legal_name: 'Race GmbH',
      country: 'DE', tax_id: 'DE123456789', address: 'Hauptstr. 1, Berlin', description: 'race' });
    assert.equal(app.status, 201, app.text);
    assert.equal((await at(1, 'POST', `/v1/admin/sellers/applications/${app.json.data.id}/approve`, admin.access_token)).status, 200);
    assert.equal((await at(2, 'PUT', `/v1/admin/trusted-sellers/${seller.id}`, admin.access_token)).status, 200);
    const st = (await at(0, 'POST', '/v1/auth/refresh', null, { refresh_token: seller.refresh })).json.data.access_token;
    const p = await at(1, 'POST', '/v1/products', st, { title: 'Race', currency: 'EUR', submit: true, variants: [{ sku: 'R', price: 500, stock: 10 }] });
    assert.equal(p.status, 201, p.text);
    const vid = p.json.data.variants[0].id;
    const buyers = [];
    for (let i = 0; i < 15; i++) {
      const b = await user('kb');
      const a = await at(i, 'POST', '/v1/me/addresses', b.token, { name: 'B', line1: 'Main St 1', city: 'Berlin', postal_code: '10115', country: 'DE' });
      b.addr = a.json.data.id;
      buyers.push(b);
    }
    const res = await Promise.all(Array.from({ length: 300 }, (_, i) => {
      const b = buyers[i % buyers.length];
      return at(i, 'POST', '/v1/orders', b.token, { items: [{ variant_id: vid, quantity: 1 }], address_id: b.addr },
        { 'idempotency-key': `race-${i}` }).then((r) => ({ r, b }));
    }));
    const ok = res.filter((x) => x.r.status === 201), other = res.filter((x) => x.r.status !== 201);
    t.log(`300 checkouts over 3 instances: ${ok.length} orders, ${other.filter((x) => x.r.status === 409).length} out_of_stock, ` +
      `${other.filter((x) => x.r.status !== 409).length} other`);
    assert.equal(ok.length, 10);
    assert.ok(other.every((x) => x.r.status === 409 && x.r.json.error.code === 'out_of_stock'), JSON.stringify(other.find((x) => x.r.status !== 409)?.r.json));
    const prod = await at(2, 'GET', `/v1/products/${p.json.data.id}`);
    assert.equal(prod.json.data.variants[0].stock, 0);
    let k = 0;
    for (const { r, b } of ok) {
      const pay = await at(k++, 'POST', '/v1/payments', b.token, { checkout_id: r.json.data.checkout_id });
      assert.equal(pay.status, 201, pay.text);
      const s = await at(k++, 'POST', `/v1/sandbox/payments/${pay.json.data.id}/settle`, b.token, { outcome: 'succeed' });
      assert.equal(s.status, 200, s.text);
      assert.equal(s.json.data.status, 'succeeded');
    }
    const paid = await at(0, 'GET', '/v1/sellers/me/orders?status=paid&limit=100', st);
    assert.equal(paid.json.data.length, 10);
    const chk = (await at(1, 'GET', '/v1/admin/ledger/check', admin.access_token)).json.data;
    assert.equal(chk.unbalanced_transactions, 0);
    assert.deepEqual(chk.seller_mismatches, []);
    assert.deepEqual(chk.cash_mismatches, []);
  },
}];
