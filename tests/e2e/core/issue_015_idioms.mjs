// Issue 16, shared handler idioms, seen from outside. A transaction the database refuses
// as busy runs again (db_tx: bounded, outermost level only), so a follow that meets a busy
// database inside its transaction still answers 204, once, with the counters right; busy
// before the transaction (a plain read) is still a 503. Any 503 tells the client when to
// come back (Retry-After), whichever service sent it. Needs a debug build started with
// --dev (the fault switch, core/fault.h); elsewhere the stories skip.
import { api, assert, expectStatus, newUser } from '../lib.mjs';

const FOLLOW = 'POST /v1/users/:id/follow';
const arm = async (nth, code) =>
  expectStatus(await api('POST', '/v1/_debug/fault', { body: { kind: 'db', nth, scope: 'request', code } }), 200);
const disarm = async () => (await api('DELETE', '/v1/_debug/fault')).json?.data?.last;
const faultSwitch = async () => {
  if ((await api('GET', '/v1/_debug/fault')).status !== 404) return true;
  console.log('     (note: no /v1/_debug/fault: not a debug build with --dev; skipped)');
  return false;
};

function clean503(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.text}`);
  assert.equal(r.json?.error?.code, 'unavailable', `${what}: ${r.text}`);
  assert.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
}

export default [
  { name: 'issue 16: a busy database inside a transaction is retried: the follow lands once', timeout: 60000, fn: async () => {
    if (!(await faultSwitch())) return;
    const a = await newUser(), b = await newUser();
    const counts = async () => [(await api('GET', `/v1/users/${a.id}`)).json.data.following_count,
      (await api('GET', `/v1/users/${b.id}`)).json.data.followers_count];
    let retried = 0, refused = 0;
    try {
      // the Nth database event of the follow is busy, for N = 1, 2, ... until the request
      // has fewer events than N
      for (let n = 1; n <= 40; n++) {
        await arm(n, 'busy');
        let r, last;
        try { r = await api('POST', `/v1/users/${b.id}/follow`, { token: a.token }); } finally { last = await disarm(); }
        assert.equal(last?.route, FOLLOW, `busy #${n}: the fault was claimed by another request`);
        if (r.status === 503) { clean503(r, `busy #${n}`); refused++; } else assert.equal(r.status, 204, `busy #${n}: ${r.text}`);
        assert.deepEqual(await counts(), r.status === 204 ? [1, 1] : [0, 0], `busy #${n}: counters`);
        if (last.fired && r.status === 204) retried++;
        if (r.status === 204) expectStatus(await api('DELETE', `/v1/users/${b.id}/follow`, { token: a.token }), 204);
        if (!last.fired) break;
      }
    } finally {
      await api('DELETE', '/v1/_debug/fault');
    }
    // begin, insert, two counter updates, commit: each busy one was run again
    assert.ok(retried >= 4, `busy events answered 204 after a retry: ${retried}`);
    assert.ok(refused >= 1, 'a busy read before the transaction is not retried (503)');
  } },

  { name: 'issue 16: every 503 carries Retry-After, whichever service answers', timeout: 30000, fn: async () => {
    if (!(await faultSwitch())) return;
    const u = await newUser();
    const calls = [
      ['GET /v1/users/:id', () => api('GET', `/v1/users/${u.id}`)],
      ['GET /v1/categories/:id', () => api('GET', '/v1/categories/1')],
      ['GET /v1/auth/sessions', () => api('GET', '/v1/auth/sessions', { token: u.token })], // auth answers 503 itself
    ];
    try {
      for (const [route, call] of calls) {
        await arm(1, 'io');
        let r, last;
        try { r = await call(); } finally { last = await disarm(); }
        assert.equal(last?.route, route);
        assert.ok(last.fired, `${route}: no database event`);
        clean503(r, route);
      }
    } finally {
      await api('DELETE', '/v1/_debug/fault');
    }
  } },
];
