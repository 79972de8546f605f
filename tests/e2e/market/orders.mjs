// Checkout and orders: one order per seller, stock reserved atomically, idempotent by
// key, the legal transitions only, buyer / seller / admin views; the ledger balances
// after every story.
import { api, asAdmin, assert, expectError, expectStatus, newUser, unique } from '../lib.mjs';
import { checkout, ledgerOk, newAddress, newProduct, newSeller, paySandbox } from './market_lib.mjs';

const stockOf = async (p) => expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data.variants[0].stock;

export default [
  { name: 'checkout makes one order per seller, pays with the sandbox, books the ledger; views per role', fn: async () => {
    const s1 = await newSeller('os'), s2 = await newSeller('ot'), b = await newUser('ob'), other = await newUser('oo'), admin = await asAdmin();
    const p1 = await newProduct(s1, { price: 1000 }), p2 = await newProduct(s2, { price: 250 });
    const r = expectStatus(await checkout(b, [{ variant_id: p1.variants[0].id, quantity: 2 }, { variant_id: p2.variants[0].id, quantity: 1, product_id: p2.id }]), 201).json.data;
    assert.equal(r.orders.length, 2);
    const o1 = r.orders.find((o) => o.seller_id === s1.id), o2 = r.orders.find((o) => o.seller_id === s2.id);
    assert.equal(o1.subtotal, 2000);
    assert.equal(o1.shipping, 600); // 500 flat + 100 per extra item
    assert.equal(o1.total, 2600);
    assert.equal(o2.total, 750);
    assert.equal(r.total, 3350);
    assert.equal(o1.status, 'pending_payment');
    assert.equal(await stockOf(p1), 8);
    const { payment, settled } = await paySandbox(b, r.checkout_id);
    assert.equal(payment.amount, 3350);
    assert.equal(payment.status, 'pending');
    assert.ok(payment.client_secret);
    assert.equal(settled.status, 'succeeded');
    const v = expectStatus(await api('GET', `/v1/orders/${o1.id}`, { token: b.token }), 200).json.data;
    assert.equal(v.status, 'paid');
    assert.deepEqual(v.history.map((h) => h.to), ['pending_payment', 'paid']);
    expectStatus(await api('GET', `/v1/orders/${o1.id}`, { token: s1.token }), 200);
    expectStatus(await api('GET', `/v1/orders/${o1.id}`, { token: admin.token }), 200);
    expectError(await api('GET', `/v1/orders/${o1.id}`, { token: s2.token }), 404, 'not_found');
    expectError(await api('GET', `/v1/orders/${o1.id}`, { token: other.token }), 404, 'not_found');
    expectError(await api('GET', `/v1/orders/${o1.id}`), 401);
    expectError(await api('GET', `/v1/payments/${payment.id}`, { token: other.token }), 404);
    const mine = expectStatus(await api('GET', '/v1/orders', { token: b.token }), 200).json.data.map((o) => o.id).sort();
    assert.deepEqual(mine, [o1.id, o2.id].sort());
    const sold = expectStatus(await api('GET', '/v1/sellers/me/orders?status=paid', { token: s1.token }), 200).json.data.map((o) => o.id);
    assert.deepEqual(sold, [o1.id]);
    expectError(await api('GET', '/v1/sellers/me/orders', { token: b.token }), 403);
    expectError(await api('GET', '/v1/admin/orders', { token: s1.token }), 403);
    assert.ok(expectStatus(await api('GET', '/v1/admin/orders?status=paid&limit=100', { token: admin.token }), 200).json.data.some((o) => o.id === o1.id));
    // paying again: already paid
    expectError(await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } }), 409, 'already_paid');
    // the seller's balance: total - 10% platform fee
    const bal = expectStatus(await api('GET', '/v1/sellers/me/balance', { token: s1.token }), 200).json.data.balances;
    assert.deepEqual(bal.map((x) => [x.currency, x.available]), [['EUR', 2600 - 260]]);
    const earn = expectStatus(await api('GET', '/v1/sellers/me/earnings?period=month', { token: s1.token }), 200).json.data;
    assert.equal(earn.buckets[0].sales, 2340);
    for (const period of ['day', 'week']) assert.equal(expectStatus(await api('GET', `/v1/sellers/me/earnings?period=${period}`, { token: s1.token }), 200).json.data.buckets[0].net, 2340);
    expectError(await api('GET', '/v1/sellers/me/earnings?period=year', { token: s1.token }), 400, 'invalid_argument', 'period');
    const sum = expectStatus(await api('GET', '/v1/admin/ledger/summary', { token: admin.token }), 200).json.data.currencies.find((c) => c.currency === 'EUR');
    assert.ok(sum.platform_earnings >= 260 + 75 && sum.owed_to_sellers >= 2340, JSON.stringify(sum));
    assert.equal(sum.cash, sum.platform_earnings + sum.owed_to_sellers + sum.due_to_buyers - sum.processor_fees);
    await ledgerOk();
  } },
  { name: 'Idempotency-Key: the same key and body replay the same orders; another body is 422', fn: async () => {
    const s = await newSeller('oi'), b = await newUser('oib');
    const p = await newProduct(s, { stock: 5 });
    const key = unique('key-');
    const items = [{ variant_id: p.variants[0].id, quantity: 1 }];
    const a = expectStatus(await checkout(b, items, { key }), 201);
    const again = expectStatus(await checkout(b, items, { key }), 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.json.data.checkout_id, a.json.data.checkout_id);
    expectError(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 2 }], { key }), 422, 'idempotency_key_reused');
    assert.equal(await stockOf(p), 4); // taken once
    const noKey = await api('POST', '/v1/orders', { token: b.token, body: { items, address_id: b.address.id } });
    expectError(noKey, 400, 'invalid_argument', 'Idempotency-Key');
    await ledgerOk();
  } },
  { name: 'bad checkouts answer a clear error and change nothing', fn: async () => {
    const s = await newSeller('ox'), b = await newUser('oxb'), other = await newUser('oxo');
    const p = await newProduct(s, { stock: 5 }), usd = await newProduct(s, { currency: 'USD' }), q = await newProduct(s);
    const v = p.variants[0].id;
    const bad = async (items, status, code, field) => expectError(await checkout(b, items), status, code, field);
    await bad([{ variant_id: v, quantity: 0 }], 400, 'invalid_argument', 'items[0].quantity');
    await bad([{ variant_id: v, quantity: -1 }], 400, 'invalid_argument', 'items[0].quantity');
    await bad([{ variant_id: v, quantity: 1.5 }], 400, 'invalid_argument', 'items[0].quantity');
    await bad([{ variant_id: v, quantity: 101 }], 400, 'invalid_argument', 'items[0].quantity');
    await bad([{ variant_id: v, quantity: 6 }], 409, 'out_of_stock', 'items[0].variant_id');
    await bad([{ variant_id: v, quantity: 1 }, { variant_id: usd.variants[0].id, quantity: 1 }], 400, 'mixed_currency', 'items');
    await bad([{ variant_id: v, quantity: 1, product_id: q.id }], 400, 'invalid_argument', 'items[0].variant_id');
    await bad([{ variant_id: '12345', quantity: 1 }], 400, 'invalid_argument', 'items[0].variant_id');
    await bad([{ variant_id: v, quantity: 1 }, { variant_id: v, quantity: 1 }], 400, 'invalid_argument', 'items[1].variant_id');
    await bad([], 400, 'invalid_argument', 'items');
    // an out-of-stock second line rolls back the first line's stock too
    await bad([{ variant_id: q.variants[0].id, quantity: 1 }, { variant_id: v, quantity: 9 }], 409, 'out_of_stock', 'items[1].variant_id');
    expectError(await checkout(s, [{ variant_id: v, quantity: 1 }]), 400, 'own_product', 'items[0].variant_id');
    const foreign = await newAddress(other);
    expectError(await checkout(b, [{ variant_id: v, quantity: 1 }], { address: foreign }), 400, 'invalid_argument', 'address_id');
    expectError(await api('POST', '/v1/orders', { body: { items: [{ variant_id: v, quantity: 1 }], address_id: foreign.id } }), 401);
    assert.equal(await stockOf(p), 5);
    assert.equal(await stockOf(q), 10);
    assert.equal(expectStatus(await api('GET', '/v1/orders', { token: b.token }), 200).json.data.length, 0);
    // paying a cancelled order
    const r = expectStatus(await checkout(b, [{ variant_id: v, quantity: 2 }]), 201).json.data;
    expectError(await api('POST', `/v1/orders/${r.orders[0].id}/cancel`, { token: other.token }), 404);
    expectStatus(await api('POST', `/v1/orders/${r.orders[0].id}/cancel`, { token: b.token, body: {} }), 200);
    assert.equal(await stockOf(p), 5); // given back
    expectError(await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } }), 409, 'invalid_state', 'checkout_id');
    expectError(await api('POST', '/v1/payments', { token: other.token, body: { checkout_id: r.checkout_id } }), 404);
    expectError(await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id, provider: 'bitcoin' } }), 400, 'invalid_argument', 'provider');
    await ledgerOk();
  } },
  { name: 'checkout from the cart empties the bought lines', fn: async () => {
    const s = await newSeller('oc'), b = await newUser('ocb');
    const p = await newProduct(s, { stock: 3 });
    expectStatus(await api('PUT', `/v1/cart/items/${p.variants[0].id}`, { token: b.token, body: { quantity: 2 } }), 200);
    const addr = await newAddress(b);
    const r = expectStatus(await api('POST', '/v1/orders', { token: b.token, headers: { 'idempotency-key': unique('k') }, body: { address_id: addr.id } }), 201).json.data;
    assert.equal(r.orders[0].items[0].quantity, 2);
    assert.equal(expectStatus(await api('GET', '/v1/cart', { token: b.token }), 200).json.data.items.length, 0);
    expectError(await api('POST', '/v1/orders', { token: b.token, headers: { 'idempotency-key': unique('k') }, body: { address_id: addr.id } }), 400, 'invalid_argument', 'items');
  } },
  { name: 'order life: ship, deliver, refund request, partial refund, decline; illegal moves are 409', fn: async () => {
    const s = await newSeller('ol'), b = await newUser('olb'), other = await newSeller('olo'), admin = await asAdmin();
    const p = await newProduct(s, { price: 1000, stock: 5 });
    const r = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    const id = r.orders[0].id;
    const move = (who, what, body = {}) => api('POST', `/v1/orders/${id}/${what}`, { token: who.token, body });
    expectError(await move(s, 'ship', { carrier: 'DHL', tracking_number: '1' }), 409, 'invalid_transition'); // not paid
    await paySandbox(b, r.checkout_id);
    expectError(await move(b, 'ship', { carrier: 'DHL', tracking_number: '1' }), 409, 'invalid_transition');
    expectError(await move(other, 'ship', { carrier: 'DHL', tracking_number: '1' }), 404);
    expectError(await move(s, 'ship', { carrier: 'DHL' }), 400, 'invalid_argument', 'tracking_number');
    expectError(await move(b, 'cancel'), 409, 'invalid_transition'); // paid: only the seller cancels (with a refund)
    const shipped = expectStatus(await move(s, 'ship', { carrier: 'DHL', tracking_number: 'JD0001' }), 200).json.data;
    assert.equal(shipped.status, 'shipped');
    assert.equal(shipped.tracking_number, 'JD0001');
    expectError(await move(s, 'cancel'), 409, 'invalid_transition');
    expectError(await move(s, 'refund-request', { reason: 'x' }), 409, 'invalid_transition');
    expectStatus(await move(b, 'deliver'), 200);
    expectError(await move(b, 'refund-request', {}), 400, 'invalid_argument', 'reason');
    expectStatus(await move(b, 'refund-request', { reason: 'broken handle' }), 200);
    const back = expectStatus(await move(s, 'refund-decline', { reason: 'photos show no damage' }), 200).json.data;
    assert.equal(back.status, 'delivered');
    expectStatus(await move(b, 'refund-request', { reason: 'really broken' }), 200);
    expectError(await move(s, 'refund', { amount: 99999 }), 400, 'invalid_argument', 'amount');
    expectError(await move(s, 'refund', { amount: -1 }), 400, 'invalid_argument', 'amount');
    expectError(await move(b, 'refund', { amount: 100 }), 409, 'invalid_transition');
    const part = expectStatus(await move(s, 'refund', { amount: 400 }), 200).json.data;
    assert.equal(part.status, 'refunded');
    assert.equal(part.refunded, 400);
    const rest = expectStatus(await move(admin, 'refund', {}), 200).json.data; // the rest
    assert.equal(rest.refunded, 1500);
    expectError(await move(admin, 'refund', {}), 409, 'invalid_transition'); // nothing left
    // the refund jobs settle with the sandbox; then the ledger says the seller is owed 0
    for (let i = 0; i < 50; i++) {
      const bal = expectStatus(await api('GET', '/v1/sellers/me/balance', { token: s.token }), 200).json.data.balances;
      if (bal[0] && bal[0].available === 0 && !bal[0].on_hold) break;
      await new Promise((res) => setTimeout(res, 200));
      assert.ok(i < 49, 'refunds did not settle: ' + JSON.stringify(bal));
    }
    await ledgerOk();
  } },
  { name: 'a seller cancels a paid order: the whole order is refunded and the stock returns', fn: async () => {
    const s = await newSeller('oz'), b = await newUser('ozb');
    const p = await newProduct(s, { price: 700, stock: 2 });
    const r = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 2 }]), 201).json.data;
    await paySandbox(b, r.checkout_id);
    assert.equal(await stockOf(p), 0);
    const c = expectStatus(await api('POST', `/v1/orders/${r.orders[0].id}/cancel`, { token: s.token, body: { reason: 'cannot ship' } }), 200).json.data;
    assert.equal(c.status, 'cancelled');
    assert.equal(c.refunded, c.total);
    assert.equal(await stockOf(p), 2);
    await new Promise((res) => setTimeout(res, 1500));
    await ledgerOk();
  } },
];
