// Products: a seller lists, admin reviews (or trusted sellers are auto-approved), buyers
// search; another seller's product is 404; bad input names its field.
import { execFileSync } from 'node:child_process';
import { api, asAdmin, assert, expectError, expectStatus, newUser, unique, withServer } from '../lib.mjs';
import { ledgerOk, newProduct, newSeller, productBody, productImage } from './market_lib.mjs';

export default [
  { name: 'a seller lists a product, an admin approves it, it is found by text, category, price and seller', fn: async () => {
    const s = await newSeller('ps', { trusted: false }), admin = await asAdmin(), buyer = await newUser('pb');
    const cat = expectStatus(await api('POST', '/v1/categories', { token: admin.token, body: { name: 'Mugs ' + unique(''), slug: unique('mugs-'), kind: 'product' } }), 201).json.data;
    const word = unique('zebra').replace(/[^a-z0-9]/g, '');
    const img1 = await productImage(s), img2 = await productImage(s), foreign = await productImage(buyer);
    expectError(await api('POST', '/v1/products', { token: s.token, body: productBody({ images: [foreign] }) }), 400, 'invalid_argument', 'images[0]');
    expectError(await api('POST', '/v1/products', { token: s.token, body: productBody({ images: [img1, img1] }) }), 400, 'invalid_argument', 'images[1]');
    const p = expectStatus(await api('POST', '/v1/products', { token: s.token, body: productBody({
      title: `Striped ${word} mug`, category_id: cat.id, images: [img1, img2], compare_at_price: 2000,
      variants: [{ sku: 'A', title: 'S', price: 1500, stock: 3 }, { sku: 'B', title: 'L', price: 1200, stock: 0 }] }) }), 201).json.data;
    assert.equal(p.status, 'pending');
    assert.equal(p.price, 1200);
    assert.equal(p.in_stock, true);
    assert.deepEqual(p.images.map((m) => m.id), [img1, img2]);
    assert.equal(p.images[0].purpose, 'product_image');
    // claimed: a second product cannot take the same upload
    expectError(await api('POST', '/v1/products', { token: s.token, body: productBody({ images: [img1] }) }), 409);
    assert.equal(p.variants.length, 2);
    assert.deepEqual(p.shipping, { flat: 500, per_extra: 100 });
    // pending: invisible to buyers, visible to its seller and staff
    expectError(await api('GET', `/v1/products/${p.id}`, { token: buyer.token }), 404, 'not_found');
    expectStatus(await api('GET', `/v1/products/${p.id}`, { token: s.token }), 200);
    const queue = expectStatus(await api('GET', '/v1/admin/products?status=pending&limit=100', { token: admin.token }), 200).json.data;
    assert.ok(queue.some((x) => x.id === p.id));
    expectStatus(await api('POST', `/v1/admin/products/${p.id}/approve`, { token: admin.token }), 200);
    expectError(await api('POST', `/v1/admin/products/${p.id}/approve`, { token: admin.token }), 409, 'invalid_state');
    const shown = expectStatus(await api('GET', `/v1/products/${p.id}`), 200).json.data;
    assert.equal(shown.status, 'active');
    const q = (qs) => api('GET', `/v1/products?${qs}`).then((r) => expectStatus(r, 200).json.data.map((x) => x.id));
    assert.deepEqual(await q(`q=${word}`), [p.id]);
    assert.deepEqual(await q(`q=${word.slice(0, 6)}`).then((ids) => ids.includes(p.id)), true); // prefix
    assert.deepEqual(await q(`category_id=${cat.id}`), [p.id]);
    assert.deepEqual(await q(`seller_id=${s.id}`), [p.id]);
    assert.deepEqual(await q(`seller_id=${s.id}&currency=EUR&min_price=1000&max_price=1300`), [p.id]);
    assert.deepEqual(await q(`seller_id=${s.id}&currency=EUR&min_price=1300`), []);
    assert.deepEqual(await q(`seller_id=${s.id}&currency=USD`), []);
    const f = expectStatus(await api('GET', `/v1/products?seller_id=${s.id}&fields=id,price`), 200).json.data;
    assert.deepEqual(Object.keys(f[0]).sort(), ['id', 'price']);
    expectError(await api('GET', '/v1/products?min_price=5'), 400, 'invalid_argument', 'currency');
    expectError(await api('GET', '/v1/products?sort=cheapest'), 400, 'invalid_argument', 'sort');
    expectError(await api('GET', '/v1/products?q=%20%2A'), 400, 'invalid_argument', 'q');
    await ledgerOk();
  } },
  { name: 'search sorts by newest, price and popularity with cursor pages; in_stock filters', fn: async () => {
    const s = await newSeller('pq');
    const a = await newProduct(s, { price: 300, stock: 0 }), b = await newProduct(s, { price: 100 }), c = await newProduct(s, { price: 200 });
    const ids = async (qs) => expectStatus(await api('GET', `/v1/products?seller_id=${s.id}&${qs}`), 200).json;
    assert.deepEqual((await ids('sort=newest')).data.map((x) => x.id), [c.id, b.id, a.id]);
    assert.deepEqual((await ids('sort=price_asc')).data.map((x) => x.id), [b.id, c.id, a.id]);
    assert.deepEqual((await ids('sort=price_desc')).data.map((x) => x.id), [a.id, c.id, b.id]);
    assert.deepEqual((await ids('in_stock=true&sort=price_asc')).data.map((x) => x.id), [b.id, c.id]);
    const p1 = await ids('sort=price_asc&limit=2');
    assert.deepEqual(p1.data.map((x) => x.id), [b.id, c.id]);
    const p2 = await ids(`sort=price_asc&limit=2&cursor=${p1.next_cursor}`);
    assert.deepEqual(p2.data.map((x) => x.id), [a.id]);
    assert.equal(p2.next_cursor, null);
    assert.equal((await ids('sort=popular')).data.length, 3);
    // text search, newest first, paged by cursor (the FTS index drives the order)
    const w = unique('wombat').replace(/[^a-z0-9]/g, '');
    const t = [];
    for (let i = 0; i < 3; i++) t.push(await newProduct(s, { title: `${w} item ${i}` }));
    const q1 = expectStatus(await api('GET', `/v1/products?q=${w}&limit=2`), 200).json;
    assert.deepEqual(q1.data.map((x) => x.id), [t[2].id, t[1].id]);
    const q2 = expectStatus(await api('GET', `/v1/products?q=${w}&limit=2&cursor=${q1.next_cursor}`), 200).json;
    assert.deepEqual(q2.data.map((x) => x.id), [t[0].id]);
    assert.deepEqual(expectStatus(await api('GET', `/v1/products?q=${w}&sort=price_asc&limit=5`), 200).json.data.length, 3);
  } },
  { name: 'products: 400 names the field, 401 without a token, 403 for a buyer, 404 for another seller', fn: async () => {
    const s = await newSeller('pe'), other = await newSeller('po'), buyer = await newUser('pn');
    const bad = async (over, field) => expectError(await api('POST', '/v1/products', { token: s.token, body: productBody(over) }), 400, 'invalid_argument', field);
    await bad({ currency: 'eur' }, 'currency');
    await bad({ currency: 'EURO' }, 'currency');
    await bad({ title: '' }, 'title');
    await bad({ variants: [] }, 'variants');
    await bad({ variants: [{ sku: 'X', price: -5, stock: 1 }] }, 'variants[0].price');
    await bad({ variants: [{ sku: 'X', price: 10.5, stock: 1 }] }, 'variants[0].price');
    await bad({ variants: [{ sku: 'X', price: 100, stock: -1 }] }, 'variants[0].stock');
    await bad({ variants: [{ sku: 'X', price: 100, stock: 1 }, { sku: 'X', price: 100, stock: 1 }] }, 'variants');
    await bad({ compare_at_price: 1 }, 'compare_at_price');
    await bad({ shipping: { flat: -1, per_extra: 0 } }, 'shipping.flat');
    await bad({ category_id: '999' }, 'category_id');
    await bad({ extra: 1 }, 'extra');
    expectError(await api('POST', '/v1/products', { body: productBody() }), 401);
    expectError(await api('POST', '/v1/products', { token: buyer.token, body: productBody() }), 403, 'forbidden');
    const p = await newProduct(s);
    expectError(await api('PATCH', `/v1/products/${p.id}`, { token: other.token, body: { title: 'mine now' } }), 404, 'not_found');
    expectError(await api('POST', `/v1/products/${p.id}/archive`, { token: other.token }), 404, 'not_found');
    expectError(await api('PATCH', `/v1/products/${p.id}/variants/${p.variants[0].id}`, { token: other.token, body: { stock: 1 } }), 404);
    expectError(await api('POST', `/v1/products/${p.id}/variants`, { token: other.token, body: { sku: 'Z', price: 1, stock: 1 } }), 404);
    expectError(await api('POST', `/v1/admin/products/${p.id}/approve`, { token: s.token }), 403);
    expectError(await api('GET', '/v1/products/123'), 404);
    // the owner edits, adds a variant, adjusts stock; never below zero
    const img = await productImage(s);
    const e = expectStatus(await api('PATCH', `/v1/products/${p.id}`, { token: s.token, body: { title: 'Renamed', images: [img] } }), 200).json.data;
    assert.equal(e.title, 'Renamed');
    assert.deepEqual(e.images.map((m) => m.id), [img]);
    // kept on a second save, released when dropped
    assert.deepEqual(expectStatus(await api('PATCH', `/v1/products/${p.id}`, { token: s.token, body: { images: [img] } }), 200).json.data.images.map((m) => m.id), [img]);
    assert.deepEqual(expectStatus(await api('PATCH', `/v1/products/${p.id}`, { token: s.token, body: { images: [] } }), 200).json.data.images, []);
    const v = expectStatus(await api('POST', `/v1/products/${p.id}/variants`, { token: s.token, body: { sku: 'NEW', price: 50, stock: 2 } }), 201).json.data;
    assert.equal(v.price, 50);
    expectError(await api('POST', `/v1/products/${p.id}/variants`, { token: s.token, body: { sku: 'NEW', price: 50, stock: 2 } }), 409, 'conflict');
    const vid = v.variants.find((x) => x.sku === 'NEW').id;
    expectError(await api('PATCH', `/v1/products/${p.id}/variants/${vid}`, { token: s.token, body: { stock_adjust: -3 } }), 409, 'out_of_stock');
    const w = expectStatus(await api('PATCH', `/v1/products/${p.id}/variants/${vid}`, { token: s.token, body: { stock_adjust: -2 } }), 200).json.data;
    assert.equal(w.variants.find((x) => x.sku === 'NEW').stock, 0);
    const mine = expectStatus(await api('GET', '/v1/sellers/me/products?status=active', { token: s.token }), 200).json.data;
    assert.ok(mine.some((x) => x.id === p.id));
    expectStatus(await api('POST', `/v1/products/${p.id}/archive`, { token: s.token }), 200);
    expectError(await api('PATCH', `/v1/products/${p.id}`, { token: s.token, body: { title: 'again' } }), 409, 'invalid_state');
    expectError(await api('GET', `/v1/products/${p.id}`, { token: buyer.token }), 404);
  } },
  { name: 'review: reject with a reason, resubmit; untrusted sellers wait, trusted ones are auto-approved', fn: async () => {
    const s = await newSeller('pr', { trusted: false }), admin = await asAdmin();
    const p = expectStatus(await api('POST', '/v1/products', { token: s.token, body: productBody({ submit: false }) }), 201).json.data;
    assert.equal(p.status, 'draft');
    expectError(await api('POST', `/v1/admin/products/${p.id}/reject`, { token: admin.token, body: {} }), 400, 'invalid_argument', 'reason');
    expectError(await api('POST', `/v1/admin/products/${p.id}/reject`, { token: admin.token, body: { reason: 'x' } }), 409, 'invalid_state');
    assert.equal(expectStatus(await api('POST', `/v1/products/${p.id}/submit`, { token: s.token }), 200).json.data.status, 'pending');
    const r = expectStatus(await api('POST', `/v1/admin/products/${p.id}/reject`, { token: admin.token, body: { reason: 'blurry photos' } }), 200).json.data;
    assert.equal(r.status, 'rejected');
    assert.equal(r.review_note, 'blurry photos');
    expectStatus(await api('PUT', `/v1/admin/trusted-sellers/${s.id}`, { token: admin.token }), 200);
    assert.equal(expectStatus(await api('POST', `/v1/products/${p.id}/submit`, { token: s.token }), 200).json.data.status, 'active');
    expectStatus(await api('DELETE', `/v1/admin/trusted-sellers/${s.id}`, { token: admin.token }), 204);
    expectError(await api('DELETE', `/v1/admin/trusted-sellers/${s.id}`, { token: admin.token }), 404);
    expectError(await api('PUT', `/v1/admin/trusted-sellers/${admin.id}`, { token: admin.token }), 404);
  } },
  { name: 'cart and addresses: per account, survives sign-out, another user sees none of it', fn: async () => {
    const s = await newSeller('pc'), b = await newUser('pcb'), other = await newUser('pco');
    const p = await newProduct(s, { stock: 5 });
    const vid = p.variants[0].id;
    const c = expectStatus(await api('PUT', `/v1/cart/items/${vid}`, { token: b.token, body: { quantity: 2 } }), 200).json.data;
    assert.equal(c.items.length, 1);
    assert.equal(c.items[0].quantity, 2);
    expectError(await api('PUT', `/v1/cart/items/${vid}`, { token: b.token, body: { quantity: 0 } }), 400, 'invalid_argument', 'quantity');
    expectError(await api('PUT', `/v1/cart/items/${vid}`, { token: s.token, body: { quantity: 1 } }), 400, 'own_product');
    expectError(await api('PUT', '/v1/cart/items/123', { token: b.token, body: { quantity: 1 } }), 404);
    expectError(await api('GET', '/v1/cart'), 401);
    expectStatus(await api('POST', '/v1/auth/signout', { token: b.token, body: { refresh_token: b.refresh } }), 204);
    const again = expectStatus(await api('POST', '/v1/auth/signin', { body: { email: b.email, password: b.password } }), 200).json.data;
    const c2 = expectStatus(await api('GET', '/v1/cart', { token: again.access_token }), 200).json.data;
    assert.equal(c2.items.length, 1);
    assert.equal(expectStatus(await api('GET', '/v1/cart', { token: other.token }), 200).json.data.items.length, 0);
    expectError(await api('DELETE', `/v1/cart/items/${vid}`, { token: other.token }), 404);
    const a = expectStatus(await api('POST', '/v1/me/addresses', { token: again.access_token, body: { name: 'B', line1: 'x', city: 'y', postal_code: '1', country: 'DE' } }), 201).json.data;
    expectError(await api('POST', '/v1/me/addresses', { token: again.access_token, body: { name: 'B', line1: 'x', city: 'y', postal_code: '1', country: 'de' } }), 400, 'invalid_argument', 'country');
    expectError(await api('DELETE', `/v1/me/addresses/${a.id}`, { token: other.token }), 404);
    assert.equal(expectStatus(await api('GET', '/v1/me/addresses', { token: again.access_token }), 200).json.data.length, 1);
    expectStatus(await api('DELETE', `/v1/me/addresses/${a.id}`, { token: again.access_token }), 204);
    expectStatus(await api('DELETE', '/v1/cart', { token: again.access_token }), 204);
    assert.equal(expectStatus(await api('GET', '/v1/cart', { token: again.access_token }), 200).json.data.items.length, 0);
    expectError(await api('DELETE', '/v1/cart'), 401);
  } },
  // Text sorted by price or popularity ranks at most --product-search-max-matches matches,
  // the newest (a bounded plan: docs/internals/market.md); exact below the cap, and the
  // reply says when it cut (Search-Matches-Capped). Newest-first text is never capped.
  { name: 'search: text sorted by price ranks the newest N matches, says so past the cap, pages by cursor', timeout: 60000, fn: async () => {
    await withServer({ args: ['--dev', '--product-search-max-matches', '3'], env: { VIDZO_TOTP_OPTIONAL: '1' } }, async ({ url, dir }) => {
      execFileSync(process.env.VZ_TEST_BIN, ['admin', 'create', '--email', 'a@own.test', '--password', 'Admin-pass-123456', '--if-missing',
        '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'error'], { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' } });
      const admin = expectStatus(await api('POST', '/v1/auth/signin', { base: url, body: { email: 'a@own.test', password: 'Admin-pass-123456' } }), 200).json.data;
      const s = await newUser('cap', { base: url, dataDir: dir });
      const app = expectStatus(await api('POST', '/v1/sellers/applications', { base: url, token: s.token, body: {
        business_name: 'Cap', legal_name: 'Cap GmbH', country: 'DE', tax_id: 'DE123456789', address: 'Hauptstr. 1, Berlin', description: 'x' } }), 201).json.data;
      expectStatus(await api('POST', `/v1/admin/sellers/applications/${app.id}/approve`, { base: url, token: admin.access_token }), 200);
      expectStatus(await api('PUT', `/v1/admin/trusted-sellers/${s.id}`, { base: url, token: admin.access_token }), 200);
      s.token = expectStatus(await api('POST', '/v1/auth/refresh', { base: url, body: { refresh_token: s.refresh } }), 200).json.data.access_token;
      const made = [];
      for (const [i, price] of [500, 100, 400, 300, 200].entries())
        made.push(expectStatus(await api('POST', '/v1/products', { base: url, token: s.token, body: productBody({
          title: `capword item ${i} ${i < 2 ? 'rareword' : ''}`, variants: [{ sku: `C${i}`, price, stock: 1 }] }) }), 201).json.data);
      const get = async (qs) => { const r = expectStatus(await api('GET', `/v1/products?${qs}`, { base: url }), 200); return { ...r.json, capped: r.headers.get('search-matches-capped') }; };
      const prices = (r) => r.data.map((x) => x.price);
      // 5 matches, cap 3: the newest 3 (prices 400, 300, 200), sorted; the reply says it cut
      const a = await get('q=capword&sort=price_asc');
      assert.deepEqual(prices(a), [200, 300, 400]);
      assert.equal(a.capped, '3');
      assert.deepEqual(prices(await get('q=capword&sort=price_desc')), [400, 300, 200]);
      assert.equal((await get('q=capword&sort=popular')).data.length, 3);
      // paged by cursor within the same candidates
      const p1 = await get('q=capword&sort=price_asc&limit=2');
      assert.deepEqual(prices(p1), [200, 300]);
      const p2 = await get(`q=capword&sort=price_asc&limit=2&cursor=${p1.next_cursor}`);
      assert.deepEqual(prices(p2), [400]);
      assert.equal(p2.next_cursor, null);
      // under the cap: exact, no header; filters still apply
      const r = await get('q=rareword&sort=price_asc');
      assert.deepEqual(prices(r), [100, 500]);
      assert.equal(r.capped, null);
      assert.deepEqual(prices(await get('q=capword&sort=price_asc&currency=EUR&min_price=250')), [300, 400]);
      // newest first is the FTS5 order itself: every match, never capped
      const n = await get('q=capword');
      assert.deepEqual(n.data.map((x) => x.id), made.map((x) => x.id).reverse());
      assert.equal(n.capped, null);
      expectError(await api('GET', '/v1/products?q=%20%21&sort=price_asc', { base: url }), 400, 'invalid_argument', 'q');
    });
  } },
];
