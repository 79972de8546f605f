// Payments: webhooks verified and applied exactly once, a provider outage leaves nothing
// half-done, payouts, the hold expiry, reconciliation after a crash, and 500 buyers racing
// for 10 units. The ledger balances after every story.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, asAdmin, assert, expectError, expectStatus, freePort, newUser, withServer } from '../lib.mjs';
import { checkout, ledgerOk, newProduct, newSeller, paySandbox } from './market_lib.mjs';

const hook = (body, signature, base) => api('POST', '/v1/payments/webhooks/sandbox', { base, raw: body,
  headers: { 'content-type': 'application/json', 'sandbox-signature': signature } });

export default [
  { name: 'a replayed webhook changes nothing; bad, stale and unsigned deliveries are 400; unknown types are ignored', fn: async () => {
    const s = await newSeller('ws'), b = await newUser('wb');
    const p = await newProduct(s, { price: 900 });
    const r = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    const { settled } = await paySandbox(b, r.checkout_id);
    const before = await ledgerOk();
    const { body, signature } = settled.delivery;
    const again = expectStatus(await hook(body, signature), 200).json.data;
    assert.equal(again.duplicate, true);
    const after = await ledgerOk();
    assert.equal(after.transactions, before.transactions);
    // one hex digit changed (to another digit: '0' over a '0' was the same signature, 1 run in 16)
    expectError(await hook(body, signature.replace(/v1=(.)/, (_, c) => `v1=${c === '0' ? '1' : '0'}`)), 400, 'invalid_signature');
    expectError(await hook(body + ' ', signature), 400, 'invalid_signature');
    expectError(await hook(body, ''), 400, 'invalid_signature');
    const stale = signature.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000) - 400}`);
    expectError(await hook(body, stale), 400, 'invalid_signature');
    expectError(await api('POST', '/v1/payments/webhooks/nope', { raw: body, headers: { 'content-type': 'application/json' } }), 404);
    // paying twice: the settle route refuses a settled payment
    const pay = expectStatus(await api('GET', `/v1/payments/${settled.id}`, { token: b.token }), 200).json.data;
    expectError(await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: b.token, body: { outcome: 'succeed' } }), 409, 'invalid_state');
    expectError(await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: b.token, body: { outcome: 'maybe' } }), 400, 'invalid_argument', 'outcome');
    expectError(await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { token: s.token, body: { outcome: 'fail' } }), 404);
    expectError(await api('GET', `/v1/payments/${pay.id}`), 401);
    assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { token: b.token }), 200).json.data.status, 'paid');
  } },
  { name: 'a failed payment leaves the order pending; a new payment may follow and succeed', fn: async () => {
    const s = await newSeller('wf'), b = await newUser('wfb');
    const p = await newProduct(s, { price: 900 });
    const r = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    const first = await paySandbox(b, r.checkout_id, 'fail');
    assert.equal(first.settled.status, 'failed');
    assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { token: b.token }), 200).json.data.status, 'pending_payment');
    const second = await paySandbox(b, r.checkout_id, 'succeed');
    assert.notEqual(second.payment.id, first.payment.id);
    assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { token: b.token }), 200).json.data.status, 'paid');
    await ledgerOk();
  } },
  { name: 'the provider unreachable: 503 with Retry-After and nothing half-done; a retry then works', fn: async () => {
    const s = await newSeller('wu'), b = await newUser('wub');
    const p = await newProduct(s);
    const r = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    expectStatus(await api('POST', '/v1/_debug/fault', { body: { kind: 'call', nth: 1, scope: 'request' } }), 200);
    const res = await api('POST', '/v1/payments', { token: b.token, body: { checkout_id: r.checkout_id } });
    expectError(res, 503, 'provider_unavailable');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    await api('DELETE', '/v1/_debug/fault');
    assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { token: b.token }), 200).json.data.status, 'pending_payment');
    const { settled } = await paySandbox(b, r.checkout_id);
    assert.equal(settled.status, 'succeeded');
    await ledgerOk();
  } },
  { name: 'payouts: a seller with an account is paid the balance over the minimum, once; holds while a refund is open', fn: async () => {
    const s = await newSeller('wp'), b = await newUser('wpb'), admin = await asAdmin();
    expectError(await api('PUT', '/v1/sellers/me/payout-account', { token: s.token, body: { provider: 'nope', destination: 'x' } }), 400, 'invalid_argument', 'provider');
    expectError(await api('PUT', '/v1/sellers/me/payout-account', { token: b.token, body: { provider: 'sandbox', destination: 'x' } }), 403);
    expectStatus(await api('PUT', '/v1/sellers/me/payout-account', { token: s.token, body: { provider: 'sandbox', destination: 'acct_test' } }), 200);
    const p = await newProduct(s, { price: 5000 });
    const r1 = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    await paySandbox(b, r1.checkout_id);
    const r2 = expectStatus(await checkout(b, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    await paySandbox(b, r2.checkout_id);
    // an open refund request holds the payout
    expectStatus(await api('POST', `/v1/orders/${r2.orders[0].id}/refund-request`, { token: b.token, body: { reason: 'changed my mind' } }), 200);
    expectStatus(await api('POST', '/v1/admin/payouts/run', { token: admin.token }), 200);
    assert.equal(expectStatus(await api('GET', '/v1/sellers/me/payouts', { token: s.token }), 200).json.data.length, 0);
    expectStatus(await api('POST', `/v1/orders/${r2.orders[0].id}/refund`, { token: s.token, body: {} }), 200);
    for (let i = 0; i < 50; i++) {
      const bal = expectStatus(await api('GET', '/v1/sellers/me/balance', { token: s.token }), 200).json.data.balances[0];
      if (!bal.on_hold) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expectStatus(await api('POST', '/v1/admin/payouts/run', { token: admin.token }), 200);
    const po = expectStatus(await api('GET', '/v1/sellers/me/payouts', { token: s.token }), 200).json.data;
    assert.equal(po.length, 1);
    assert.equal(po[0].status, 'paid');
    assert.equal(po[0].amount, 5500 - 550); // one order kept: total minus the 10% fee
    const bal = expectStatus(await api('GET', '/v1/sellers/me/balance', { token: s.token }), 200).json.data.balances[0];
    assert.equal(bal.available, 0);
    expectStatus(await api('POST', '/v1/admin/payouts/run', { token: admin.token }), 200);
    assert.equal(expectStatus(await api('GET', '/v1/sellers/me/payouts', { token: s.token }), 200).json.data.length, 1);
    expectError(await api('POST', '/v1/admin/payouts/run', { token: s.token }), 403);
    await ledgerOk();
  } },
  { name: '500 concurrent buyers on a 10-unit product: exactly 10 orders and 10 paid, stock 0, the rest out_of_stock', timeout: 120000, fn: async () => {
    const s = await newSeller('wc');
    const p = await newProduct(s, { stock: 10, price: 100 });
    const buyers = [];
    for (let i = 0; i < 25; i++) buyers.push(await newUser('wcb'));
    // 500 checkouts by 25 accounts (20 each, own keys), all in flight at once
    for (const b of buyers) await checkout(b, [{ variant_id: p.variants[0].id, quantity: 0 }]).catch(() => {}); // address made
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => checkout(buyers[i % 25], [{ variant_id: p.variants[0].id, quantity: 1 }])));
    const ok = results.filter((r) => r.status === 201), no = results.filter((r) => r.status !== 201);
    assert.equal(ok.length, 10, JSON.stringify(no.slice(0, 3).map((r) => r.json)));
    assert.ok(no.every((r) => r.status === 409 && r.json.error.code === 'out_of_stock'), JSON.stringify(no.find((r) => r.status !== 409)?.json));
    const prod = expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data;
    assert.equal(prod.variants[0].stock, 0);
    assert.equal(prod.in_stock, false);
    await Promise.all(ok.map(async (r, i) => {
      const owner = buyers.find((b) => b.id === r.json.data.orders[0].buyer_id);
      await paySandbox(owner, r.json.data.checkout_id);
      return i;
    }));
    const paid = expectStatus(await api('GET', '/v1/sellers/me/orders?status=paid&limit=100', { token: s.token }), 200).json.data;
    assert.equal(paid.length, 10);
    assert.equal(expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data.sold_count, 10);
    await ledgerOk();
  } },
  { name: 'an unpaid order is cancelled when its hold ends and the stock returns; paying it then is refused', timeout: 60000, fn: async () => {
    await withServer({ args: ['--order-hold-seconds', '1', '--dev'], env: { VIDZO_TOTP_OPTIONAL: '1' } }, async ({ url, dir }) => {
      const s = await newSeller2(url, dir), b = await newUser('he', { base: url, dataDir: dir });
      const p = expectStatus(await api('POST', '/v1/products', { base: url, token: s.token, body: {
        title: 'Hold', currency: 'EUR', variants: [{ sku: 'H', price: 100, stock: 1 }], submit: true } }), 201).json.data;
      const a = expectStatus(await api('POST', '/v1/me/addresses', { base: url, token: b.token, body: { name: 'B', line1: 'x', city: 'y', postal_code: '1', country: 'DE' } }), 201).json.data;
      const r = expectStatus(await api('POST', '/v1/orders', { base: url, token: b.token, headers: { 'idempotency-key': 'h1' },
        body: { items: [{ variant_id: p.variants[0].id, quantity: 1 }], address_id: a.id } }), 201).json.data;
      let o;
      for (let i = 0; i < 40; i++) {
        o = expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { base: url, token: b.token }), 200).json.data;
        if (o.status === 'cancelled') break;
        await new Promise((res) => setTimeout(res, 250));
      }
      assert.equal(o.status, 'cancelled');
      assert.equal(expectStatus(await api('GET', `/v1/products/${p.id}`, { base: url }), 200).json.data.variants[0].stock, 1);
      expectError(await api('POST', '/v1/payments', { base: url, token: b.token, body: { checkout_id: r.checkout_id } }), 409, 'invalid_state');
    });
  } },
  { name: 'crash drill: killed between the provider\'s success and our commit, reconciliation applies it once', timeout: 60000, fn: async () => {
    const bin = process.env.VZ_TEST_BIN;
    const dir = mkdtempSync(join(tmpdir(), 'vidzo-crash-'));
    const port = await freePort(), url = `http://127.0.0.1:${port}`;
    const start = (env) => {
      const child = spawn(bin, ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '1', '--db', `sqlite:${dir}/vidzo.db`,
        '--data-dir', dir, '--log-level', 'warn', '--dev', '--jwt-secret', 'crash-secret-0123456789abcdef0123456789',
        '--shutdown-timeout', '2', '--sandbox-webhook-secret', 'drill'], { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1', VIDZO_TOTP_OPTIONAL: '1', ...env }, stdio: 'ignore' });
      const exited = new Promise((res) => child.on('exit', (code) => res(code)));
      return { child, exited };
    };
    const up = async () => { for (let i = 0; i < 100; i++) { try { if ((await fetch(`${url}/readyz`)).ok) return; } catch {} await new Promise((r) => setTimeout(r, 100)); } throw new Error('no server'); };
    let srv = start({ VIDZO_CRASH_AT: 'sandbox_settled' });
    try {
      await up();
      // the crash point exists in debug builds only (as the fault routes do)
      if ((await api('GET', '/v1/_debug/fault', { base: url })).status === 404) { console.log('     skipped: not a debug build'); return; }
      const s = await newSeller2(url, dir), b = await newUser('cd', { base: url, dataDir: dir });
      const p = expectStatus(await api('POST', '/v1/products', { base: url, token: s.token, body: {
        title: 'Drill', currency: 'EUR', variants: [{ sku: 'D', price: 1000, stock: 3 }], submit: true } }), 201).json.data;
      const a = expectStatus(await api('POST', '/v1/me/addresses', { base: url, token: b.token, body: { name: 'B', line1: 'x', city: 'y', postal_code: '1', country: 'DE' } }), 201).json.data;
      const r = expectStatus(await api('POST', '/v1/orders', { base: url, token: b.token, headers: { 'idempotency-key': 'c1' },
        body: { items: [{ variant_id: p.variants[0].id, quantity: 1 }], address_id: a.id } }), 201).json.data;
      const pay = expectStatus(await api('POST', '/v1/payments', { base: url, token: b.token, body: { checkout_id: r.checkout_id } }), 201).json.data;
      const died = await api('POST', `/v1/sandbox/payments/${pay.id}/settle`, { base: url, token: b.token, body: { outcome: 'succeed' } }).catch((e) => e);
      assert.equal(await srv.exited, 137, 'the server died at the crash point');
      assert.ok(!(died && died.status === 200));
      srv = start({});
      await up();
      const t = expectStatus(await api('POST', '/v1/auth/signin', { base: url, body: { email: b.email, password: b.password } }), 200).json.data;
      assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { base: url, token: t.access_token }), 200).json.data.status, 'pending_payment');
      const admin = await adminOn(url, dir);
      const rec = expectStatus(await api('POST', '/v1/admin/payments/reconcile', { base: url, token: admin.token, body: { min_age_seconds: 0 } }), 200).json.data;
      assert.equal(rec.applied, 1);
      const rec2 = expectStatus(await api('POST', '/v1/admin/payments/reconcile', { base: url, token: admin.token, body: { min_age_seconds: 0 } }), 200).json.data;
      assert.equal(rec2.applied, 0);
      assert.equal(expectStatus(await api('GET', `/v1/orders/${r.orders[0].id}`, { base: url, token: t.access_token }), 200).json.data.status, 'paid');
      const chk = expectStatus(await api('GET', '/v1/admin/ledger/check', { base: url, token: admin.token }), 200).json.data;
      assert.equal(chk.transactions, 1);
      assert.equal(chk.unbalanced_transactions, 0);
      assert.deepEqual(chk.seller_mismatches, []);
      assert.deepEqual(chk.cash_mismatches, []);
      // a verified event of a type we do not act on: 200, ignored, nothing booked
      const { createHmac } = await import('node:crypto');
      const ts = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({ id: 'evt_unknown_1', type: 'payment.disputed', created: Date.now(),
        data: { payment_id: 'sbx_pi_1', payment_ref: '1', amount: 5, currency: 'EUR' } });
      const sig = `t=${ts},v1=${createHmac('sha256', 'drill').update(`${ts}.${body}`).digest('hex')}`;
      assert.equal(expectStatus(await hook(body, sig, url), 200).json.data.ignored, true);
      const bad = JSON.stringify({ id: 'evt_bad', type: 'payment.succeeded', data: { amount: -5 } });
      const bsig = `t=${ts},v1=${createHmac('sha256', 'drill').update(`${ts}.${bad}`).digest('hex')}`;
      expectError(await hook(bad, bsig, url), 400, 'invalid_argument');
      const chk2 = expectStatus(await api('GET', '/v1/admin/ledger/check', { base: url, token: admin.token }), 200).json.data;
      assert.equal(chk2.transactions, 1);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  } },
];

