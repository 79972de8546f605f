// realtime.mjs: the Socket.IO gateway as a real socket.io-client (pinned 4.8.1) sees it.
// Needs the server started with --bench (the e2e application: "/test", "/test-recovery").
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { story, assert, URL_BASE, sleep, unique, newUser, metric, api, expectStatus } from '../lib.mjs';
import { startOwn, waitUp, once, connected, ack } from './realtime_support.mjs';

const opts = (extra = {}) => ({ forceNew: true, reconnection: false, auth: { token: 'alice' }, ...extra });
const connect = (nsp = '/test', extra = {}) => io(URL_BASE + nsp, opts(extra));

// One account for the stories that need a JWT (sign-up is rate limited per client IP).
let rtUser;
const theUser = async () => (rtUser ??= await newUser('rt'));

story('a client connects over WebSocket only and is acked by the server', async () => {
  const s = await connected(connect('/test', { transports: ['websocket'] }));
  try {
    assert.equal(s.io.engine.transport.name, 'websocket');
    const me = await ack(s, 'whoami');
    assert.equal(me.user, 'alice');
    assert.equal(me.id, s.id);
  } finally { s.close(); }
});

story('a client connects over long-polling only, events and acks both ways', async () => {
  const s = await connected(connect('/test', { transports: ['polling'] }));
  try {
    assert.equal(s.io.engine.transport.name, 'polling');
    const both = await new Promise((res, rej) => s.timeout(5000).emit('echo', { a: 1 }, 'two', (e, ...a) => (e ? rej(e) : res(a))));
    assert.deepEqual(both, [{ a: 1 }, 'two']);
    // the server asks with an ack, the client answers, the server tells what it got
    s.on('question', (q, cb) => cb(`answer to ${q}`));
    const got = once(s, 'answer');
    s.emit('ask', 'life');
    assert.deepEqual(await got, { got: 'answer to life' });
  } finally { s.close(); }
});

story('a client starts on polling and upgrades to WebSocket', async () => {
  const s = connect('/test');
  try {
    await connected(s);
    if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade');
    assert.equal(s.io.engine.transport.name, 'websocket');
    // the session survived the upgrade: events still flow both ways
    const me = await ack(s, 'whoami');
    assert.equal(me.id, s.id);
    const echoed = once(s, 'echo');
    s.emit('echo', 'after-upgrade');
    assert.equal(await echoed, 'after-upgrade');
  } finally { s.close(); }
});

story('auth on /: an access token is accepted, an empty or forged one refused, none is anonymous', async () => {
  // no token member at all: an anonymous, read-only viewer (issue 19); services' sending
  // events refuse it (tests/e2e/chat)
  const anon = await connected(connect('/', { auth: {}, transports: ['websocket'] }));
  anon.close();
  for (const auth of [{ token: '' }, { token: 5 }, { token: 'not.a.jwt' }]) {
    const s = connect('/', { auth, transports: ['websocket'] });
    const err = await once(s, 'connect_error');
    assert.equal(err.message, 'unauthorized');
    s.close();
  }
  const user = await theUser();
  const ok = await connected(connect('/', { auth: { token: user.token }, transports: ['websocket'] }));
  ok.close();
});

story('a service emits to one user (room user:<id>) from another thread', async () => {
  const user = await theUser();
  // one engine connection, two namespaces: "/" authenticated by JWT, "/test" as a guest (--bench)
  const manager = io(URL_BASE, { forceNew: true, reconnection: false, auth: { token: user.token } }).io;
  const home = manager.socket('/', { auth: { token: user.token } });
  const test = manager.socket('/test', { auth: { token: 'svc' } });
  home.connect(); test.connect();
  try {
    await Promise.all([connected(home), connected(test)]);
    const got = once(home, 'direct');
    assert.deepEqual(await ack(test, 'emit-user', { id: user.id, msg: { hi: 1 } }), { ok: true });
    // "/" has connection state recovery: the last argument is the packet's offset
    const [msg, offset] = await got;
    assert.deepEqual(msg, { hi: 1 });
    assert.match(offset, /^[0-9]+$/);
  } finally { home.close(); test.close(); manager._close?.(); }
});

