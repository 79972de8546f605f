// realtime.mjs: the Socket.IO gateway as a real socket.io-client (pinned 4.8.1) sees it.
// Needs the server started with --dev or --bench (the "/test" namespace).
import { io } from 'socket.io-client';
import { story, assert, URL_BASE, sleep, unique } from './lib.mjs';

const opts = (extra = {}) => ({ forceNew: true, reconnection: false, auth: { token: 'alice' }, ...extra });
const connect = (nsp = '/test', extra = {}) => io(URL_BASE + nsp, opts(extra));

function once(sock, ev, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} within ${ms} ms`)), ms);
    sock.once(ev, (...a) => { clearTimeout(t); resolve(a.length > 1 ? a : a[0]); });
  });
}
const connected = async (s) => { if (!s.connected) await once(s, 'connect'); return s; };
const ack = (s, ...args) => s.timeout(5000).emitWithAck(...args);

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

story('auth: a token is accepted, a missing or empty one refused with the peer message', async () => {
  for (const auth of [{}, { token: '' }, { token: 5 }]) {
    const s = connect('/', { auth, transports: ['websocket'] });
    const err = await once(s, 'connect_error');
    assert.equal(err.message, 'unauthorized');
    s.close();
  }
  const ok = await connected(connect('/', { transports: ['websocket'] }));
  ok.close();
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
    await ack(a, 'say', { room, msg: 'hi' });
    assert.deepEqual(await heard, { msg: 'hi', from: 'u1' });
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
