// issue 15 (item 7): the e2e test application ("/test", "/test-recovery": any token, and
// events that let a guest emit into any room or user) exists only on a --bench server;
// a normal server, --dev included, does not have it. On a --bench server a guest is a
// guest, an access token still has to verify, and the application's server-side emits
// go through a loop's queue (not a thread per event), so they keep their order.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { story, assert, URL_BASE, unique, newUser } from '../lib.mjs';
import { startOwn, waitUp, once } from './realtime_support.mjs';

// 'connect', or the connect_error's message
async function outcome(base, nsp, auth) {
  const s = io(base + nsp, { forceNew: true, reconnection: false, transports: ['websocket'], auth });
  try {
    return await Promise.race([once(s, 'connect').then(() => 'connect'), once(s, 'connect_error').then((e) => e.message)]);
  } finally { s.close(); }
}

story('a --dev server has no test application: "/test" is an unknown namespace, "/" takes no guest', async () => {
  const port = 20000 + Math.floor(Math.random() * 5000);
  const srv = startOwn(port, mkdtempSync(join(tmpdir(), 'vidzo-dev-')));
  try {
    await waitUp(port);
    const base = `http://127.0.0.1:${port}`;
    assert.equal(await outcome(base, '/test', { token: 'anyone' }), 'Invalid namespace');
    assert.equal(await outcome(base, '/test-recovery', { token: 'anyone' }), 'Invalid namespace');
    assert.equal(await outcome(base, '/', { token: 'anyone' }), 'unauthorized');
  } finally { srv.kill('SIGTERM'); }
}, { timeout: 15000 });

story('on a --bench server a guest token is a guest, an access token must verify', async () => {
  const u = await newUser('bg');
  assert.equal(await outcome(URL_BASE, '/', { token: 'guest' }), 'connect');
  assert.equal(await outcome(URL_BASE, '/', { token: u.token }), 'connect');
  assert.equal(await outcome(URL_BASE, '/', { token: `${u.token}x` }), 'unauthorized'); // forged
  assert.equal(await outcome(URL_BASE, '/', { token: 'not.a.jwt' }), 'unauthorized');
  assert.equal(await outcome(URL_BASE, '/', {}), 'connect'); // no token at all: an anonymous viewer (issue 19)
});

story('the test application\'s server emits arrive in the order they were asked for', async () => {
  const room = unique('order');
  const s = io(URL_BASE + '/test', { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token: 'o' } });
  try {
    await once(s, 'connect');
    await s.timeout(5000).emitWithAck('join', { room });
    const N = 300, got = [];
    const all = new Promise((res) => s.on('server', (m) => { got.push(m); if (got.length === N) res(); }));
    for (let i = 0; i < N; i++) s.emit('server-emit', { room, msg: i });
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`${got.length} of ${N}`)), 10000))]);
    assert.deepEqual(got, [...Array(N).keys()]);
  } finally { s.close(); }
});
