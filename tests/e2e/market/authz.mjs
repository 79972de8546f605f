// Every market route: 401 without a token where one is needed, 403 for a plain buyer on
// seller and admin routes, 403 for a seller on admin routes; another seller's or buyer's
// object is 404 (covered per route in products, orders and payments stories).
import { api, assert, newUser } from '../lib.mjs';
import { newSeller } from './market_lib.mjs';

const ID = '123456789';
// [method, path, who may call: 'auth' any signed-in user, 'seller', 'moderator', 'admin']
const ROUTES = [
  ['POST', '/v1/products', 'seller'], ['PATCH', `/v1/products/${ID}`, 'seller'], ['POST', `/v1/products/${ID}/submit`, 'seller'],
  ['POST', `/v1/products/${ID}/archive`, 'seller'], ['POST', `/v1/products/${ID}/variants`, 'seller'],
  ['PATCH', `/v1/products/${ID}/variants/${ID}`, 'seller'], ['GET', '/v1/sellers/me/products', 'seller'],
  ['GET', '/v1/admin/products', 'moderator'], ['POST', `/v1/admin/products/${ID}/approve`, 'moderator'],
  ['POST', `/v1/admin/products/${ID}/reject`, 'moderator'], ['PUT', `/v1/admin/trusted-sellers/${ID}`, 'admin'],
  ['DELETE', `/v1/admin/trusted-sellers/${ID}`, 'admin'], ['GET', '/v1/cart', 'auth'], ['PUT', `/v1/cart/items/${ID}`, 'auth'],
  ['DELETE', `/v1/cart/items/${ID}`, 'auth'], ['DELETE', '/v1/cart', 'auth'], ['GET', '/v1/me/addresses', 'auth'],
  ['POST', '/v1/me/addresses', 'auth'], ['DELETE', `/v1/me/addresses/${ID}`, 'auth'], ['POST', '/v1/orders', 'auth'],
  ['GET', '/v1/orders', 'auth'], ['GET', `/v1/orders/${ID}`, 'auth'], ['POST', `/v1/orders/${ID}/cancel`, 'auth'],
  ['POST', `/v1/orders/${ID}/ship`, 'auth'], ['POST', `/v1/orders/${ID}/deliver`, 'auth'],
  ['POST', `/v1/orders/${ID}/refund-request`, 'auth'], ['POST', `/v1/orders/${ID}/refund`, 'auth'],
  ['POST', `/v1/orders/${ID}/refund-decline`, 'auth'], ['GET', '/v1/sellers/me/orders', 'seller'], ['GET', '/v1/admin/orders', 'admin'],
  ['POST', '/v1/payments', 'auth'], ['GET', `/v1/payments/${ID}`, 'auth'], ['POST', `/v1/sandbox/payments/${ID}/settle`, 'auth'],
  ['POST', '/v1/admin/payments/reconcile', 'admin'], ['GET', '/v1/admin/ledger/check', 'admin'], ['POST', '/v1/admin/payouts/run', 'admin'],
  ['GET', '/v1/sellers/me/balance', 'seller'], ['GET', '/v1/sellers/me/earnings', 'seller'], ['PUT', '/v1/sellers/me/payout-account', 'seller'],
  ['GET', '/v1/sellers/me/payouts', 'seller'], ['GET', '/v1/admin/ledger/summary', 'admin'],
];

export default [
  { name: 'every market route refuses the anonymous (401) and the wrong role (403)', fn: async () => {
    const buyer = await newUser('az'), seller = await newSeller('azs', { trusted: false });
    for (const [method, path, who] of ROUTES) {
      const anon = await api(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      assert.equal(anon.status, 401, `${method} ${path} anonymous: ${anon.status}`);
      const asBuyer = await api(method, path, { token: buyer.token, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      if (who !== 'auth') assert.equal(asBuyer.status, 403, `${method} ${path} as a buyer: ${asBuyer.status}`);
      else assert.notEqual(asBuyer.status, 403, `${method} ${path} as a buyer: 403`);
      if (who === 'moderator' || who === 'admin') {
        const asSeller = await api(method, path, { token: seller.token, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        assert.equal(asSeller.status, 403, `${method} ${path} as a seller: ${asSeller.status}`);
      }
    }
    // the public reads and the webhook need no token
    assert.equal((await api('GET', '/v1/products')).status, 200);
    assert.equal((await api('GET', `/v1/products/${ID}`)).status, 404);
    assert.equal((await api('POST', '/v1/payments/webhooks/sandbox', { raw: '{}', headers: { 'content-type': 'application/json' } })).status, 400);
  } },
];
