// realtime/events.mjs: socket events declared like routes (realtime/sio_events.h): the
// same checks and envelope as HTTP, answered in the client's ack. The clock service's
// "time" event (with GET /v1/time) is the first real one; the test application
// declares "db-echo" (worker pool, signed in) and "admin-only" (role) on "/test".
import { io } from 'socket.io-client';
import { story, assert, URL_BASE, newUser, metric, api, expectStatus, asAdmin } from '../lib.mjs';
import { connected, ack } from './realtime_support.mjs';

const connect = (nsp, token) => io(URL_BASE + nsp, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token } });
let user;
const theUser = async () => (user ??= await newUser('ev'));

story('GET /v1/time and the "time" event agree with the client clock and echo its send time', async () => {
  const r = expectStatus(await api('GET', '/v1/time'), 200);
  assert.ok(Math.abs(r.json.data.server_ts - Date.now()) < 5000, 'server_ts is now');
  assert.equal(new Date(r.json.data.iso).getTime(), r.json.data.server_ts);
  const s = await connected(connect('/', (await theUser()).token));
  try {
    const before = await metric('vidzo_realtime_events_total', { event: 'time', outcome: 'ok' }) || 0;
    const t0 = Date.now();
    const a = await ack(s, 'time', { client_ts: t0 });
    const t1 = Date.now();
    assert.equal(a.data.client_ts, t0);
    const offset = a.data.server_ts - (t0 + t1) / 2;
    assert.ok(Math.abs(offset) <= (t1 - t0) / 2 + 50, `offset ${offset} ms within the round trip`);
    assert.equal((await ack(s, 'time')).data.client_ts, null, 'client_ts is optional');
    assert.equal(await metric('vidzo_realtime_events_total', { event: 'time', outcome: 'ok' }), before + 2);
  } finally { s.close(); }
});

story('a declared event refuses bad input with the REST envelope, naming the field', async () => {
  const s = await connected(connect('/', (await theUser()).token));
  try {
    let a = await ack(s, 'time', { client_ts: 'soon' });
    assert.equal(a.error.code, 'invalid_argument');
    assert.equal(a.error.field, 'client_ts');
    a = await ack(s, 'time', { client_ts: 1, extra: true });
    assert.equal(a.error.field, 'extra');
    a = await ack(s, 'time', 'not an object');
    assert.equal(a.error.code, 'invalid_argument');
    a = await ack(s, 'time', { client_ts: -1 });
    assert.equal(a.error.field, 'client_ts');
  } finally { s.close(); }
});

story('a declared event is rate limited per user, with retry_after in the ack', async () => {
  const u = await newUser('evr');
  const s = await connected(connect('/', u.token));
  try {
    const acks = await Promise.all(Array.from({ length: 130 }, () => ack(s, 'time', {})));
    const limited = acks.filter((a) => a.error && a.error.code === 'rate_limited');
    assert.ok(limited.length >= 5, `${limited.length} of 130 limited (120/min)`);
    assert.ok(limited[0].error.retry_after >= 1);
    const other = await connected(connect('/', (await theUser()).token));
    try { assert.ok((await ack(other, 'time', {})).data, 'another user is not limited'); } finally { other.close(); }
  } finally { s.close(); }
});

story('a worker-pool event runs with the socket\'s user and a database; auth and role are checked', async () => {
  const u = await theUser();
  const s = await connected(connect('/test', u.token));
  const guest = await connected(connect('/test', 'guest-name'));
  const admin = await connected(connect('/test', (await asAdmin()).token));
  try {
    const a = await ack(s, 'db-echo', { text: 'héllo' });
    assert.deepEqual(a.data, { text: 'héllo', user_id: String(u.id) });
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => ack(s, 'db-echo', { text: `m${i}` })));
    assert.deepEqual(many.map((m) => m.data.text), Array.from({ length: 40 }, (_, i) => `m${i}`), 'each ack answers its own event');
    assert.equal((await ack(guest, 'db-echo', { text: 'x' })).error.code, 'unauthenticated');
    assert.equal((await ack(s, 'db-echo', { text: '' })).error.field, 'text');
    assert.equal((await ack(s, 'admin-only')).error.code, 'forbidden');
    assert.deepEqual((await ack(admin, 'admin-only')).data, { ok: true });
  } finally { s.close(); guest.close(); admin.close(); }
});

story('a worker event whose socket left meanwhile is dropped, and the server carries on', async () => {
  const u = await theUser();
  const s = await connected(connect('/test', u.token));
  for (let i = 0; i < 20; i++) s.emit('db-echo', { text: `bye${i}` }, () => {});
  s.close();
  const again = await connected(connect('/test', u.token));
  try { assert.equal((await ack(again, 'db-echo', { text: 'still here' })).data.text, 'still here'); } finally { again.close(); }
});

story('an audited event writes its audit row with the change, and none when it fails', async () => {
  const u = await newUser('evaudit');
  const s = await connected(connect('/test', u.token));
  try {
    assert.equal((await ack(s, 'audit-note', { text: 'hello' })).data.text, 'hello');
    assert.equal((await ack(s, 'audit-note', { text: 'fail' })).error.field, 'text');
    const rows = expectStatus(await api('GET', `/v1/admin/audit?target_type=sio:audit-note&actor_id=${u.id}`, { token: (await asAdmin()).token }), 200).json.data;
    assert.equal(rows.length, 1, 'one row: the refused event left none');
    assert.equal(rows[0].action, 'EVENT sio:audit-note');
  } finally { s.close(); }
});
