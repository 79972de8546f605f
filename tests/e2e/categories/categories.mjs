// categories.mjs: /v1/categories as its users see it. Anyone reads the tree (list with
// cursor pagination, filters, fields= projection, show); only an admin writes, and every
// bad write gets a 4xx naming the field. The read stories seed their rows straight into
// the database: families of up to 45 rows with chosen ids and repeating positions, in one
// transaction.
import { spawnSync } from 'node:child_process';
import { story, api, expectError, expectStatus, assert, unique, asAdmin, newUser, URL_BASE } from '../lib.mjs';

const DB_URL = process.env.VZ_TEST_DB_URL ||
  (process.env.VZ_TEST_DATA_DIR ? `sqlite:${process.env.VZ_TEST_DATA_DIR}/vidzo.db` : 'sqlite:/tmp/vzcore/vidzo.db');
const adminToken = async () => (await asAdmin()).token;

// Inserts rows directly, in one transaction. rows: [{id, parent_id, slug, name, kind, position}]
let idSeq = 0;
const newId = () => BigInt(Date.now() - 1700000000000) * 1048576n + BigInt((process.pid % 4096) * 64 + (idSeq++ % 64));
function seed(rows) {
  const now = Date.now();
  const v = (x) => (x === null || x === undefined ? 'NULL' : typeof x === 'string' ? `'${x.replace(/'/g, "''")}'` : String(x));
  const sql = rows.map((r) => 'INSERT INTO categories (id, parent_id, slug, name, kind, description, position, created_at, updated_at) VALUES ' +
    `(${r.id}, ${v(r.parent_id)}, ${v(r.slug)}, ${v(r.name)}, ${v(r.kind || 'both')}, '', ${r.position || 0}, ${now}, ${now});`).join('\n');
  const res = DB_URL.startsWith('postgres')
    ? spawnSync('psql', [DB_URL, '-q', '-v', 'ON_ERROR_STOP=1'], { input: `BEGIN;\n${sql}\nCOMMIT;`, encoding: 'utf8' })
    : spawnSync('sqlite3', ['-bail', DB_URL.replace(/^sqlite:/, '')], { input: `.timeout 5000\nBEGIN;\n${sql}\nCOMMIT;`, encoding: 'utf8' });
  assert.equal(res.status, 0, `seed failed: ${res.stderr}`);
}

// A parent with n children at positions that repeat (ties are broken by id).
function seedFamily(n, tag = unique('fam')) {
  const parent = { id: newId(), parent_id: null, slug: tag, name: `Family ${tag}`, kind: 'stream', position: 5 };
  const kids = Array.from({ length: n }, (_, i) => ({ id: newId(), parent_id: parent.id, slug: `${tag}-k${i}`,
    name: `Kid ${i} of ${tag}`, kind: i % 2 ? 'product' : 'stream', position: (i * 7) % 5 }));
  seed([parent, ...kids]);
  return { parent, kids, tag };
}

const byOrder = (a, b) => (a.position - b.position) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

