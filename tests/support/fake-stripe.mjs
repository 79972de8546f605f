// A local Stripe for the e2e stories: the parts of the REST API the server calls, checking
// what Stripe checks, and webhooks signed with the official npm `stripe` package
// (webhooks.generateTestHeaderString, pinned 23.2.0 in tests/package.json).
//
// Checked like Stripe: Bearer secret-key auth (401 otherwise); form-encoded bodies with
// nested keys (metadata[order_id]); required fields and integer amounts (400
// parameter_missing / parameter_invalid_integer); Idempotency-Key replay (same key + same
// parameters: the first answer again, with Idempotent-Replayed: true) and conflict (same
// key + other parameters: 400 idempotency_error). Stricter than Stripe: every POST must
// carry an Idempotency-Key (the server promises it; a missing one is our bug).
//
// Runs inside the story's process: const s = await startFakeStripe({ secretKey, webhookSecret });
// s.webhookUrl = `${server}/v1/...`; await s.pay(piId) (as Stripe.js confirming would);
// s.requests lists what arrived; s.delayMs / s.failStatus simulate a slow or failing Stripe.
import http from 'node:http';
import crypto from 'node:crypto';
import Stripe from 'stripe';

const stripe = new Stripe('sk_test_fake_for_signing_only');

function stripeError(res, status, type, message, extra = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${crypto.randomBytes(6).toString('hex')}` });
  res.end(JSON.stringify({ error: { type, message, ...extra } }));
}

// "a[b][c]=v" -> { a: { b: { c: 'v' } } }, as Stripe reads form bodies.
export function parseForm(text) {
  const out = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const parts = k.split('[').map((p, i) => (i ? p.replace(/\]$/, '') : p));
    let o = out;
    for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] ??= {};
    o[parts[parts.length - 1]] = v;
  }
  return out;
}

const id = (p) => `${p}_${crypto.randomBytes(12).toString('hex')}`;
const isInt = (s) => typeof s === 'string' && /^[0-9]+$/.test(s);

export async function startFakeStripe({ secretKey = 'sk_test_e2e', webhookSecret = 'whsec_e2e' } = {}) {
  const intents = new Map(), refunds = new Map(), transfers = new Map(), idem = new Map();
  const fake = {
    secretKey, webhookSecret, webhookUrl: null, requests: [], events: [], delayMs: 0, failStatus: 0,
    intents, refunds, transfers,
    feeOf: (amount) => Math.round(amount * 0.029) + 30, // Stripe's card pricing, 2.9 % + 30
  };

  fake.event = (type, object) => event(type, object);
  function event(type, object) {
    const ev = { id: id('evt'), object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000),
      livemode: false, type, data: { object: structuredClone(object) }, pending_webhooks: 1, request: { id: null } };
    fake.events.push(ev);
    return ev;
  }

  // Sends ev (or the raw payload) to webhookUrl, signed as Stripe signs it; the status.
  fake.deliver = async (ev, { timestamp, secret = webhookSecret, header, payload } = {}) => {
    const body = payload ?? JSON.stringify(ev, null, 2);
    const sig = header ?? stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
    const r = await fetch(fake.webhookUrl, { method: 'POST', body,
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': sig, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' } });
    return { status: r.status, text: await r.text(), body, sig };
  };

  // The buyer's confirmation (Stripe.js): the intent succeeds or fails, a webhook follows.
  fake.pay = async (piId, { outcome = 'succeeded', deliver = true } = {}) => {
    const pi = intents.get(piId);
    if (!pi) throw new Error(`no intent ${piId}`);
    if (outcome === 'succeeded') {
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      pi.latest_charge = id('ch');
    } else {
      pi.status = 'requires_payment_method';
      pi.last_payment_error = { code: 'card_declined', message: 'Your card was declined.' };
    }
    const ev = event(outcome === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed', pi);
    return deliver ? { event: ev, ...(await fake.deliver(ev)) } : { event: ev };
  };

  function handle(req, res, raw) {
    const url = new URL(req.url, 'http://x');
    const auth = req.headers.authorization || '';
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const a = Buffer.from(key), b = Buffer.from(fake.secretKey);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b))
      return stripeError(res, 401, 'invalid_request_error', 'Invalid API Key provided.');
    if (req.method === 'POST') {
      const ct = req.headers['content-type'] || '';
      if (!ct.startsWith('application/x-www-form-urlencoded'))
        return stripeError(res, 400, 'invalid_request_error', 'Invalid request: bodies are form-encoded.');
      const ik = req.headers['idempotency-key'];
      if (!ik) return stripeError(res, 400, 'invalid_request_error', 'fake: every POST must carry an Idempotency-Key.');
      const fp = `${req.method} ${url.pathname} ${[...new URLSearchParams(raw)].sort().join('&')}`;
      const prev = idem.get(ik);
      if (prev) {
        if (prev.fp !== fp)
          return stripeError(res, 400, 'idempotency_error',
            'Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than \'' + ik + '\' if you meant to execute a different request.');
        res.writeHead(prev.status, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
        return res.end(prev.body);
      }
      const out = route(req.method, url, parseForm(raw));
      idem.set(ik, { fp, status: out.status, body: JSON.stringify(out.body) });
      res.writeHead(out.status, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(out.body));
    }
    const out = route(req.method, url, Object.fromEntries(url.searchParams));
    res.writeHead(out.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out.body));
  }

  const err = (status, type, message, extra = {}) => ({ status, body: { error: { type, message, ...extra } } });
  const missing = (param) => err(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param });
  const badInt = (param) => err(400, 'invalid_request_error', `Invalid integer: ${param}`, { code: 'parameter_invalid_integer', param });
  const notFound = (what, v) => err(404, 'invalid_request_error', `No such ${what}: '${v}'`, { code: 'resource_missing' });

  function route(method, url, p) {
    const path = url.pathname;
    let m;
    if (method === 'POST' && path === '/v1/payment_intents') {
      if (p.amount === undefined) return missing('amount');
      if (!isInt(p.amount) || Number(p.amount) < 1) return badInt('amount');
      if (!p.currency) return missing('currency');
      if (!/^[a-z]{3}$/.test(p.currency)) return err(400, 'invalid_request_error', 'Invalid currency', { param: 'currency' });
      const pi = { id: id('pi'), object: 'payment_intent', amount: Number(p.amount), amount_received: 0,
        currency: p.currency, status: 'requires_payment_method', metadata: p.metadata || {},
        created: Math.floor(Date.now() / 1000), latest_charge: null, description: p.description ?? null,
        automatic_payment_methods: p.automatic_payment_methods ? { enabled: p.automatic_payment_methods.enabled === 'true' } : null };
      pi.client_secret = `${pi.id}_secret_${crypto.randomBytes(8).toString('hex')}`;
      intents.set(pi.id, pi);
      return { status: 200, body: pi };
    }
    if (method === 'GET' && path === '/v1/payment_intents/search') {
      m = /^metadata\['order_id'\]:'([^']*)'$/.exec(p.query || '');
      if (!m) return err(400, 'invalid_request_error', 'fake: unsupported search query', { param: 'query' });
      const data = [...intents.values()].filter((x) => x.metadata.payment_ref === m[1]);
      return { status: 200, body: { object: 'search_result', data, has_more: false } };
    }
    if ((m = /^\/v1\/payment_intents\/([A-Za-z0-9_]+)$/.exec(path)) && method === 'GET') {
      const pi = intents.get(m[1]);
      if (!pi) return notFound('payment_intent', m[1]);
      const expand = [p['expand[]'] ?? []].flat();
      if (pi.latest_charge && expand.some((e) => e === 'latest_charge' || e.startsWith('latest_charge.'))) {
        const refunded = [...refunds.values()].filter((r) => r.payment_intent === pi.id).reduce((s, r) => s + r.amount, 0);
        const fee = fake.feeOf(pi.amount_received);
        const bt = expand.includes('latest_charge.balance_transaction')
          ? { id: `txn_${pi.latest_charge.slice(3)}`, object: 'balance_transaction', amount: pi.amount_received, fee, net: pi.amount_received - fee }
          : `txn_${pi.latest_charge.slice(3)}`;
        return { status: 200, body: { ...pi, latest_charge: { id: pi.latest_charge, object: 'charge', amount: pi.amount_received,
          amount_refunded: refunded, refunded: refunded === pi.amount_received, payment_intent: pi.id, balance_transaction: bt } } };
      }
      return { status: 200, body: pi };
    }
    if ((m = /^\/v1\/payment_intents\/([A-Za-z0-9_]+)\/cancel$/.exec(path)) && method === 'POST') {
      const pi = intents.get(m[1]);
      if (!pi) return notFound('payment_intent', m[1]);
      if (pi.status === 'succeeded')
        return err(400, 'invalid_request_error', 'You cannot cancel this PaymentIntent because it has a status of succeeded.', { code: 'payment_intent_unexpected_state' });
      pi.status = 'canceled';
      pi.cancellation_reason = p.cancellation_reason ?? null;
      return { status: 200, body: pi };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      if (!p.payment_intent && !p.charge) return missing('payment_intent');
      const pi = intents.get(p.payment_intent);
      if (!pi) return notFound('payment_intent', p.payment_intent);
      if (p.amount !== undefined && (!isInt(p.amount) || Number(p.amount) < 1)) return badInt('amount');
      const done = [...refunds.values()].filter((r) => r.payment_intent === pi.id).reduce((s, r) => s + r.amount, 0);
      const amount = p.amount !== undefined ? Number(p.amount) : pi.amount_received - done;
      if (pi.status !== 'succeeded') return err(400, 'invalid_request_error', 'This PaymentIntent has no successful charge to refund.', { code: 'charge_not_refundable' });
      if (amount > pi.amount_received - done)
        return err(400, 'invalid_request_error', `Refund amount (${amount}) is greater than unrefunded amount on charge (${pi.amount_received - done})`, { code: 'amount_too_large', param: 'amount' });
      const r = { id: id('re'), object: 'refund', amount, currency: pi.currency, payment_intent: pi.id,
        charge: pi.latest_charge, status: 'succeeded', metadata: p.metadata || {}, created: Math.floor(Date.now() / 1000) };
      refunds.set(r.id, r);
      return { status: 200, body: r };
    }
    if (method === 'POST' && path === '/v1/transfers') {
      if (p.amount === undefined) return missing('amount');
      if (!isInt(p.amount) || Number(p.amount) < 1) return badInt('amount');
      if (!p.currency) return missing('currency');
      if (!p.destination) return missing('destination');
      if (!/^acct_[A-Za-z0-9]+$/.test(p.destination)) return err(400, 'invalid_request_error', `No such destination: '${p.destination}'`, { param: 'destination' });
      const t = { id: id('tr'), object: 'transfer', amount: Number(p.amount), currency: p.currency,
        destination: p.destination, transfer_group: p.transfer_group ?? null, created: Math.floor(Date.now() / 1000) };
      transfers.set(t.id, t);
      return { status: 200, body: t };
    }
    return err(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      fake.requests.push({ method: req.method, path: req.url, headers: req.headers, body: raw, at: Date.now() });
      const go = () => {
        if (fake.failStatus) return stripeError(res, fake.failStatus, 'api_error', 'fake: failing on purpose');
        try { handle(req, res, raw); } catch (e) { stripeError(res, 500, 'api_error', String(e)); }
      };
      if (fake.delayMs) setTimeout(go, fake.delayMs); else go();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
  return fake;
}
