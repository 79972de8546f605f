// Account deletion and suspension as events (issue 16, "Events between services";
// docs/internals/events.md). Deleting an account is one VZ_EV_USER_DELETED that every
// service handles in its own folder: auth ends the sessions, users drops the profile, the
// graph and the devices, the core forgets the idempotency records (all in the deletion's
// transaction), media deletes the avatar file afterwards from the outbox. A failure in
// any of them leaves the account whole. Suspension (POST /v1/admin/users/:id/suspend) is
// VZ_EV_USER_SUSPENDED: sessions and sockets end, sign-in is refused until it is lifted.
//
// What no endpoint shows (device rows of a deleted account, idempotency records, jobs)
// is read straight from the SQLite file with the sqlite3 CLI; on another database those
// checks are skipped and the API checks stay.
import { execFileSync } from 'node:child_process';
import { io } from 'socket.io-client';
import { asAdmin, api, assert, expectError, expectStatus, metric, newUser, sleep, story, unique, URL_BASE } from '../lib.mjs';
import { once } from '../realtime/realtime_support.mjs';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
const application = { business_name: 'Numbat Knits', legal_name: 'Numbat Knits Pty Ltd', country: 'AU',
  tax_id: 'AU11223491505', address: '5 Hay St, Perth WA 6000' };

const dbUrl = process.env.VZ_TEST_DB_URL || '';
const dbPath = dbUrl.startsWith('sqlite:') ? dbUrl.slice(7).replace(/^\/\/(?=\/)/, '') : null;
// One number from the SQLite file (ids are passed as text: 63-bit ids do not fit a JS number).
function sqlCount(query) {
  if (!dbPath) return null;
  const out = execFileSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, query], { encoding: 'utf8' });
  return Number(out.trim());
}
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

