// A local PayPal for the e2e stories: OAuth2 client credentials, Orders v2 (create,
// approve by the buyer, capture, get), capture refunds, and webhooks signed the way
// PayPal signs them, with the fake's own test certificate:
//   PAYPAL-TRANSMISSION-SIG = base64(RSA-SHA256(transmission_id|transmission_time|webhook_id|crc32(body)))
//   PAYPAL-CERT-URL         = this server's /v1/notifications/certs/<name> (the PEM)
// The key and the self-signed certificate are made per run with the openssl CLI; the
// story gives the server the certificate file as its trust root (VIDZO_PAYPAL_CERT_CA)
// and this host in VIDZO_PAYPAL_CERT_HOSTS.
//
// Checked like PayPal: Basic auth on the token endpoint with grant_type=client_credentials
// (401 invalid_client otherwise); Bearer tokens that expire (expiresIn); JSON bodies with
// intent, purchase_units[0].amount {currency_code, value as a decimal string};
// PayPal-Request-Id replay (the first answer again); capture only of an APPROVED order
// (422 ORDER_NOT_APPROVED), once (422 ORDER_ALREADY_CAPTURED); refunds up to what is left.
import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const rid = (n = 17) => crypto.randomBytes(n).toString('hex').toUpperCase().slice(0, n);

// A 2048-bit key and a self-signed certificate valid for `days` (negative: expired).
export function makeCert(dir, name = 'paypal-fake', { days = 2 } = {}) {
  const key = path.join(dir, `${name}.key`), crt = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(Math.max(days, 1)),
    '-subj', '/CN=messageverificationcerts.fake.test', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(crt, 'utf8'), keyPath: key, certPath: crt };
}

