// The Stripe provider (services/payments/provider_stripe.c over integrations/stripe.c)
// against a local Stripe (tests/support/fake-stripe.mjs) that checks what Stripe checks:
// secret-key auth, form fields, integer amounts, Idempotency-Key replay and conflict.
// Webhooks are signed by the official npm stripe package. The story's own server runs
// with --test-app, whose /v1/_test/payments/:provider/* routes make one provider call
// each (src/apps/testapp/payments.c); the checkout flow around it is the payments
// service's stories. Needs VZ_TEST_BIN (tests/run.sh sets it).
import assert from 'node:assert/strict';
import { api, freePort, metric, withServer } from '../lib.mjs';
import { startFakeStripe } from '../../support/fake-stripe.mjs';

const ST = { PENDING: 1, SUCCEEDED: 4, FAILED: 5 };
const EV = { SUCCEEDED: 1, FAILED: 2, REFUNDED: 5, PAYOUT_PAID: 7 };

const env = (fake, extra = {}) => ({ VIDZO_STRIPE_SECRET_KEY: fake.secretKey, VIDZO_STRIPE_WEBHOOK_SECRET: fake.webhookSecret,
  VIDZO_STRIPE_API_BASE: fake.url, ...extra });
const call = (url, op, body) => api('POST', `/v1/_test/payments/stripe/${op}`, { base: url, body });
const posts = (fake) => fake.requests.filter((r) => r.method === 'POST');

