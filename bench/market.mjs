// bench/market.mjs: checkout of limited stock and product search, against a running
// vidzo (bench/market.sh starts one). Prints one JSON line per measurement.
//
//   checkout: N buyers (25 accounts, their own Idempotency-Keys) all at once on one
//   product with `stock` units, then the same N requests one after another on a fresh
//   product with the same stock. Figures: requests/s over the whole batch, orders made,
//   p50/p99 latency per request. stock=10 is the race (10 win, the rest get
//   409 out_of_stock); stock=N makes every request an order (order creation under
//   contention on one row).
//   search: P requests mixing text, category, price range, in_stock and the sorts over
//   the seeded catalogue, C at a time; p50/p99.
//
// env: VZ_TEST_URL, VZ_TEST_DATA_DIR (the server's, for sign-up codes), VZ_TEST_BIN.
import { api, asAdmin, expectStatus, newUser, unique } from '../tests/e2e/lib.mjs';

const N = Number(process.env.BUYERS || 500);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function seller() {
  const u = await newUser('bs'), admin = await asAdmin();
  const app = expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: {
    business_name: 'Bench', legal_name: 'Bench GmbH', country: 'DE', tax_id: 'DE123456789', address: 'Hauptstr. 1, Berlin', description: 'bench' } }), 201).json.data;
  expectStatus(await api('POST', `/v1/admin/sellers/applications/${app.id}/approve`, { token: admin.token }), 200);
  expectStatus(await api('PUT', `/v1/admin/trusted-sellers/${u.id}`, { token: admin.token }), 200);
  const t = expectStatus(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 200).json.data;
  return { ...u, token: t.access_token };
}

async function product(s, stock) {
  return expectStatus(await api('POST', '/v1/products', { token: s.token, body: { title: 'Bench ' + unique(''), currency: 'EUR',
    variants: [{ sku: 'B', price: 100, stock }], submit: true } }), 201).json.data;
}

async function buyers() {
  const out = [];
  for (let i = 0; i < 25; i++) {
    const b = await newUser('bb');
    b.addr = expectStatus(await api('POST', '/v1/me/addresses', { token: b.token, body: { name: 'B', line1: 'x', city: 'y', postal_code: '1', country: 'DE' } }), 201).json.data;
    out.push(b);
  }
  return out;
}

const buy = async (b, vid) => {
  const t0 = now();
  const r = await api('POST', '/v1/orders', { token: b.token, headers: { 'idempotency-key': unique('bk') },
    body: { items: [{ variant_id: vid, quantity: 1 }], address_id: b.addr.id } });
  return { ms: now() - t0, status: r.status };
};

async function checkoutRun(s, bs, stock, mode) {
  const p = await product(s, stock), vid = p.variants[0].id;
  const t0 = now();
  let res;
  if (mode === 'concurrent') res = await Promise.all(Array.from({ length: N }, (_, i) => buy(bs[i % bs.length], vid)));
  else { res = []; for (let i = 0; i < N; i++) res.push(await buy(bs[i % bs.length], vid)); }
  const secs = (now() - t0) / 1000, ms = res.map((r) => r.ms);
  const orders = res.filter((r) => r.status === 201).length, oos = res.filter((r) => r.status === 409).length;
  const left = expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data.variants[0].stock;
  return { bench: 'checkout', mode, stock, requests: N, orders, out_of_stock: oos, other: N - orders - oos, stock_left: left,
    req_per_s: Math.round(N / secs), orders_per_s: Math.round(orders / secs), p50_ms: +pct(ms, 50).toFixed(1), p99_ms: +pct(ms, 99).toFixed(1) };
}

async function searchRun(total, conc) {
  const qs = ['sort=newest', 'sort=price_asc&currency=EUR&min_price=1000&max_price=2000', 'q=koala', 'q=mug%20blue&sort=popular',
    'category_id=1&sort=price_desc', 'in_stock=true&sort=newest', 'q=lamp&in_stock=true', 'seller_id=2&sort=newest',
    'q=number%20777777', 'sort=popular', 'q=koala&sort=price_asc', 'q=number&sort=price_desc'];
  const ms = [], per = new Map(qs.map((q) => [q, []]));
  let i = 0, bad = 0;
  const worker = async () => {
    while (i < total) {
      const q = qs[i++ % qs.length];
      const t0 = now();
      const r = await api('GET', `/v1/products?${q}&limit=20`);
      const d = now() - t0;
      ms.push(d);
      per.get(q).push(d);
      if (r.status !== 200) bad++;
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: conc }, worker));
  const secs = (now() - t0) / 1000;
  if (total > 100) for (const [q, xs] of per) console.log(JSON.stringify({ bench: 'search_query', concurrency: conc, query: q, n: xs.length, p50_ms: +pct(xs, 50).toFixed(2), p99_ms: +pct(xs, 99).toFixed(2) }));
  return { bench: 'search', requests: total, concurrency: conc, non_200: bad, req_per_s: Math.round(total / secs),
    p50_ms: +pct(ms, 50).toFixed(2), p99_ms: +pct(ms, 99).toFixed(2) };
}

const what = process.argv[2] || 'checkout';
if (what === 'checkout') {
  const s = await seller(), bs = await buyers();
  for (const stock of [10, N]) for (const mode of ['concurrent', 'serial']) console.log(JSON.stringify(await checkoutRun(s, bs, stock, mode)));
} else {
  for (const conc of (process.env.CONCS || '1,8').split(',').map(Number)) {
    await searchRun(40, conc); // warm the page cache
    console.log(JSON.stringify(await searchRun(Number(process.env.SEARCHES || 500), conc)));
  }
}
