// Helpers of the marketplace stories: sellers, products, checkouts, payments, and the
// ledger check every story ends with.
import { api, asAdmin, assert, expectStatus, newUser, unique } from '../lib.mjs';

// An approved seller (application approved by the admin, token refreshed to say seller).
export async function newSeller(prefix = 's', { trusted = true } = {}) {
  const u = await newUser(prefix), admin = await asAdmin();
  const app = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: {
    business_name: 'Shop ' + u.handle, legal_name: 'Shop GmbH', country: 'DE', tax_id: 'DE123456789',
    address: 'Hauptstr. 1, Berlin', description: 'things' } }), 201).json.data;
  expectStatus(await api('POST', `/v1/admin/sellers/applications/${app.id}/approve`, { token: admin.token }), 200);
  const t = expectStatus(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 200).json.data;
  u.token = t.access_token; u.refresh = t.refresh_token;
  if (trusted) expectStatus(await api('PUT', `/v1/admin/trusted-sellers/${u.id}`, { token: admin.token }), 200);
  return u;
}

export const productBody = (over = {}) => ({
  title: 'Koala mug ' + unique(''), description: 'A mug with a koala on it', currency: 'EUR',
  shipping: { flat: 500, per_extra: 100 }, tags: ['mug', 'koala'],
  variants: [{ sku: 'MUG-1', title: 'white', price: 1500, stock: 10 }], submit: true, ...over,
});

// An active product (trusted seller: auto-approved) with the given stock on one variant.
export async function newProduct(seller, { stock = 10, price = 1500, currency = 'EUR', ...over } = {}) {
  const p = expectStatus(await api('POST', '/v1/products', { token: seller.token,
    body: productBody({ currency, variants: [{ sku: 'SKU-' + unique(''), title: 'one', price, stock }], ...over }) }), 201).json.data;
  return p;
}

export async function newAddress(u) {
  return expectStatus(await api('POST', '/v1/me/addresses', { token: u.token, body: {
    name: 'Buyer', line1: 'Main St 1', city: 'Berlin', postal_code: '10115', country: 'DE' } }), 201).json.data;
}

export async function checkout(buyer, items, { key = unique('k'), address } = {}) {
  if (!address) address = buyer.address || (buyer.address = await newAddress(buyer));
  return api('POST', '/v1/orders', { token: buyer.token, headers: { 'idempotency-key': key },
    body: { items, address_id: address.id } });
}

// Pays a checkout with the sandbox: create the payment, then settle it.
export async function paySandbox(buyer, checkoutId, outcome = 'succeed') {
  const p = expectStatus(await api('POST', '/v1/payments', { token: buyer.token, body: { checkout_id: checkoutId, provider: 'sandbox' } }), 201).json.data;
  const r = expectStatus(await api('POST', `/v1/sandbox/payments/${p.id}/settle`, { token: buyer.token, body: { outcome } }), 200).json.data;
  return { payment: p, settled: r };
}

// The ledger's invariants: every transaction sums to zero, the whole ledger sums to zero,
// and each seller's balance equals what their orders, refunds and payouts say it must be.
export async function ledgerOk() {
  const admin = await asAdmin();
  const r = expectStatus(await api('GET', '/v1/admin/ledger/check', { token: admin.token }), 200).json.data;
  assert.equal(r.unbalanced_transactions, 0, JSON.stringify(r));
  assert.deepEqual(r.total_by_currency.filter((x) => x.sum !== 0), [], JSON.stringify(r));
  assert.deepEqual(r.seller_mismatches, [], JSON.stringify(r));
  return r;
}

// A confirmed product_image upload of `u` (media service): its id, ready to be claimed.
export async function productImage(u) {
  const { corpus, newUpload, putBytes } = await import('../media/media_support.mjs');
  const { URL_BASE } = await import('../lib.mjs');
  const bytes = corpus().png;
  const up = await newUpload(u.token, bytes, { purpose: 'product_image', type: 'image/png' });
  const put = await putBytes(up, bytes, { base: URL_BASE });
  assert.ok(put.status < 300, `upload PUT: ${put.status} ${put.text}`);
  expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202); // processing: claimable
  return up.id;
}