// Polls fn() until it returns true or ms pass; returns the time it took (or fails).
async function eventually(what, fn, ms = 5000) {
  const t0 = Date.now();
  while (!(await fn())) {
    assert.ok(Date.now() - t0 < ms, `${what}: not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}
const mediaStatus = async (url) => (await fetch(URL_BASE + url)).status;

// A user with something in every service: a second session, a follow each way, a block,
// a push device, an avatar file and a stored Idempotency-Key answer.
async function fullUser() {
  const u = await newUser('ev'), b = await newUser('evb'), c = await newUser('evc');
  const second = expectStatus(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } }), 200).json.data;
  expectStatus(await api('POST', `/v1/users/${b.id}/follow`, { token: u.token }), 204);
  expectStatus(await api('POST', `/v1/users/${u.id}/follow`, { token: b.token }), 204);
  expectStatus(await api('POST', `/v1/users/${c.id}/block`, { token: u.token }), 204);
  expectStatus(await api('POST', '/v1/me/devices', { token: u.token, body: { platform: 'ios', token: unique('device-token-') } }), 201);
  const avatar = expectStatus(await api('PUT', '/v1/me/avatar', { token: u.token, raw: PNG, headers: { 'content-type': 'image/png' } }), 200).json.data.avatar_url;
  expectStatus(await api('POST', '/v1/sellers/applications', { token: u.token, body: application, headers: { 'idempotency-key': unique('k-') } }), 201);
  return { u, b, second, avatar };
}

// Everything fullUser made is still there and works.
async function expectWhole({ u, b, second, avatar }, tag) {
  expectStatus(await api('GET', '/v1/me', { token: u.token }), 200);
  expectStatus(await api('GET', '/v1/me', { token: second.access_token }), 200);
  const bp = expectStatus(await api('GET', `/v1/users/${b.id}`), 200).json.data;
  assert.equal(bp.followers_count, 1, `${tag}: b lost its follower`);
  assert.equal(bp.following_count, 1, `${tag}: b lost its following`);
  assert.equal(expectStatus(await api('GET', '/v1/me/devices', { token: u.token }), 200).json.data.length, 1, `${tag}: device gone`);
  assert.equal(await mediaStatus(avatar), 200, `${tag}: avatar gone`);
  if (dbPath) {
    assert.equal(sqlCount(`SELECT count(*) FROM users WHERE id = ${q(u.id)} AND deleted_at IS NULL AND email IS NOT NULL`), 1, `${tag}: row changed`);
    assert.equal(sqlCount(`SELECT count(*) FROM idempotency_keys WHERE user_id = ${q(u.id)}`), 1, `${tag}: idempotency record gone`);
    assert.equal(sqlCount(`SELECT count(*) FROM blocks WHERE blocker_id = ${q(u.id)}`), 1, `${tag}: block gone`);
    assert.equal(sqlCount(`SELECT count(*) FROM refresh_tokens WHERE user_id = ${q(u.id)} AND revoked_at IS NOT NULL`), 0, `${tag}: sessions revoked`);
    assert.equal(sqlCount(`SELECT count(*) FROM jobs WHERE queue LIKE 'ev.%' AND json_extract(payload, '$.data.user_id') = ${u.id}`), 0,
      `${tag}: outbox job left`);
    assert.equal(sqlCount(`SELECT count(*) FROM audit_log WHERE action = 'user.delete' AND target_id = ${q(u.id)}`), 0, `${tag}: audit row left`);
  }
}

story('deleting an account removes every service\'s part: sessions, graph, devices, avatar file, idempotency records', async () => {
  const ctx = await fullUser(), { u, b, second, avatar } = ctx;
  const emitted0 = (await metric('vidzo_events_emitted_total', { kind: 'user_deleted' })) || 0;
  await expectWhole(ctx, 'before');
  expectStatus(await api('DELETE', '/v1/me', { token: u.token }), 204);
  // in the deletion's transaction: refresh tokens, sign-in, profile, graph, devices
  expectError(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
  expectError(await api('POST', '/v1/auth/refresh', { body: { refresh_token: second.refresh_token } }), 401);
  expectError(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } }), 401, 'invalid_credentials');
  expectError(await api('GET', `/v1/users/${u.id}`), 404);
  const bp = expectStatus(await api('GET', `/v1/users/${b.id}`), 200).json.data;
  assert.equal(bp.followers_count, 0);
  assert.equal(bp.following_count, 0);
  assert.equal(expectStatus(await api('GET', `/v1/users/${b.id}/followers`), 200).json.data.length, 0);
  if (dbPath) {
    const id = q(u.id);
    assert.equal(sqlCount(`SELECT count(*) FROM device_tokens WHERE user_id = ${id}`), 0, 'devices');
    assert.equal(sqlCount(`SELECT count(*) FROM blocks WHERE blocker_id = ${id} OR blocked_id = ${id}`), 0, 'blocks');
    assert.equal(sqlCount(`SELECT count(*) FROM follows WHERE follower_id = ${id} OR followee_id = ${id}`), 0, 'follows');
    assert.equal(sqlCount(`SELECT count(*) FROM refresh_tokens WHERE user_id = ${id} AND revoked_at IS NULL`), 0, 'live sessions');
    assert.equal(sqlCount(`SELECT count(*) FROM idempotency_keys WHERE user_id = ${id}`), 0, 'idempotency records');
    assert.equal(sqlCount(`SELECT count(*) FROM users WHERE id = ${id} AND deleted_at IS NOT NULL AND email IS NULL
      AND handle IS NULL AND avatar_key IS NULL AND password_hash IS NULL`), 1, 'the row stays, anonymised');
    assert.equal(sqlCount(`SELECT count(*) FROM audit_log WHERE action = 'user.delete' AND target_id = ${id}`), 1, 'one audit row');
  }
  // after the commit, from the outbox: access tokens (auth) and the avatar file (media)
  const tokenMs = await eventually('access tokens refused', async () =>
    (await api('GET', '/v1/me', { token: u.token })).status === 401 &&
    (await api('GET', '/v1/me', { token: second.access_token })).status === 401);
  const fileMs = await eventually('avatar file deleted', async () => (await mediaStatus(avatar)) === 404);
  if (dbPath) {
    await eventually('outbox jobs done', async () =>
      sqlCount(`SELECT count(*) FROM jobs WHERE queue IN ('ev.auth.user_deleted', 'ev.media.user_deleted')
        AND status = 'done' AND json_extract(payload, '$.data.user_id') = ${u.id}`) === 2);
  }
  assert.equal(await metric('vidzo_events_emitted_total', { kind: 'user_deleted' }), emitted0 + 1);
  console.log(`     access tokens refused ${tokenMs} ms after the 204, avatar file gone after ${fileMs} ms`);
});

// The fault route exists on debug builds started with --dev (core/fault.h).
async function faultReady() { return (await api('GET', '/v1/_debug/fault')).status === 200; }

story('a database failure at any step of a deletion, inside any subscriber, leaves the account whole', async () => {
  if (!(await faultReady())) { console.log('     skipped: no /v1/_debug/fault (release build or no --dev)'); return; }
  const fails0 = (await metric('vidzo_event_handler_failures_total', { kind: 'user_deleted', mode: 'in_tx' })) || 0;
  let n = 1, runs = 0, errors = 0;
  for (;; n++) {
    assert.ok(n < 80, 'the walk never ended');
    const ctx = await fullUser();
    expectStatus(await api('POST', '/v1/_debug/fault', { body: { kind: 'db', nth: n, scope: 'request' } }), 200);
    let res, last;
    try { res = await api('DELETE', '/v1/me', { token: ctx.u.token }); } finally {
      last = (await api('DELETE', '/v1/_debug/fault')).json?.data?.last;
    }
    runs++;
    assert.equal(last?.route, 'DELETE /v1/me', `db #${n}: the fault was claimed by another request`);
    if (!last.fired) { expectStatus(res, 204); break; }
    // every step is inside the deletion's transaction: a failure anywhere is a clean 5xx
    // and nothing changed, in any service
    assert.ok(res.status === 500 || res.status === 503, `db #${n}: ${res.status} ${res.text.slice(0, 200)}`);
    assert.ok(res.json?.error?.code, `db #${n}: no error envelope`);
    errors++;
    await sleep(50); // an outbox job, had one wrongly committed, would have run by now
    await expectWhole(ctx, `db #${n}`);
  }
  const fails = ((await metric('vidzo_event_handler_failures_total', { kind: 'user_deleted', mode: 'in_tx' })) || 0) - fails0;
  // the subscribers' statements were among the failed steps (users: 6, auth: 2, core: 1)
  assert.ok(fails >= 9, `only ${fails} subscriber failures in the walk`);
  console.log(`     delete db: ${n - 1} steps, ${runs} runs, ${errors} clean errors, ${fails} of them inside a subscriber`);
}, { timeout: 120000 });

