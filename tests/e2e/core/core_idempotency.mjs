// Issue 16: Idempotency-Key on POST /v1/sellers/applications (a retried submission gets
// the first answer, not a 409), and audit inside the transaction of the change it records
// (an admin write that fails after its handler wrote leaves neither the change nor a row).
import { api, asAdmin, assert, expectError, expectStatus, newUser, unique } from '../lib.mjs';

const application = { business_name: 'Numbat Knits', legal_name: 'Numbat Knits Pty Ltd', country: 'AU',
  tax_id: 'AU11223491505', address: '5 Hay St, Perth WA 6000' };
const apply = (u, key, body = application, extra = {}) =>
  api('POST', '/v1/sellers/applications', { token: u.token, body, headers: key !== null ? { 'idempotency-key': key, ...extra } : extra });

export default [
  { name: 'a retried application with the same Idempotency-Key gets the first answer, replayed', fn: async () => {
    const u = await newUser(), key = unique('k-');
    const first = expectStatus(await apply(u, key), 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    // the same object, keys in another order: the same request
    const reordered = Object.fromEntries(Object.entries(application).reverse());
    const again = expectStatus(await apply(u, key, reordered, { origin: 'http://allowed.example' }), 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    // a browser may read the marker, and the replay keeps every common header
    assert.match(again.headers.get('access-control-expose-headers'), /Idempotent-Replayed/);
    assert.equal(again.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(again.text, first.text, 'the stored answer, byte for byte');
    assert.equal(again.headers.get('content-type'), 'application/json');
    // one application exists; without a key a second one is the route's own 409
    const mine = expectStatus(await api('GET', '/v1/sellers/applications/me', { token: u.token }), 200);
    assert.equal(mine.json.data.id, first.json.data.id);
    expectError(await apply(u, null), 409, 'conflict');
    // the same key for a different request: 422, nothing run
    expectError(await apply(u, key, { ...application, business_name: 'Quokka Quilts' }), 422, 'idempotency_key_reused', 'Idempotency-Key');
    // keys are per user: another user's identical key is theirs
    const other = await newUser();
    const theirs = expectStatus(await apply(other, key), 201);
    assert.notEqual(theirs.json.data.id, first.json.data.id);
    assert.equal(theirs.headers.get('idempotent-replayed'), null);
  } },
  { name: 'an error is not stored: a retry under the same key runs again', fn: async () => {
    const u = await newUser(), key = unique('k-');
    expectError(await apply(u, key, { ...application, country: 'au' }), 400, 'invalid_argument', 'country');
    // validation refused it before the handler; the same key now carries a valid request
    expectStatus(await apply(u, key), 201);
    // the handler's own refusal (409: one pending application) is rolled back, not stored
    const key2 = unique('k-');
    expectError(await apply(u, key2), 409, 'conflict');
    expectError(await apply(u, key2), 409, 'conflict');
  } },
  { name: 'two identical requests at once: one runs, the other waits and replays it', fn: async () => {
    const u = await newUser(), key = unique('k-');
    const [a, b] = await Promise.all([apply(u, key), apply(u, key)]);
    expectStatus(a, 201);
    expectStatus(b, 201);
    assert.equal(a.json.data.id, b.json.data.id);
    const replayed = [a, b].filter((r) => r.headers.get('idempotent-replayed') === 'true');
    assert.equal(replayed.length, 1);
  } },
  { name: 'a malformed Idempotency-Key is a 400 naming the header', fn: async () => {
    const u = await newUser();
    expectError(await apply(u, 'x'.repeat(256)), 400, 'invalid_argument', 'Idempotency-Key');
    expectError(await apply(u, 'tab\there'), 400, 'invalid_argument', 'Idempotency-Key');
    expectError(await apply(u, ''), 400, 'invalid_argument', 'Idempotency-Key');
    expectStatus(await apply(u, 'x'.repeat(255)), 201);
  } },
  { name: 'a failing audited action leaves no change and no audit row; a successful one exactly one', fn: async () => {
    const admin = (await asAdmin()).token;
    const slug = unique('idem-aud-');
    const rows = async (id) => expectStatus(await api('GET', `/v1/admin/audit?target_type=categories&target_id=${id}&limit=100`,
      { token: admin }), 200).json.data;
    // fields= is checked when the answer is built, after the handler committed its insert:
    // the 400 must take the insert back with it
    expectError(await api('POST', '/v1/categories?fields=nosuch', { token: admin, body: { name: slug, slug, kind: 'both' } }),
      400, 'invalid_argument', 'fields');
    const made = expectStatus(await api('POST', '/v1/categories', { token: admin, body: { name: slug, slug, kind: 'both' } }), 201);
    const id = made.json.data.id;
    assert.deepEqual((await rows(id)).map((r) => r.action), ['POST /v1/categories']);
    // the same for an update: the name stays, no row
    expectError(await api('PATCH', `/v1/categories/${id}?fields=nosuch`, { token: admin, body: { name: `${slug} renamed` } }),
      400, 'invalid_argument', 'fields');
    const shown = expectStatus(await api('GET', `/v1/categories/${id}`), 200);
    assert.equal(shown.json.data.name, slug);
    assert.deepEqual((await rows(id)).map((r) => r.action), ['POST /v1/categories']);
    // a handler refusal (409) leaves no row either; a success adds exactly one
    expectError(await api('POST', '/v1/categories', { token: admin, body: { name: slug, slug, kind: 'both' } }), 409, 'conflict');
    expectStatus(await api('PATCH', `/v1/categories/${id}`, { token: admin, body: { name: `${slug} renamed` } }), 200);
    assert.deepEqual((await rows(id)).map((r) => r.action), ['PATCH /v1/categories/:id', 'POST /v1/categories']);
  } },
];