story('anyone can read the list and one category', async () => {
  const { parent, kids } = seedFamily(3);
  const list = expectStatus(await api('GET', '/v1/categories?limit=100'), 200);
  assert.ok(Array.isArray(list.json.data));
  assert.ok('next_cursor' in list.json);
  const one = expectStatus(await api('GET', `/v1/categories/${kids[1].id}`), 200);
  const c = one.json.data;
  assert.equal(c.id, String(kids[1].id), 'ids are strings');
  assert.equal(c.parent_id, String(parent.id));
  assert.equal(c.slug, kids[1].slug);
  assert.equal(c.kind, 'product');
  assert.match(c.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const root = expectStatus(await api('GET', `/v1/categories/${parent.id}`), 200);
  assert.equal(root.json.data.parent_id, null);
});

story('cursor pagination walks every child once, in order, with no gaps', async () => {
  const { parent, kids } = seedFamily(45);
  const want = kids.map((k) => ({ ...k, id: BigInt(k.id) })).sort(byOrder).map((k) => String(k.id));
  const first = expectStatus(await api('GET', `/v1/categories?parent_id=${parent.id}`), 200);
  assert.equal(first.json.data.length, 20, 'default page size is 20');
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const q = `/v1/categories?parent_id=${parent.id}&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
    const r = expectStatus(await api('GET', q), 200);
    assert.ok(r.json.data.length <= 7);
    seen.push(...r.json.data.map((c) => c.id));
    cursor = r.json.next_cursor;
    assert.ok(++pages < 20, 'pagination does not end');
  } while (cursor);
  assert.equal(pages, 7);
  assert.equal(new Set(seen).size, seen.length, 'duplicates across pages');
  assert.deepEqual(seen, want);
});

story('bad cursors, limits and parent ids are 400s naming the parameter', async () => {
  for (const c of ['!!!', 'Zm9v', 'AAAA', 'x'.repeat(600), '%ff', 'MTox', 'LTE6MQ']) // foo, 1:1 ok?, -1:1
    if (c !== 'MTox') expectError(await api('GET', `/v1/categories?cursor=${c}`), 400, 'invalid_argument', 'cursor');
  expectError(await api('GET', '/v1/categories?limit=101'), 400, 'invalid_argument', 'limit');
  expectError(await api('GET', '/v1/categories?limit=-1'), 400, 'invalid_argument', 'limit');
  expectError(await api('GET', '/v1/categories?parent_id=abc'), 400, 'invalid_argument', 'parent_id');
  expectError(await api('GET', '/v1/categories?parent_id=-5'), 400, 'invalid_argument', 'parent_id');
  expectError(await api('GET', '/v1/categories?kind=video'), 400, 'invalid_argument', 'kind');
  expectError(await api('GET', `/v1/categories?q=${'a'.repeat(81)}`), 400, 'invalid_argument', 'q');
});

story('fields= keeps only the named fields; an unknown name is a 400', async () => {
  const { parent, kids } = seedFamily(2);
  const r = expectStatus(await api('GET', `/v1/categories?parent_id=${parent.id}&fields=id,name`), 200);
  assert.equal(r.json.data.length, 2);
  for (const c of r.json.data) assert.deepEqual(Object.keys(c).sort(), ['id', 'name']);
  const s = expectStatus(await api('GET', `/v1/categories/${kids[0].id}?fields=slug`), 200);
  assert.deepEqual(s.json.data, { slug: kids[0].slug });
  expectError(await api('GET', `/v1/categories/${kids[0].id}?fields=slug,password`), 400, 'invalid_argument', 'fields');
  expectError(await api('GET', `/v1/categories?parent_id=${parent.id}&fields=nope`), 400, 'invalid_argument', 'fields');
  expectError(await api('GET', `/v1/categories?parent_id=${parent.id}&fields=id,,name`), 400, 'invalid_argument', 'fields');
});

story('filters: parent_id (and root), kind, q (case-insensitive, wildcards literal)', async () => {
  const tag = unique('flt');
  const { parent, kids } = seedFamily(6, tag);
  const under = expectStatus(await api('GET', `/v1/categories?parent_id=${parent.id}&limit=100`), 200).json.data;
  assert.equal(under.length, 6);
  const prod = expectStatus(await api('GET', `/v1/categories?parent_id=${parent.id}&kind=product`), 200).json.data;
  assert.equal(prod.length, 3);
  assert.ok(prod.every((c) => c.kind === 'product'));
  const q = expectStatus(await api('GET', `/v1/categories?q=${encodeURIComponent(`KID 3 OF ${tag}`)}`), 200).json.data;
  assert.deepEqual(q.map((c) => c.id), [String(kids[3].id)]);
  const pct = expectStatus(await api('GET', `/v1/categories?q=${encodeURIComponent(`%${tag}`)}`), 200).json.data;
  assert.equal(pct.length, 0, '% is literal in q');
  let found = false, cursor = null;
  do { // the parent is a root: walk the root level until it shows up
    const r = expectStatus(await api('GET', `/v1/categories?parent_id=root&limit=100${cursor ? `&cursor=${cursor}` : ''}`), 200);
    assert.ok(r.json.data.every((c) => c.parent_id === null));
    found ||= r.json.data.some((c) => c.id === String(parent.id));
    cursor = r.json.next_cursor;
  } while (cursor && !found);
  assert.ok(found);
});

story('unknown, non-numeric and huge ids are 404s', async () => {
  expectError(await api('GET', '/v1/categories/1'), 404, 'not_found');
  expectError(await api('GET', '/v1/categories/abc'), 404, 'not_found');
  expectError(await api('GET', '/v1/categories/-3'), 404, 'not_found');
  expectError(await api('GET', '/v1/categories/99999999999999999999999'), 404, 'not_found');
  expectError(await api('GET', '/v1/categories/0x10'), 404, 'not_found');
});

story('writes without a token are 401; with a bad token too', async () => {
  for (const [m, p] of [['POST', '/v1/categories'], ['PATCH', '/v1/categories/1'], ['DELETE', '/v1/categories/1']]) {
    const r = await api(m, p, { body: { name: 'x', kind: 'stream' } });
    expectError(r, 401, 'unauthenticated');
    assert.match(r.headers.get('www-authenticate') || '', /Bearer/);
    expectError(await api(m, p, { body: { name: 'x', kind: 'stream' }, token: 'not-a-token' }), 401, 'unauthenticated');
  }
});

story('a signed-in user who is not an admin gets 403 on writes', async () => {
  const tok = (await newUser('cat')).token;
  expectError(await api('POST', '/v1/categories', { token: tok, body: { name: 'Nope', kind: 'stream' } }), 403, 'forbidden');
  expectError(await api('DELETE', '/v1/categories/1', { token: tok }), 403, 'forbidden');
});

story('an admin creates, renames, moves and deletes categories', async () => {
  const tok = await adminToken();
  const slug = unique('music');
  const c = expectStatus(await api('POST', '/v1/categories', { token: tok, body: { name: 'Music', slug, kind: 'stream' } }), 201);
  const id = c.json.data.id;
  assert.equal(c.headers.get('location'), `/v1/categories/${id}`);
  assert.equal(c.json.data.parent_id, null);
  const auto = expectStatus(await api('POST', '/v1/categories', { token: tok,
    body: { name: `Live Jazz & Blues ${slug}`, kind: 'both', parent_id: id, position: 3 } }), 201);
  assert.equal(auto.json.data.slug, `live-jazz-blues-${slug}`);
  assert.equal(auto.json.data.parent_id, id);
  const up = expectStatus(await api('PATCH', `/v1/categories/${auto.json.data.id}`, { token: tok,
    body: { name: 'Jazz', parent_id: null } }), 200);
  assert.equal(up.json.data.name, 'Jazz');
  assert.equal(up.json.data.parent_id, null);
  assert.equal(up.json.data.position, 3, 'a patch keeps what it leaves out');
  expectStatus(await api('DELETE', `/v1/categories/${auto.json.data.id}`, { token: tok }), 204);
  expectError(await api('GET', `/v1/categories/${auto.json.data.id}`), 404, 'not_found');
  expectError(await api('DELETE', `/v1/categories/${auto.json.data.id}`, { token: tok }), 404, 'not_found');
  expectStatus(await api('DELETE', `/v1/categories/${id}`, { token: tok }), 204);
});

story('bad category input is a 400 naming the field', async () => {
  const tok = await adminToken();
  const post = (body, raw) => api('POST', '/v1/categories', { token: tok, body, raw,
    headers: raw !== undefined ? { 'content-type': 'application/json' } : {} });
  expectError(await post({ kind: 'stream' }), 400, 'invalid_argument', 'name');
  expectError(await post({ name: 5, kind: 'stream' }), 400, 'invalid_argument', 'name');
  expectError(await post({ name: 'A', kind: 'stream', color: 'red' }), 400, 'invalid_argument', 'color');
  expectError(await post({ name: 'A', kind: 'stream', slug: 'Bad Slug' }), 400, 'invalid_argument', 'slug');
  expectError(await post({ name: 'A', kind: 'stream', slug: 'a--b' }), 400, 'invalid_argument', 'slug');
  expectError(await post({ name: 'A', kind: 'video' }), 400, 'invalid_argument', 'kind');
  expectError(await post({ name: '', kind: 'stream' }), 400, 'invalid_argument', 'name');
  expectError(await post({ name: 'x'.repeat(81), kind: 'stream' }), 400, 'invalid_argument', 'name');
  expectError(await post({ name: 'A', kind: 'stream', position: 1e300 }), 400, 'invalid_argument', 'position');
  expectError(await post(undefined, '{"name":"A","kind":"stream","position":123456789012345678901234567890}'), 400);
  expectError(await post({ name: 'A', kind: 'stream', position: -1 }), 400, 'invalid_argument', 'position');
  expectError(await post({ name: 'A', kind: 'stream', parent_id: 'abc' }), 400, 'invalid_argument', 'parent_id');
  expectError(await post({ name: 'A', kind: 'stream', parent_id: '1' }), 400, 'invalid_argument', 'parent_id');
  expectError(await post(undefined, '{"name":'), 400, 'invalid_json');
  expectError(await post(undefined, '[1,2]'), 400, 'invalid_json');
  expectError(await post(undefined, '"just a string"'), 400, 'invalid_json');
  expectError(await post(undefined, '{"name":"A","name":"B","kind":"stream"}'), 400, 'invalid_json');
  expectError(await post(undefined, Buffer.from('{"name":"\xff\xfe","kind":"stream"}', 'latin1')), 400, 'invalid_json');
  expectError(await api('PATCH', '/v1/categories/1', { token: tok, body: {} }), 400, 'invalid_argument');
});

story('duplicate slugs are 409; deleting a parent is 409; cycles are refused', async () => {
  const tok = await adminToken();
  const slug = unique('dup');
  const a = expectStatus(await api('POST', '/v1/categories', { token: tok, body: { name: 'A', slug, kind: 'stream' } }), 201).json.data;
  expectError(await api('POST', '/v1/categories', { token: tok, body: { name: 'B', slug, kind: 'stream' } }), 409, 'conflict', 'slug');
  const b = expectStatus(await api('POST', '/v1/categories', { token: tok, body: { name: 'B', slug: `${slug}-b`, kind: 'stream', parent_id: a.id } }), 201).json.data;
  const c = expectStatus(await api('POST', '/v1/categories', { token: tok, body: { name: 'C', slug: `${slug}-c`, kind: 'stream', parent_id: b.id } }), 201).json.data;
  expectError(await api('PATCH', `/v1/categories/${b.id}`, { token: tok, body: { slug } }), 409, 'conflict', 'slug');
  expectError(await api('DELETE', `/v1/categories/${a.id}`, { token: tok }), 409, 'has_children');
  expectError(await api('PATCH', `/v1/categories/${a.id}`, { token: tok, body: { parent_id: c.id } }), 400, 'invalid_argument', 'parent_id');
  expectError(await api('PATCH', `/v1/categories/${a.id}`, { token: tok, body: { parent_id: a.id } }), 400, 'invalid_argument', 'parent_id');
  for (const id of [c.id, b.id, a.id]) expectStatus(await api('DELETE', `/v1/categories/${id}`, { token: tok }), 204);
});

story('a large list is gzipped for clients that accept it', async () => {
  seedFamily(30);
  const r = await fetch(`${URL_BASE}/v1/categories?limit=100`,
    { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  const j = await r.json(); // fetch inflates it
  assert.ok(j.data.length >= 30);
});