// ---- suspension ---------------------------------------------------------------------

const suspend = (token, id, body) => api('POST', `/v1/admin/users/${id}/suspend`, { token, body });
const unsuspend = (token, id) => api('POST', `/v1/admin/users/${id}/unsuspend`, { token });
const signin = (u) => api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } });


story('an admin suspends an account: its sessions and sockets end, sign-in is refused until lifted', async () => {
  const admin = (await asAdmin()).token, u = await newUser('sus');
  const sock = io(URL_BASE + '/', { forceNew: true, reconnection: false, auth: { token: u.token }, transports: ['websocket'] });
  try {
    await once(sock, 'connect');
    const gone = once(sock, 'disconnect');
    const r = expectStatus(await suspend(admin, u.id, { reason: 'spam reports', hours: 24 }), 200).json.data;
    assert.deepEqual([r.id, r.suspended], [u.id, true]);
    assert.ok(Date.parse(r.suspended_until) > Date.now() + 23 * 3600e3, r.suspended_until);
    assert.equal([await gone].flat()[0], 'io server disconnect');
  } finally { sock.close(); }
  await eventually('access token refused', async () => (await api('GET', '/v1/me', { token: u.token })).status === 401);
  expectError(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
  const no = expectError(await signin(u), 403, 'account_suspended');
  assert.match(no.json.error.message, /until \d{4}-/);
  // the trail says who, and why
  const trail = expectStatus(await api('GET', `/v1/admin/audit?target_type=user&target_id=${u.id}`, { token: admin }), 200).json.data;
  const row = trail.find((x) => x.action === 'user.suspend');
  assert.ok(row, JSON.stringify(trail));
  assert.equal((typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail).reason, 'spam reports');
  // open-ended this time; suspending again replaces the end
  assert.equal(expectStatus(await suspend(admin, u.id, { reason: 'again' }), 200).json.data.suspended_until, null);
  expectError(await signin(u), 403, 'account_suspended');
  // lifted: sign-in works again (the ended sessions stay ended)
  assert.equal(expectStatus(await unsuspend(admin, u.id), 200).json.data.suspended, false);
  const back = expectStatus(await signin(u), 200).json.data;
  expectStatus(await api('GET', '/v1/me', { token: back.access_token }), 200);
  expectError(await api('POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } }), 401);
  // lifting again changes nothing and records nothing
  expectStatus(await unsuspend(admin, u.id), 200);
  const lifts = expectStatus(await api('GET', `/v1/admin/audit?target_type=user&target_id=${u.id}`, { token: admin }), 200).json.data
    .filter((x) => x.action === 'user.unsuspend');
  assert.equal(lifts.length, 1);
});

story('suspension routes: 400 bad body or own account, 401 anonymous, 403 non-admin, 404 absent or deleted', async () => {
  const admin = (await asAdmin()).token, u = await newUser('sus'), other = await newUser('sus');
  const me = expectStatus(await api('GET', '/v1/me', { token: admin }), 200).json.data.id;
  expectError(await suspend(admin, u.id, {}), 400, 'invalid_argument', 'reason');
  expectError(await suspend(admin, u.id, { reason: '' }), 400, 'invalid_argument', 'reason');
  expectError(await suspend(admin, u.id, { reason: 'x'.repeat(501) }), 400, 'invalid_argument', 'reason');
  expectError(await suspend(admin, u.id, { reason: 'r', hours: 0 }), 400, 'invalid_argument', 'hours');
  expectError(await suspend(admin, u.id, { reason: 'r', hours: 87601 }), 400, 'invalid_argument', 'hours');
  expectError(await suspend(admin, u.id, { reason: 'r', hours: 'soon' }), 400, 'invalid_argument', 'hours');
  expectError(await suspend(admin, u.id, { reason: 'r', why: 1 }), 400, 'invalid_argument', 'why');
  expectError(await suspend(admin, me, { reason: 'r' }), 400, 'invalid_argument', 'id');
  expectError(await unsuspend(admin, me), 400, 'invalid_argument', 'id');
  expectError(await suspend(undefined, u.id, { reason: 'r' }), 401);
  expectError(await unsuspend(undefined, u.id), 401);
  expectError(await suspend(other.token, u.id, { reason: 'r' }), 403);
  expectError(await unsuspend(other.token, u.id), 403);
  expectError(await suspend(admin, '123456789', { reason: 'r' }), 404);
  expectError(await unsuspend(admin, '123456789'), 404);
  expectError(await suspend(admin, 'abc', { reason: 'r' }), 404);
  expectStatus(await api('DELETE', '/v1/me', { token: other.token }), 204);
  expectError(await suspend(admin, other.id, { reason: 'r' }), 404);
  // none of the refusals touched the account
  expectStatus(await signin(u), 200);
  expectStatus(await api('GET', '/v1/me', { token: u.token }), 200);
});