// A seller and an admin on a story's own server (the shared helpers talk to the shared one).
async function adminOn(url, dir) {
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.env.VZ_TEST_BIN, ['admin', 'create', '--email', 'a@own.test', '--password', 'Admin-pass-123456', '--if-missing',
    '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'error'], { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' } });
  const d = expectStatus(await api('POST', '/v1/auth/signin', { base: url, body: { email: 'a@own.test', password: 'Admin-pass-123456' } }), 200).json.data;
  return { id: d.user.id, token: d.access_token };
}

async function newSeller2(url, dir) {
  const u = await newUser('own', { base: url, dataDir: dir }), admin = await adminOn(url, dir);
  const app = expectStatus(await api('POST', '/v1/sellers/applications', { base: url, token: u.token, body: {
    business_name: 'Own', legal_name: 'Own GmbH', country: 'DE', tax_id: 'DE123456789', address: 'Hauptstr. 1, Berlin', description: 'things' } }), 201).json.data;
  expectStatus(await api('POST', `/v1/admin/sellers/applications/${app.id}/approve`, { base: url, token: admin.token }), 200);
  expectStatus(await api('PUT', `/v1/admin/trusted-sellers/${u.id}`, { base: url, token: admin.token }), 200);
  const t = expectStatus(await api('POST', '/v1/auth/refresh', { base: url, body: { refresh_token: u.refresh } }), 200).json.data;
  return { ...u, token: t.access_token };
}
