// Fault walks (docs/internals/testing.md) over the money paths: fail the Nth database
// step or allocation of one request, for N = 1, 2, ... until the request makes fewer
// events. Every run must end in the success reply or a clean 500/503 envelope, and the
// books must agree afterwards: a checkout takes stock exactly when it made an order; a
// payment that failed half-way is finished by a retry or by reconciliation, once; the
// ledger check is clean at the end.
import { api, asAdmin, assert, expectStatus, newUser, unique } from '../lib.mjs';
import { checkout, ledgerOk, newProduct, newSeller } from './market_lib.mjs';

const arm = async (kind, nth) => expectStatus(await api('POST', '/v1/_debug/fault', { body: { kind, nth, scope: 'request' } }), 200);
const disarm = async () => (await api('DELETE', '/v1/_debug/fault')).json?.data?.last;
function clean(res, ok, what) {
  if (ok.includes(res.status)) return true;
  assert.ok(res.status === 500 || res.status === 503, `${what}: want ${ok} or a clean 500/503, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.ok(res.json?.error?.code && res.json?.error?.message, `${what}: no error envelope: ${res.text.slice(0, 200)}`);
  return false;
}

async function setup() {
  if ((await api('GET', '/v1/_debug/fault')).status === 404) return null; // release build or no --dev
  const s = await newSeller('fs'), buyers = [];
  for (let i = 0; i < 6; i++) buyers.push(await newUser('fb'));
  const p = await newProduct(s, { stock: 100000, price: 300 });
  return { s, buyers, p, vid: p.variants[0].id };
}
const stockOf = async (p) => expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data.variants[0].stock;
const ordersOf = async (b) => expectStatus(await api('GET', '/v1/orders?limit=100', { token: b.token }), 200).json.data.length;

export default [
  { name: 'fault walk: checkout takes stock exactly when it makes an order', timeout: 240000, fn: async () => {
    const w = await setup();
    if (!w) return;
    for (const kind of ['db', 'alloc']) {
      let n = 1, runs = 0, failed = 0;
      for (; n < 600; n++) {
        const b = w.buyers[n % w.buyers.length];
        if (!b.address) await checkout(b, [{ variant_id: w.vid, quantity: 0 }]); // makes the address, no order
        const stock0 = await stockOf(w.p), orders0 = await ordersOf(b);
        await arm(kind, n);
        const res = await checkout(b, [{ variant_id: w.vid, quantity: 1 }], { key: unique('fk') });
        const last = await disarm();
        runs++;
        const ok = clean(res, [201], `checkout ${kind} #${n}`);
        if (!ok) failed++;
        const made = (await ordersOf(b)) - orders0, taken = stock0 - (await stockOf(w.p));
        assert.equal(taken, made, `checkout ${kind} #${n}: stock taken ${taken} but orders made ${made}`);
        if (ok) assert.equal(made, 1, `checkout ${kind} #${n}: 201 without an order`);
        if (!ok && kind === 'db') assert.equal(made, 0, `checkout db #${n}: answered ${res.status} but committed`);
        if (!last || !last.fired) break;
      }
      console.log(`     checkout ${kind}: ${n - 1} events, ${runs} runs, ${failed} clean failures`);
    }
    await ledgerOk();
  } },
  { name: 'fault walk: paying (create and settle) ends paid exactly once after a retry or reconciliation', timeout: 240000, fn: async () => {
    const w = await setup();
    if (!w) return;
    const admin = await asAdmin();
    for (const step of ['create', 'settle']) {
      for (const kind of ['db', 'alloc']) {
        let n = 1, failed = 0;
        for (; n < 400; n++) {
          const b = w.buyers[n % w.buyers.length];
          const r = expectStatus(await checkout(b, [{ variant_id: w.vid, quantity: 1 }], { key: unique('fp') }), 201).json.data;
          let pay = null;
          if (step === 'settle') pay = expectStatus(await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } }), 201).json.data;
          await arm(kind, n);
          const res = step === 'create'
            ? await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } })
            : await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: b.token, body: { outcome: 'succeed' } });
          const last = await disarm();
          if (!clean(res, step === 'create' ? [201] : [200], `${step} ${kind} #${n}`)) failed++;
          // finish the job as a client and the reconciliation job would
          if (step === 'create') {
            const again = await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } });
            assert.ok([200, 201].includes(again.status), `${step} ${kind} #${n}: retry answered ${again.status} ${again.text.slice(0, 200)}`);
            pay = again.json.data;
            if (pay.status === 'pending') expectStatus(await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: b.token, body: { outcome: 'succeed' } }), 200);
          } else {
            expectStatus(await api('POST', '/v1/admin/payments/reconcile', { token: admin.token, body: { min_age_seconds: 0 } }), 200);
            const now = expectStatus(await api('GET', `/v1/payments/${pay.id}`, { token: b.token }), 200).json.data;
            if (now.status === 'pending') expectStatus(await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: b.token, body: { outcome: 'succeed' } }), 200);
          }
          const o = expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { token: b.token }), 200).json.data;
          assert.equal(o.status, 'paid', `${step} ${kind} #${n}: order is ${o.status}`);
          if (!last || !last.fired) break;
        }
        console.log(`     pay ${step} ${kind}: ${n - 1} events, ${failed} clean failures`);
        await ledgerOk();
      }
    }
  } },
];