export default [
  { name: 'stripe: PaymentIntent, idempotency replay and conflict, signed webhooks, refund, transfer', timeout: 60000, fn: async () => {
    const fake = await startFakeStripe({ secretKey: 'sk_test_e2e_0123', webhookSecret: 'whsec_e2e_4567' });
    try {
      await withServer({ args: ['--dev', '--test-app'], env: env(fake) }, async ({ url, log }) => {
        fake.webhookUrl = `${url}/v1/_test/payments/stripe/webhook`;
        // create: nested metadata keys and a value full of form syntax survive the trip
        const c = await call(url, 'create', { amount: 2500, currency: 'USD', payment_ref: 'p1', order_ref: 'order 7 & 8=9', key: 'pay-p1' });
        assert.equal(c.json.data.rc, 'ok', c.text);
        const pi = c.json.data.provider_payment_id;
        assert.match(pi, /^pi_/);
        assert.match(c.json.data.client_secret, new RegExp(`^${pi}_secret_`));
        assert.equal(c.json.data.status, ST.PENDING);
        const sent = posts(fake).at(-1);
        assert.equal(sent.headers.authorization, 'Bearer sk_test_e2e_0123');
        assert.equal(sent.headers['idempotency-key'], 'pay-p1');
        assert.match(sent.headers['content-type'], /^application\/x-www-form-urlencoded/);
        assert.match(sent.body, /(^|&)metadata%5Bpayment_ref%5D=p1(&|$)/);
        assert.match(sent.body, /(^|&)metadata%5Border_id%5D=order%207%20%26%208%3D9(&|$)/);
        assert.deepEqual(fake.intents.get(pi).metadata, { payment_ref: 'p1', order_id: 'order 7 & 8=9' });
        assert.equal(fake.intents.get(pi).currency, 'usd');
        // the same key and parameters: Stripe's first answer again, no second intent
        const again = await call(url, 'create', { amount: 2500, currency: 'USD', payment_ref: 'p1', order_ref: 'order 7 & 8=9', key: 'pay-p1' });
        assert.equal(again.json.data.provider_payment_id, pi);
        assert.equal(fake.intents.size, 1);
        // the same key with other parameters: Stripe's idempotency_error, nothing created
        const clash = await call(url, 'create', { amount: 2600, currency: 'USD', payment_ref: 'p1', key: 'pay-p1' });
        assert.equal(clash.json.data.rc, 'invalid', clash.text);
        assert.equal(clash.json.data.error.code, 'idempotency_error');
        assert.equal(clash.json.data.error.status, 400);
        assert.equal(fake.intents.size, 1);
        // bad amounts, currency or reference never leave the server
        const before = fake.requests.length;
        for (const bad of [{ amount: 0 }, { amount: -5 }, { currency: 'US' }, { payment_ref: "p1' OR 1" }, { key: '' }]) {
          const r = await call(url, 'create', { amount: 100, currency: 'USD', payment_ref: 'p2', key: 'k-bad', ...bad });
          assert.equal(r.json.data.rc, 'invalid', JSON.stringify(bad));
        }
        assert.equal(fake.requests.length, before);
        // lookup: pending, then the buyer pays (Stripe.js) and Stripe sends the signed event
        let l = await api('GET', `/v1/_test/payments/stripe/lookup/${pi}`, { base: url });
        assert.equal(l.json.data.status, ST.PENDING);
        assert.equal(l.json.data.payment_ref, 'p1');
        const paid = await fake.pay(pi);
        assert.equal(paid.status, 200, paid.text);
        const ev = JSON.parse(paid.text).data;
        assert.equal(ev.rc, 'ok');
        assert.equal(ev.type, EV.SUCCEEDED);
        assert.equal(ev.event_id, paid.event.id);
        assert.equal(ev.provider_payment_id, pi);
        assert.equal(ev.provider_charge_id, fake.intents.get(pi).latest_charge);
        assert.equal(ev.payment_ref, 'p1');
        assert.equal(ev.amount, 2500);
        assert.equal(ev.currency, 'USD');
        assert.equal(ev.created_ms, paid.event.created * 1000);
        assert.equal(ev.processor_fee, fake.feeOf(2500)); // read from the balance transaction
        l = await api('GET', `/v1/_test/payments/stripe/lookup/${pi}`, { base: url });
        assert.equal(l.json.data.status, ST.SUCCEEDED);
        assert.equal(l.json.data.amount_captured, 2500);
        assert.equal(l.json.data.processor_fee, 103);
        // the same delivery again verifies to the same event id (exactly-once is the service's)
        const replay = await fake.deliver(paid.event, { header: paid.sig, payload: paid.body });
        assert.equal(JSON.parse(replay.text).data.event_id, paid.event.id);
        // signatures: wrong secret, stale, ahead, tampered body, missing, malformed: 400
        const now = Math.floor(Date.now() / 1000);
        const bads = [
          { secret: 'whsec_wrong' }, { timestamp: now - 301 }, { timestamp: now + 301 },
          { header: paid.sig, payload: paid.body.replace('2500', '2') }, { header: '' }, { header: 't=abc,v1=00' },
          { header: paid.sig.replace(/v1=[0-9a-f]{64}/, 'v1=zz') },
        ];
        for (const b of bads) {
          const r = await fake.deliver(paid.event, b);
          assert.equal(r.status, 400, `${JSON.stringify(b).slice(0, 80)}: ${r.text}`);
          assert.equal(JSON.parse(r.text).error.code, 'bad_signature');
        }
        // within the tolerance, and one good v1 among bad ones (a rotated secret signs twice)
        assert.equal((await fake.deliver(paid.event, { timestamp: now - 280 })).status, 200);
        const body = JSON.stringify(paid.event);
        const good = (await fake.deliver(paid.event, { payload: body })).sig;
        const two = good.replace(/v1=/, `v1=${'0'.repeat(64)},v1=`);
        assert.equal((await fake.deliver(paid.event, { payload: body, header: two })).status, 200);
        // an event type we do not act on: verified, ignored
        const other = fake.event('customer.created', { id: 'cus_1', object: 'customer' });
        const ign = await fake.deliver(other);
        assert.equal(JSON.parse(ign.text).data.rc, 'ignored');
        // a partial refund, its replay, and one too many
        const rf = await call(url, 'refund', { payment_id: pi, amount: 1000, currency: 'USD', key: 'refund-1', refund_ref: 'r1' });
        assert.equal(rf.json.data.rc, 'ok', rf.text);
        assert.equal(rf.json.data.status, ST.SUCCEEDED);
        const rid = rf.json.data.provider_refund_id;
        assert.equal((await call(url, 'refund', { payment_id: pi, amount: 1000, currency: 'USD', key: 'refund-1', refund_ref: 'r1' })).json.data.provider_refund_id, rid);
        const over = await call(url, 'refund', { payment_id: pi, amount: 2000, currency: 'USD', key: 'refund-2', refund_ref: 'r2' });
        assert.equal(over.json.data.rc, 'invalid');
        assert.equal(over.json.data.error.code, 'amount_too_large');
        assert.equal(fake.refunds.size, 1);
        l = await api('GET', `/v1/_test/payments/stripe/lookup/${pi}`, { base: url });
        assert.equal(l.json.data.amount_refunded, 1000);
        const rev = await fake.deliver(fake.event('refund.created', fake.refunds.get(rid)));
        const re = JSON.parse(rev.text).data;
        assert.equal(re.type, EV.REFUNDED);
        assert.equal(re.provider_refund_id, rid);
        assert.equal(re.provider_payment_id, pi);
        assert.equal(re.amount, 1000);
        // charge.refunded carries the running total: ignored, refund.* counts each refund once
        assert.equal(JSON.parse((await fake.deliver(fake.event('charge.refunded',
          { id: 'ch_1', object: 'charge', payment_intent: pi, amount: 2500, amount_refunded: 1000, currency: 'usd' }))).text).data.rc, 'ignored');
        // a Connect transfer to a seller
        const tr = await call(url, 'payout', { destination: 'acct_1Seller', amount: 1500, currency: 'USD', key: 'payout-9', payout_ref: '9' });
        assert.equal(tr.json.data.rc, 'ok', tr.text);
        const t = fake.transfers.get(tr.json.data.provider_payout_id);
        assert.equal(t.amount, 1500);
        assert.equal(t.destination, 'acct_1Seller');
        assert.equal(t.transfer_group, '9');
        assert.equal((await call(url, 'payout', { destination: 'ba_1', amount: 1, currency: 'USD', key: 'payout-x' })).json.data.rc, 'invalid');
        // every POST carried a key; none was refused for lacking one
        for (const p of posts(fake)) assert.ok(p.headers['idempotency-key'], `${p.path} without a key`);
        // a success Stripe cannot tell the fee of right now: 503, so Stripe delivers it again
        fake.failStatus = 500;
        const again503 = await fake.deliver(paid.event);
        assert.equal(again503.status, 503, again503.text);
        fake.failStatus = 0;
        // a revoked key: auth error, loud, never the key itself in the log
        fake.secretKey = 'sk_test_rotated';
        const denied = await call(url, 'create', { amount: 100, currency: 'USD', payment_ref: 'p3', key: 'pay-p3' });
        assert.equal(denied.json.data.rc, 'auth', denied.text);
        assert.ok(!log().includes('sk_test_e2e_0123'), 'the secret key appears in the log');
        assert.ok(!log().includes('whsec_e2e_4567'), 'the webhook secret appears in the log');
      });
    } finally { await fake.close(); }
  } },

  { name: 'stripe: a slow Stripe times out (effect unknown), the breaker opens and then fails fast', timeout: 60000, fn: async () => {
    const fake = await startFakeStripe();
    try {
      await withServer({ args: ['--dev', '--test-app'], env: env(fake, { VIDZO_STRIPE_TIMEOUT_MS: '200' }) }, async ({ url }) => {
        fake.delayMs = 1000;
        // a POST that timed out may have reached Stripe: "unknown", to be repeated with its key
        const r1 = await call(url, 'create', { amount: 100, currency: 'USD', payment_ref: 'p1', key: 'k1' });
        assert.equal(r1.json.data.rc, 'unknown', r1.text);
        // up to 3 attempts each (2 retries: the key makes a repeat safe, within a deadline
        // of 3 timeouts); the 5th failed attempt in a row opens the breaker
        let calls = 1;
        while (await metric('vidzo_integration_breaker_state', { integration: 'stripe' }, { base: url }) !== 1 && calls < 5) {
          const r = await call(url, 'create', { amount: 100, currency: 'USD', payment_ref: `p${++calls}`, key: `k${calls}` });
          assert.ok(['unknown', 'unavailable'].includes(r.json.data.rc), r.text);
        }
        assert.equal(await metric('vidzo_integration_breaker_state', { integration: 'stripe' }, { base: url }), 1);
        assert.ok(calls <= 3, `the breaker took ${calls} calls to open`);
        const seen = fake.requests.length;
        const t0 = Date.now();
        const r3 = await call(url, 'create', { amount: 100, currency: 'USD', payment_ref: 'p3', key: 'k3' });
        assert.equal(r3.json.data.rc, 'unavailable', r3.text);
        assert.ok(r3.json.data.error.retry_after_s >= 1);
        assert.ok(Date.now() - t0 < 500, 'an open breaker must fail fast');
        await new Promise((r) => setTimeout(r, 1200)); // the slow answers land; nothing new was sent
        assert.equal(fake.requests.length, seen);
      });
    } finally { await fake.close(); }
  } },

  { name: 'stripe: unreachable (connection refused): unavailable, nothing can have happened', timeout: 30000, fn: async () => {
    const dead = await freePort();
    await withServer({ args: ['--dev', '--test-app'], env: { VIDZO_STRIPE_SECRET_KEY: 'sk_test_x', VIDZO_STRIPE_WEBHOOK_SECRET: 'whsec_x',
      VIDZO_STRIPE_API_BASE: `http://127.0.0.1:${dead}` } }, async ({ url }) => {
      // a refused connection sent nothing, so even a POST's outcome is known: none
      for (const [op, body] of [['create', { amount: 100, currency: 'USD', payment_ref: 'p1', key: 'k1' }],
        ['refund', { payment_id: 'pi_1', amount: 100, currency: 'USD', key: 'r1' }],
        ['payout', { destination: 'acct_1', amount: 100, currency: 'USD', key: 'o1' }]]) {
        const r = await call(url, op, body);
        assert.equal(r.json.data.rc, 'unavailable', `${op}: ${r.text}`);
        assert.ok(r.json.data.error.retry_after_s >= 1);
      }
      const l = await api('GET', '/v1/_test/payments/stripe/lookup/pi_1', { base: url });
      assert.equal(l.json.data.rc, 'unavailable');
    });
  } },
];