export async function startFakePayPal({ clientId = 'pp-client', clientSecret = 'pp-secret', webhookId = 'WH-ID-E2E', expiresIn = 32400 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-paypal-'));
  const orders = new Map(), captures = new Map(), refunds = new Map(), reqIds = new Map(), tokens = new Map();
  const fake = { clientId, clientSecret, webhookId, expiresIn, webhookUrl: null, requests: [], events: [],
    tokensIssued: 0, delayMs: 0, failStatus: 0, orders, captures, refunds, dir };
  fake.signing = makeCert(dir, 'signing');
  fake.certs = { signing: fake.signing.cert };

  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'paypal-debug-id': rid(13).toLowerCase(), ...headers });
    res.end(JSON.stringify(body));
  };
  const issue = (status, name, message, issueName) => ({ status, body: { name, message, debug_id: rid(13).toLowerCase(),
    details: issueName ? [{ issue: issueName, description: message }] : [] } });

  function event(type, resourceType, resource) {
    const ev = { id: `WH-${rid(17)}`, event_version: '1.0', create_time: new Date().toISOString(), resource_type: resourceType,
      resource_version: '2.0', event_type: type, summary: type, resource: structuredClone(resource) };
    fake.events.push(ev);
    return ev;
  }

  // Signs and POSTs ev; opts override any header or the body (bad signatures, other certs).
  // signed: the body the signature covers when it is not the one sent (tampering).
  fake.deliver = async (ev, { payload, signed, webhookId: whid = webhookId, key = fake.signing.key, certName = 'signing',
    headers = {}, transmissionTime = new Date().toISOString() } = {}) => {
    const body = payload ?? JSON.stringify(ev);
    const tid = crypto.randomUUID();
    const msg = `${tid}|${transmissionTime}|${whid}|${zlib.crc32(Buffer.from(signed ?? body))}`;
    const sig = crypto.sign('sha256', Buffer.from(msg), key).toString('base64');
    const h = { 'content-type': 'application/json', 'paypal-transmission-id': tid, 'paypal-transmission-time': transmissionTime,
      'paypal-transmission-sig': sig, 'paypal-cert-url': `${fake.url}/v1/notifications/certs/${certName}`,
      'paypal-auth-algo': 'SHA256withRSA', 'paypal-auth-version': 'v2', ...headers };
    for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
    const r = await fetch(fake.webhookUrl, { method: 'POST', headers: h, body });
    return { status: r.status, text: await r.text(), body, headers: h };
  };

  // The buyer approves at PayPal: CHECKOUT.ORDER.APPROVED follows.
  fake.approve = async (orderId, { deliver = true } = {}) => {
    const o = orders.get(orderId);
    if (!o) throw new Error(`no order ${orderId}`);
    o.status = 'APPROVED';
    o.payer = { payer_id: rid(13), email_address: 'buyer@example.com' };
    const ev = event('CHECKOUT.ORDER.APPROVED', 'checkout-order', o);
    return deliver ? { event: ev, ...(await fake.deliver(ev)) } : { event: ev };
  };
  fake.captureEvent = (capId, type = 'PAYMENT.CAPTURE.COMPLETED') => event(type, 'capture', captures.get(capId));

  const value = (a) => a && typeof a.value === 'string' && /^[0-9]+(\.[0-9]{1,2})?$/.test(a.value) && /^[A-Z]{3}$/.test(a.currency_code || '');
  const cents = (v) => Math.round(Number(v) * 100);

  function route(method, p, body, headers) {
    let m;
    if (method === 'POST' && p === '/v2/checkout/orders') {
      if (body?.intent !== 'CAPTURE' && body?.intent !== 'AUTHORIZE') return issue(400, 'INVALID_REQUEST', 'intent is required', 'MISSING_REQUIRED_PARAMETER');
      const pu = body.purchase_units?.[0];
      if (!pu) return issue(400, 'INVALID_REQUEST', 'purchase_units is required', 'MISSING_REQUIRED_PARAMETER');
      if (!value(pu.amount)) return issue(422, 'UNPROCESSABLE_ENTITY', 'amount is invalid', 'CURRENCY_AMOUNT_INVALID');
      const id = rid(17);
      const o = { id, intent: body.intent, status: 'CREATED', create_time: new Date().toISOString(),
        purchase_units: [{ reference_id: pu.reference_id ?? 'default', custom_id: pu.custom_id, amount: pu.amount }],
        links: [{ href: `${fake.url}/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' },
                { href: `${fake.url}/checkoutnow?token=${id}`, rel: 'approve', method: 'GET' },
                { href: `${fake.url}/v2/checkout/orders/${id}/capture`, rel: 'capture', method: 'POST' }] };
      orders.set(id, o);
      return { status: 201, body: o };
    }
    if ((m = /^\/v2\/checkout\/orders\/([A-Z0-9]+)$/.exec(p)) && method === 'GET') {
      const o = orders.get(m[1]);
      return o ? { status: 200, body: o } : issue(404, 'RESOURCE_NOT_FOUND', 'order not found', 'INVALID_RESOURCE_ID');
    }
    if ((m = /^\/v2\/checkout\/orders\/([A-Z0-9]+)\/capture$/.exec(p)) && method === 'POST') {
      const o = orders.get(m[1]);
      if (!o) return issue(404, 'RESOURCE_NOT_FOUND', 'order not found', 'INVALID_RESOURCE_ID');
      if (o.status === 'COMPLETED') return issue(422, 'UNPROCESSABLE_ENTITY', 'already captured', 'ORDER_ALREADY_CAPTURED');
      if (o.status !== 'APPROVED') return issue(422, 'UNPROCESSABLE_ENTITY', 'payer has not approved', 'ORDER_NOT_APPROVED');
      const pu = o.purchase_units[0];
      const cap = { id: rid(17), status: 'COMPLETED', amount: pu.amount, custom_id: pu.custom_id, final_capture: true,
        create_time: new Date().toISOString(), supplementary_data: { related_ids: { order_id: o.id } },
        links: [{ href: `${fake.url}/v2/payments/captures/CAPID`, rel: 'self', method: 'GET' }] };
      cap.links[0].href = `${fake.url}/v2/payments/captures/${cap.id}`;
      captures.set(cap.id, cap);
      o.status = 'COMPLETED';
      pu.payments = { captures: [cap] };
      fake.pendingWebhooks.push(event('PAYMENT.CAPTURE.COMPLETED', 'capture', cap));
      return { status: 201, body: o };
    }
    if ((m = /^\/v2\/payments\/captures\/([A-Z0-9]+)\/refund$/.exec(p)) && method === 'POST') {
      const cap = captures.get(m[1]);
      if (!cap) return issue(404, 'RESOURCE_NOT_FOUND', 'capture not found', 'INVALID_RESOURCE_ID');
      const done = [...refunds.values()].filter((r) => r.capture_id === cap.id).reduce((s, r) => s + cents(r.amount.value), 0);
      const amount = body?.amount ?? { value: ((cents(cap.amount.value) - done) / 100).toFixed(2), currency_code: cap.amount.currency_code };
      if (!value(amount) || amount.currency_code !== cap.amount.currency_code) return issue(422, 'UNPROCESSABLE_ENTITY', 'amount is invalid', 'CURRENCY_AMOUNT_INVALID');
      if (cents(amount.value) > cents(cap.amount.value) - done) return issue(422, 'UNPROCESSABLE_ENTITY', 'refund exceeds capture', 'REFUND_AMOUNT_EXCEEDED');
      const r = { id: rid(17), status: 'COMPLETED', amount, custom_id: cap.custom_id, capture_id: cap.id, create_time: new Date().toISOString(),
        links: [{ href: `${fake.url}/v2/payments/captures/${cap.id}`, rel: 'up', method: 'GET' }] };
      refunds.set(r.id, r);
      fake.pendingWebhooks.push(event('PAYMENT.CAPTURE.REFUNDED', 'refund', r));
      return { status: 201, body: r };
    }
    return issue(404, 'RESOURCE_NOT_FOUND', `fake: no route ${method} ${p}`);
  }
  // Webhooks PayPal sends after an API call it answered; the story (or autoDeliver) sends them.
  fake.pendingWebhooks = [];
  fake.revokeTokens = () => tokens.clear();
  fake.autoDeliver = true;
  fake.flush = async () => {
    const out = [];
    while (fake.pendingWebhooks.length) out.push(await fake.deliver(fake.pendingWebhooks.shift()));
    return out;
  };

  function handle(req, res, raw) {
    const url = new URL(req.url, 'http://x');
    let m;
    if (req.method === 'GET' && (m = /^\/v1\/notifications\/certs\/([a-z0-9-]+)$/.exec(url.pathname))) {
      const pem = fake.certs[m[1]];
      if (!pem) return json(res, 404, { name: 'RESOURCE_NOT_FOUND' });
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      return res.end(pem);
    }
    if (url.pathname === '/v1/oauth2/token') {
      const want = 'Basic ' + Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64');
      const got = req.headers.authorization || '';
      const ok = got.length === want.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want));
      if (req.method !== 'POST' || !ok) return json(res, 401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
      if (new URLSearchParams(raw).get('grant_type') !== 'client_credentials')
        return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' });
      const t = `A21AA${crypto.randomBytes(24).toString('base64url')}`;
      tokens.set(t, Date.now() + fake.expiresIn * 1000);
      fake.tokensIssued++;
      return json(res, 200, { scope: 'https://uri.paypal.com/services/payments/payment', access_token: t, token_type: 'Bearer',
        app_id: 'APP-FAKE', expires_in: fake.expiresIn, nonce: crypto.randomUUID() });
    }
    const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
    const exp = tokens.get(bearer);
    if (!exp || exp < Date.now()) return json(res, 401, { error: 'invalid_token', error_description: 'Token signature verification failed' });
    let body = null;
    if (req.method === 'POST') {
      if (!(req.headers['content-type'] || '').startsWith('application/json'))
        return json(res, 415, { name: 'UNSUPPORTED_MEDIA_TYPE', message: 'json only' });
      try { body = raw ? JSON.parse(raw) : {}; } catch { return json(res, 400, { name: 'INVALID_REQUEST', message: 'malformed json', details: [{ issue: 'MALFORMED_REQUEST_JSON' }] }); }
      const key = req.headers['paypal-request-id'];
      if (!key) return json(res, 400, { name: 'INVALID_REQUEST', message: 'fake: every POST must carry PayPal-Request-Id' });
      const prev = reqIds.get(`${url.pathname} ${key}`);
      if (prev) return json(res, prev.status, prev.body); // PayPal answers a repeat with the first result
      const out = route(req.method, url.pathname, body, req.headers);
      reqIds.set(`${url.pathname} ${key}`, out);
      json(res, out.status, out.body);
      if (fake.autoDeliver && fake.webhookUrl && fake.pendingWebhooks.length) setTimeout(() => fake.flush().catch(() => {}), 20);
      return;
    }
    const out = route(req.method, url.pathname, null, req.headers);
    json(res, out.status, out.body);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      fake.requests.push({ method: req.method, path: req.url, headers: req.headers, body: raw, at: Date.now() });
      const go = () => {
        if (fake.failStatus && !req.url.startsWith('/v1/notifications/certs/')) return json(res, fake.failStatus, { name: 'INTERNAL_SERVER_ERROR' });
        try { handle(req, res, raw); } catch (e) { json(res, 500, { name: 'INTERNAL_SERVER_ERROR', message: String(e) }); }
      };
      if (fake.delayMs) setTimeout(go, fake.delayMs); else go();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.host = `127.0.0.1:${server.address().port}`;
  fake.url = `http://${fake.host}`;
  fake.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => { fs.rmSync(dir, { recursive: true, force: true }); r(); }); });
  return fake;
}
