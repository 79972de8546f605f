// The PayPal provider (services/payments/provider_paypal.c over integrations/paypal.c)
// against a local PayPal (tests/support/fake-paypal.mjs): client-credentials token with
// basic auth, Orders v2 create / approve / capture, capture refunds, PayPal-Request-Id
// replay, and webhooks signed with the fake's own certificate over
// transmission_id|time|webhook_id|crc32(body). The server trusts that certificate as a
// root (VIDZO_PAYPAL_CERT_CA) and allows the fake's host for certificate URLs
// (VIDZO_PAYPAL_CERT_HOSTS). One provider call per /v1/_test/payments route
// (src/apps/testapp/payments.c). Needs VZ_TEST_BIN.
import assert from 'node:assert/strict';
import { api, withServer } from '../lib.mjs';
import { startFakePayPal, makeCert } from '../../support/fake-paypal.mjs';

const ST = { PENDING: 1, APPROVED: 3, SUCCEEDED: 4 };
const EV = { SUCCEEDED: 1, APPROVED: 4, REFUNDED: 5 };
const call = (url, op, body) => api('POST', `/v1/_test/payments/paypal/${op}`, { base: url, body });
const data = (r) => JSON.parse(r.text).data;

export default [
  { name: 'paypal: token cached, order create/approve/capture, refund, offline-verified webhooks', timeout: 60000, fn: async () => {
    const fake = await startFakePayPal({ clientId: 'pp-client-e2e', clientSecret: 'pp-secret-e2e-0123', webhookId: 'WH-E2E-1' });
    fake.autoDeliver = false;
    try {
      await withServer({ args: ['--dev', '--test-app'], env: {
        VIDZO_PAYPAL_CLIENT_ID: fake.clientId, VIDZO_PAYPAL_SECRET: fake.clientSecret, VIDZO_PAYPAL_WEBHOOK_ID: fake.webhookId,
        VIDZO_PAYPAL_API_BASE: fake.url, VIDZO_PAYPAL_CERT_HOSTS: fake.host, VIDZO_PAYPAL_CERT_CA: fake.signing.certPath } },
      async ({ url, log }) => {
        fake.webhookUrl = `${url}/v1/_test/payments/paypal/webhook`;
        const c = await call(url, 'create', { amount: 2599, currency: 'USD', payment_ref: 'p9', key: 'pay-p9',
          return_url: 'https://shop.example/ok', cancel_url: 'https://shop.example/no' });
        assert.equal(c.json.data.rc, 'ok', c.text);
        const oid = c.json.data.provider_payment_id;
        assert.equal(c.json.data.status, ST.PENDING);
        assert.equal(c.json.data.approval_url, `${fake.url}/checkoutnow?token=${oid}`);
        const o = fake.orders.get(oid);
        assert.deepEqual(o.purchase_units[0].amount, { currency_code: 'USD', value: '25.99' });
        assert.equal(o.purchase_units[0].custom_id, 'p9');
        const sent = fake.requests.find((r) => r.path === '/v2/checkout/orders');
        assert.equal(sent.headers['paypal-request-id'], 'pay-p9');
        assert.match(sent.headers.authorization, /^Bearer A21AA/);
        assert.deepEqual(JSON.parse(sent.body).application_context, { return_url: 'https://shop.example/ok', cancel_url: 'https://shop.example/no' });
        // the same request id: PayPal's first answer, one order
        assert.equal((await call(url, 'create', { amount: 2599, currency: 'USD', payment_ref: 'p9', key: 'pay-p9' })).json.data.provider_payment_id, oid);
        assert.equal(fake.orders.size, 1);
        // JPY has no decimals; KWD is not a PayPal currency (refused before sending)
        const jpy = await call(url, 'create', { amount: 500, currency: 'JPY', payment_ref: 'p10', key: 'pay-p10' });
        assert.deepEqual(fake.orders.get(jpy.json.data.provider_payment_id).purchase_units[0].amount, { currency_code: 'JPY', value: '500' });
        assert.equal((await call(url, 'create', { amount: 500, currency: 'KWD', payment_ref: 'p11', key: 'pay-p11' })).json.data.rc, 'invalid');
        // capture before the buyer approved: PayPal's 422, nothing captured
        const early = await call(url, 'capture', { id: oid, key: 'cap-p9-a' });
        assert.equal(early.json.data.rc, 'invalid');
        assert.equal(early.json.data.error.code, 'ORDER_NOT_APPROVED');
        // approval arrives as a signed webhook
        const ap = await fake.approve(oid);
        assert.equal(ap.status, 200, ap.text);
        assert.equal(data(ap).rc, 'ok');
        assert.equal(data(ap).type, EV.APPROVED);
        assert.equal(data(ap).provider_payment_id, oid);
        assert.equal(data(ap).payment_ref, 'p9');
        assert.equal(data(ap).amount, 2599);
        assert.equal(data(ap).event_id, ap.event.id);
        let l = await api('GET', `/v1/_test/payments/paypal/lookup/${oid}`, { base: url });
        assert.equal(l.json.data.status, ST.APPROVED);
        // capture, and PAYMENT.CAPTURE.COMPLETED
        const cap = await call(url, 'capture', { id: oid, key: 'cap-p9' });
        assert.equal(cap.json.data.rc, 'ok', cap.text);
        assert.equal(cap.json.data.status, ST.SUCCEEDED);
        assert.equal(cap.json.data.amount, 2599);
        const capId = cap.json.data.provider_charge_id;
        assert.ok(fake.captures.has(capId));
        const [done] = await fake.flush();
        assert.equal(done.status, 200, done.text);
        assert.equal(data(done).type, EV.SUCCEEDED);
        assert.equal(data(done).provider_charge_id, capId);
        assert.equal(data(done).provider_payment_id, oid);
        assert.equal(data(done).payment_ref, 'p9');
        // a capture repeated under another key (our first answer was lost): the same capture
        const cap2 = await call(url, 'capture', { id: oid, key: 'cap-p9-again' });
        assert.equal(cap2.json.data.rc, 'ok', cap2.text);
        assert.equal(cap2.json.data.provider_charge_id, capId);
        assert.equal(fake.captures.size, 1);
        l = await api('GET', `/v1/_test/payments/paypal/lookup/${oid}`, { base: url });
        assert.equal(l.json.data.status, ST.SUCCEEDED);
        assert.equal(l.json.data.payment_ref, 'p9');
        assert.equal(l.json.data.amount_captured, 2599);
        // refunds: partial, its replay, one too many
        const rf = await call(url, 'refund', { payment_id: oid, charge_id: capId, amount: 1000, currency: 'USD', key: 'ref-1' });
        assert.equal(rf.json.data.rc, 'ok', rf.text);
        assert.equal(rf.json.data.status, ST.SUCCEEDED);
        assert.equal((await call(url, 'refund', { payment_id: oid, charge_id: capId, amount: 1000, currency: 'USD', key: 'ref-1' })).json.data.provider_refund_id, rf.json.data.provider_refund_id);
        const over = await call(url, 'refund', { payment_id: oid, charge_id: capId, amount: 1600, currency: 'USD', key: 'ref-2' });
        assert.equal(over.json.data.rc, 'invalid');
        assert.equal(over.json.data.error.code, 'REFUND_AMOUNT_EXCEEDED');
        const [refunded] = await fake.flush();
        assert.equal(data(refunded).type, EV.REFUNDED);
        assert.equal(data(refunded).provider_refund_id, rf.json.data.provider_refund_id);
        assert.equal(data(refunded).provider_charge_id, capId);
        assert.equal(data(refunded).amount, 1000);
        // one token for all of it (cached until expiry), one certificate fetch
        assert.equal(fake.tokensIssued, 1);
        const certFetches = () => fake.requests.filter((r) => r.path.startsWith('/v1/notifications/certs/')).length;
        assert.equal(certFetches(), 1);
        // forged or broken deliveries: 400, and no fetch from a host off the list
        const ev = ap.event;
        const stranger = makeCert(fake.dir, 'stranger');
        fake.certs.stranger = stranger.cert;
        const bads = [
          ['another webhook id', { webhookId: 'WH-OTHER' }],
          ['another key, our cert URL', { key: stranger.key }],
          ['an untrusted certificate', { key: stranger.key, certName: 'stranger' }],
          ['a tampered body', { signed: JSON.stringify(ev), payload: JSON.stringify(ev).replace('25.99', '0.01') }],
          ['a certificate URL off the allow-list', { headers: { 'paypal-cert-url': 'https://evil.example/cert.pem' } }],
          ['a look-alike host', { headers: { 'paypal-cert-url': 'https://api.paypal.com.evil.example/cert.pem' } }],
          ['an unknown certificate', { certName: 'nope' }],
          ['another algorithm', { headers: { 'paypal-auth-algo': 'SHA1withRSA' } }],
          ['a signature that is not base64', { headers: { 'paypal-transmission-sig': '***' } }],
          ['no transmission id', { headers: { 'paypal-transmission-id': null } }],
          ['no signature', { headers: { 'paypal-transmission-sig': null } }],
        ];
        for (const [what, opt] of bads) {
          const r = await fake.deliver(ev, opt);
          assert.equal(r.status, 400, `${what}: ${r.text}`);
          assert.equal(JSON.parse(r.text).error.code, 'bad_signature', what);
        }
        assert.ok(!fake.requests.some((r) => r.path.includes('evil')), 'fetched from a host off the list');
        // forged deliveries naming ever new certificates on an allowed host: at most 10
        // fetches a minute in all (3 so far), then 503 without fetching
        const codes = [];
        for (let i = 0; i < 9; i++) codes.push((await fake.deliver(ev, { certName: `forged-${i}` })).status);
        assert.deepEqual(codes, [400, 400, 400, 400, 400, 400, 400, 503, 503]);
        assert.equal(fake.requests.filter((r) => r.path.startsWith('/v1/notifications/certs/')).length, 10);
        // the cached certificate still serves PayPal's real deliveries
        assert.equal((await fake.deliver(ev)).status, 200);
        // an event type we do not act on: verified, then ignored
        const other = await fake.deliver({ ...ev, id: 'WH-OTHER-1', event_type: 'CUSTOMER.DISPUTE.CREATED' });
        assert.equal(data(other).rc, 'ignored');
        // a revoked token: one 401, a new token, the call goes through
        fake.revokeTokens();
        const g = await api('GET', `/v1/_test/payments/paypal/lookup/${oid}`, { base: url });
        assert.equal(g.json.data.rc, 'ok', g.text);
        assert.equal(fake.tokensIssued, 2);
        // wrong client credentials: an auth error
        fake.clientSecret = 'rotated';
        fake.revokeTokens();
        const denied = await api('GET', `/v1/_test/payments/paypal/lookup/${oid}`, { base: url });
        assert.equal(denied.json.data.rc, 'auth', denied.text);
        assert.ok(!log().includes('pp-secret-e2e-0123'), 'the client secret appears in the log');
        assert.ok(!/A21AA[A-Za-z0-9_-]{10}/.test(log()), 'an access token appears in the log');
      });
    } finally { await fake.close(); }
  } },
];