story('an unknown namespace gets the protocol connect error', async () => {
  const s = connect('/nope', { transports: ['websocket'] });
  const err = await once(s, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  s.close();
});

story('rooms: a member says something, the others hear it, the sender does not', async () => {
  const room = unique('room');
  const [a, b, c] = await Promise.all([1, 2, 3].map((i) => connected(connect('/test', { auth: { token: `u${i}` }, transports: ['websocket'] }))));
  try {
    await ack(a, 'join', { room });
    await ack(b, 'join', { room });
    let aHeard = 0, cHeard = 0;
    a.on('said', () => aHeard++);
    c.on('said', () => cHeard++);
    const heard = once(b, 'said');
    const delivered0 = await metric('vidzo_realtime_messages_delivered_total');
    assert.ok((await metric('vidzo_realtime_rooms')) >= 1, 'the room shows in /metrics');
    await ack(a, 'say', { room, msg: 'hi' });
    assert.deepEqual(await heard, { msg: 'hi', from: 'u1' });
    assert.ok((await metric('vidzo_realtime_messages_delivered_total')) >= delivered0 + 1, 'the delivery is counted');
    await ack(b, 'leave', { room });
    await ack(a, 'say', { room, msg: 'again' });
    await sleep(200);
    assert.equal(aHeard, 0);
    assert.equal(cHeard, 0);
  } finally { [a, b, c].forEach((s) => s.close()); }
});

story('binary attachments round-trip over WebSocket and over polling', async () => {
  for (const transports of [['websocket'], ['polling']]) {
    const s = await connected(connect('/test', { transports }));
    try {
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 30]);
      // acked: the answer carries the attachment back
      const acked = await new Promise((res, rej) => s.timeout(5000).emit('echo', { kind: 'file' }, bytes, (e, ...a) => (e ? rej(e) : res(a))));
      assert.deepEqual(acked[0], { kind: 'file' });
      assert.ok(Buffer.from(acked[1]).equals(bytes), `acked attachment over ${transports}`);
      // emitted: two attachments, one nested
      const back = new Promise((res) => s.once('echo', (...a) => res(a)));
      s.emit('echo', { name: 'x' }, bytes, { nested: [bytes] });
      const got = await back;
      assert.deepEqual(got[0], { name: 'x' });
      assert.ok(Buffer.from(got[1]).equals(bytes), `attachment over ${transports}`);
      assert.ok(Buffer.from(got[2].nested[0]).equals(bytes));
    } finally { s.close(); }
  }
});

story('maxPayload: an oversized packet closes that session, memory stays flat', async () => {
  const open = async () => (await metric('vidzo_realtime_connections_open')) ?? 0;
  const rss = async () => (await metric('process_resident_memory_bytes')) ?? 0;
  const base = await open();
  // over WebSocket (2 MB > maxPayload 1e6): the server closes with 1009, the client
  // sees its transport close; the frame is refused from its header, never buffered
  const before = await rss();
  for (let i = 0; i < 20; i++) {
    const s = await connected(connect('/test', { transports: ['websocket'] }));
    const gone = once(s, 'disconnect');
    s.emit('echo', 'x'.repeat(2e6));
    assert.equal([await gone].flat()[0], 'transport close');
    s.close();
  }
  // over long-polling (1.05 MB: under the route's body cap, over maxPayload): 413 and
  // the session is closed; the client reports a transport error
  const p = await connected(connect('/test', { transports: ['polling'] }));
  const pgone = once(p, 'disconnect');
  p.emit('echo', 'x'.repeat(1.05e6));
  assert.match([await pgone].flat()[0], /transport (error|close)/);
  p.close();
  // a normal client on the same server is unaffected
  const ok = await connected(connect('/test', { transports: ['websocket'] }));
  assert.equal((await ack(ok, 'whoami')).id, ok.id);
  ok.close();
  for (let i = 0; i < 50 && (await open()) > base; i++) await sleep(100);
  assert.ok((await open()) <= base, 'every oversized session is gone');
  const grew = (await rss()) - before;
  assert.ok(grew < 16 << 20, `RSS grew by ${grew} bytes over 20 oversized packets`);
});

story('CORS: an allowed origin polls /socket.io/, another origin is refused', async () => {
  const path = '/socket.io/?EIO=4&transport=polling';
  // preflight, as a browser sends before a POST with custom headers
  const pre = await fetch(URL_BASE + path, { method: 'OPTIONS', headers: { origin: 'http://allowed.example',
    'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
  // the handshake and a POST carry the allow-origin header
  const hs = await fetch(URL_BASE + path, { headers: { origin: 'http://allowed.example' } });
  assert.equal(hs.status, 200);
  assert.equal(hs.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(hs.headers.get('access-control-allow-credentials'), 'true');
  const sid = JSON.parse((await hs.text()).slice(1)).sid;
  const post = await fetch(`${URL_BASE}${path}&sid=${sid}`, { method: 'POST', body: '40/test,{"token":"c"}',
    headers: { origin: 'http://allowed.example', 'content-type': 'text/plain;charset=UTF-8' } });
  assert.equal(post.status, 200);
  assert.equal(post.headers.get('access-control-allow-origin'), 'http://allowed.example');
  // another site: no session, no preflight, no POST into an existing session
  const evil = { origin: 'http://evil.example' };
  const bad = await fetch(URL_BASE + path, { headers: evil });
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get('access-control-allow-origin'), null);
  assert.deepEqual(await bad.json(), { code: 4, message: 'Forbidden' });
  const badPre = await fetch(URL_BASE + path, { method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST' } });
  assert.equal(badPre.status, 403);
  assert.equal((await fetch(`${URL_BASE}${path}&sid=${sid}`, { method: 'POST', body: '1', headers: evil })).status, 403);
  // the page's own origin (same host) needs no allowlist entry
  const self = await fetch(URL_BASE + path, { headers: { origin: URL_BASE } });
  assert.equal(self.status, 200);
  // the allowed session is still alive: its poll gets the CONNECT answer
  const poll = await fetch(`${URL_BASE}${path}&sid=${sid}`, { headers: { origin: 'http://allowed.example' } });
  assert.equal(poll.status, 200);
  assert.match(await poll.text(), /^40\/test,\{"sid"/);
});

story('recovery: a client drops for 2 s in a busy chat and gets every message once, in order', async () => {
  // "/test-recovery" is "/test" with recovery on; an access token makes the socket the user's
  const nsp = '/test-recovery', room = unique('busy'), token = (await theUser()).token;
  const sender = await connected(connect(nsp, { auth: { token }, transports: ['websocket'] }));
  // the listener reconnects by itself 2 s after its transport goes away
  const listener = io(URL_BASE + nsp, { forceNew: true, auth: { token }, transports: ['websocket'],
    reconnectionDelay: 2000, reconnectionDelayMax: 2000, randomizationFactor: 0 });
  try {
    await connected(listener);
    assert.equal(listener.recovered, false);
    const firstId = listener.id;
    await ack(sender, 'join', { room });
    await ack(listener, 'join', { room });
    const got = [];
    listener.on('said', (m, offset) => { got.push(m.msg); assert.match(offset, /^[0-9]+$/); });
    const N = 300;
    let dropped = false, i = 0;
    const sent = (async () => {
      for (; i < N; i++) {
        sender.emit('say', { room, msg: i });
        if (i === 60) { listener.io.engine.close(); dropped = true; } // the network goes away
        await sleep(10);
      }
    })();
    const back = once(listener, 'connect', 10000);
    await back;
    assert.ok(dropped);
    assert.equal(listener.recovered, true, 'the session was recovered');
    assert.equal(listener.id, firstId, 'same socket id');
    await sent;
    await ack(sender, 'whoami'); // the last says have been handled
    for (let k = 0; k < 50 && got.length < N; k++) await sleep(50);
    const missing = [], seen = new Set();
    for (let k = 0; k < N; k++) if (!got.includes(k)) missing.push(k);
    const dups = got.filter((m) => seen.has(m) || !seen.add(m));
    assert.deepEqual({ missing, dups }, { missing: [], dups: [] });
    assert.deepEqual(got, [...Array(N).keys()], 'in order');
    // still in the room after recovery, without joining again
    const more = once(listener, 'said');
    sender.emit('say', { room, msg: 'after' });
    assert.equal([await more].flat()[0].msg, 'after');
  } finally { sender.close(); listener.close(); }
}, { timeout: 20000 });

story('recovery: an unknown or stale session starts fresh', async () => {
  // what socket.io-client sends when it had a session the server no longer knows
  const s = await connected(connect('/test-recovery', { transports: ['websocket'],
    auth: { token: (await theUser()).token, pid: 'AAAAAAAAAAAAAAAAAAAA', offset: '1' } }));
  try {
    assert.equal(s.recovered, false);
    assert.equal((await ack(s, 'whoami')).id, s.id);
  } finally { s.close(); }
});

story('signing out ends that session\'s sockets at once; the user\'s other session stays', async () => {
  const u = await newUser('so');
  const other = expectStatus(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password } }), 200).json.data;
  const a = await connected(connect('/', { auth: { token: u.token }, transports: ['websocket'] }));
  const b = await connected(connect('/', { auth: { token: other.access_token }, transports: ['websocket'] }));
  try {
    const reason = once(a, 'disconnect');
    expectStatus(await api('POST', '/v1/auth/signout', { token: u.token, body: { refresh_token: u.refresh } }), 204);
    assert.equal([await reason].flat()[0], 'io server disconnect');
    await sleep(200);
    assert.equal(b.connected, true, 'the other session keeps its socket');
    const again = connect('/', { auth: { token: u.token }, transports: ['websocket'] });
    assert.equal((await once(again, 'connect_error')).message, 'unauthorized', 'the token no longer connects');
    again.close();
  } finally { a.close(); b.close(); }
});

story('a service emits to a room from another thread', async () => {
  const room = unique('svc');
  const s = await connected(connect('/test', { transports: ['websocket'] }));
  try {
    await ack(s, 'join', { room });
    const got = once(s, 'server');
    assert.deepEqual(await ack(s, 'server-emit', { room, msg: { n: 42 } }), { ok: true });
    assert.deepEqual(await got, { n: 42 });
  } finally { s.close(); }
});

story('a service emits to everyone in a namespace from another thread', async () => {
  const [a, b] = await Promise.all([1, 2].map((i) => connected(connect('/test', { auth: { token: `e${i}` }, transports: i === 1 ? ['websocket'] : ['polling'] }))));
  try {
    const got = Promise.all([once(a, 'everyone'), once(b, 'everyone')]);
    assert.deepEqual(await ack(a, 'server-emit', { all: true, msg: 'hello all' }), { ok: true });
    assert.deepEqual(await got, ['hello all', 'hello all']);
  } finally { a.close(); b.close(); }
});

story('the server can disconnect a socket', async () => {
  const s = await connected(connect('/test', { transports: ['websocket'] }));
  const reason = new Promise((res) => s.once('disconnect', (r) => res(r)));
  s.emit('kick');
  assert.equal(await reason, 'io server disconnect');
  s.close();
});

story('1,000 clients in one room each receive every message exactly once and in order', async () => {
  const room = unique('big');
  const N = 1000, M = 20;
  const clients = [];
  for (let i = 0; i < N; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, (_, k) =>
      connected(connect('/test', { auth: { token: `v${i + k}` }, transports: ['websocket'] }))));
    clients.push(...batch);
  }
  try {
    await Promise.all(clients.map((c) => ack(c, 'join', { room })));
    const seen = clients.map(() => []);
    const done = Promise.all(clients.map((c, i) => new Promise((resolve) => {
      c.on('chat', (m) => { seen[i].push(m.text); if (seen[i].length === M) resolve(); });
    })));
    for (let k = 0; k < M; k++) await ack(clients[k % 7], 'chat', { room, text: `m${k}` });
    await done;
    await sleep(200); // a duplicate would show up here
    const want = Array.from({ length: M }, (_, k) => `m${k}`);
    for (let i = 0; i < N; i++) assert.deepEqual(seen[i], want, `client ${i}`);
  } finally { clients.forEach((c) => c.close()); }
}, { timeout: 60000 });

// Its own server (realtime_support.mjs startOwn, --bench for "/test"), so it can be restarted.
story('a client reconnects by itself after the server restarts', async () => {
  const port = 20000 + Math.floor(Math.random() * 5000);
  const dataDir = mkdtempSync(join(tmpdir(), 'vidzo-rt-'));
  let srv = startOwn(port, dataDir, ['--test-app']);
  await waitUp(port);
  const s = io(`http://127.0.0.1:${port}/test`, { forceNew: true, auth: { token: 'r' }, transports: ['websocket'],
    reconnectionDelay: 100, reconnectionDelayMax: 200 });
  try {
    await connected(s);
    const firstId = s.id;
    const gone = new Promise((res) => s.once('disconnect', (r) => res(r)));
    const exited = new Promise((res) => srv.once('exit', res));
    srv.kill('SIGTERM');
    assert.equal([await gone].flat()[0], 'transport close');
    await exited;
    const back = once(s, 'connect', 15000); // listen before the server is back
    srv = startOwn(port, dataDir, ['--test-app']);
    await waitUp(port);
    await back;
    assert.notEqual(s.id, firstId);
    assert.equal((await ack(s, 'whoami')).user, 'r');
  } finally {
    s.close();
    srv.kill('SIGTERM');
  }
}, { timeout: 30000 });

story('presence: a room counts its members on every io loop, and forgets those who leave', async () => {
  const room = unique('pres');
  const socks = await Promise.all([1, 2, 3].map((i) => connected(connect('/test', { auth: { token: `p${i}` }, transports: ['websocket'] }))));
  try {
    for (const s of socks) await ack(s, 'join', { room });
    const count = async () => (await ack(socks[0], 'presence', { room })).count;
    const until = async (want) => {
      const t0 = Date.now();
      let n;
      while ((n = await count()) !== want) {
        if (Date.now() - t0 > 5000) throw new Error(`presence ${n}, want ${want}`);
        await sleep(200);
      }
    };
    await until(3);
    await ack(socks[2], 'leave', { room });
    await until(2);
    assert.equal((await ack(socks[0], 'presence', { room: unique('empty') })).count, 0);
  } finally { socks.forEach((s) => s.close()); }
});
