// issue_015_core.mjs: the HTTP core defects of issue 15 (an outside review): a WebSocket
// upgrade behind pipelined replies (heap corruption), replies piling up for a client that
// does not read, a 413 that reached clients as a reset, X-Forwarded-For trusted from the
// left, and /metrics open and rendered on the io loop.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { story, api, expectError, assert, sleep, URL_BASE } from '../lib.mjs';
import { startServer, stopServer } from './core_net.mjs';

const u = new URL(URL_BASE);
const GET_METRICS = 'GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n';
const UPGRADE = 'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n' +
  'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function rssKb() {
  const pid = process.env.VZ_TEST_SERVER_PID;
  if (!pid) return undefined;
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : undefined;
}

// Opens a connection that does not read: everything is written at once, the socket is
// paused so the replies stay queued in the server.
function nonReader(bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    s.pause();
    s.on('error', () => {});
    s.once('connect', () => { s.write(bytes); resolve(s); });
    s.once('error', reject);
  });
}

// 1000 x /metrics (each reply 6-18 KB, rendered on the pool) is 6-18 MB: far more than the
// kernel buffers, so replies are still being written when the upgrade is parsed. (2000 made
// the story load-sensitive as /metrics grew with every service.)
const PIPELINED = 1000;
story(`${PIPELINED} pipelined requests then a WebSocket upgrade, unread for 2 s: every reply, then the 101, no crash`, async () => {
  const s = await nonReader(GET_METRICS.repeat(PIPELINED) + UPGRADE);
  await sleep(2000);
  // Chunks are kept in a list and only the newest bytes searched: concatenating the whole
  // buffer on every chunk is quadratic in megabytes of replies.
  const chunks = [];
  let tail = '';
  const done = new Promise((resolve) => {
    s.on('data', (d) => {
      chunks.push(d);
      tail = (tail + d.toString('latin1')).slice(-4096);
      // The Engine.IO open packet follows the 101 in a WebSocket frame.
      if (tail.includes('HTTP/1.1 101') && tail.includes('{"sid"')) resolve(true);
    });
    s.on('close', () => resolve(false));
    setTimeout(() => resolve(false), 40000);
  });
  s.resume();
  const ok = await done;
  s.destroy();
  const buf = Buffer.concat(chunks);
  const text = buf.toString('latin1');
  const oks = text.split('HTTP/1.1 200 OK').length - 1;
  assert.ok(ok, `no 101 + open packet after the replies (got ${oks} replies, ${buf.length} bytes)`);
  assert.equal(oks, PIPELINED, 'every pipelined request answered before the upgrade');
  assert.ok(text.indexOf('HTTP/1.1 101') > text.lastIndexOf('HTTP/1.1 200 OK'), 'the 101 comes after the replies');
  const h = await fetch(URL_BASE + '/healthz');
  assert.equal(h.status, 200, 'the server is alive');
}, { timeout: 60000 });

story('20 clients pipelining 63 KB of GET /metrics and never reading hold bounded memory', async () => {
  const before = rssKb();
  const socks = [];
  for (let i = 0; i < 20; i++) socks.push(await nonReader(GET_METRICS.repeat(Math.floor(63000 / GET_METRICS.length))));
  await sleep(1500);
  const during = rssKb();
  const h = await fetch(URL_BASE + '/healthz');
  assert.equal(h.status, 200, 'other clients are still served');
  for (const s of socks) s.destroy();
  // Under ASan the RSS holds the allocator's quarantine of freed blocks (256 MB by
  // design) and 1 KB redzones: the figure says nothing there, the release figure is in
  // bench/RESULTS.md. The story still proves the server stays up and serves others.
  const asan = (process.env.VZ_TEST_LABEL || '').startsWith('asan');
  if (before !== undefined && !asan) {
    // Before the fix every request became a reply held in memory: ~16 MB per client,
    // 320 MB for these 20. Now a client stops being parsed at 256 KB of unread replies.
    const grownMb = (during - before) / 1024;
    assert.ok(grownMb < 96, `server grew ${grownMb.toFixed(1)} MB for 20 non-reading clients`);
  }
}, { timeout: 60000 });

story('an oversized body is answered 413 and the client can read it (no reset), 10 of 10', async () => {
  const body = JSON.stringify({ email: 'x@e2e.test', password: 'p'.repeat(4 * 1024 * 1024) });
  for (let i = 0; i < 10; i++) {
    let res;
    try {
      res = await api('POST', '/v1/auth/signin', { raw: body, headers: { 'content-type': 'application/json' } });
    } catch (e) {
      assert.fail(`try ${i + 1}: the reply was lost: ${e.cause?.code || e.message}`);
    }
    expectError(res, 413, 'payload_too_large');
  }
});

story('--trust-proxy N takes the Nth X-Forwarded-For entry from the right, never what the client wrote', async () => {
  const look = async (srv, xff) => {
    const mark = `rid${Math.random().toString(36).slice(2, 10)}`;
    const headers = { 'x-request-id': mark };
    if (xff) headers['x-forwarded-for'] = xff;
    await fetch(srv.url + '/v1/categories', { headers });
    await sleep(150);
    const line = srv.out.split('\n').find((l) => l.includes(mark));
    assert.ok(line, `no access log line for ${mark}`);
    return JSON.parse(line).ip;
  };
  const one = await startServer(['--trust-proxy', '--log-level', 'info']);
  try {
    assert.equal(await look(one, '6.6.6.6, 203.0.113.7'), '203.0.113.7', 'the spoofed left entry is ignored');
    assert.equal(await look(one, '203.0.113.9'), '203.0.113.9');
    assert.equal(await look(one, '1.2.3.4, not-an-ip'), '127.0.0.1', 'garbage keeps the peer address');
    assert.equal(await look(one, null), '127.0.0.1');
  } finally { await stopServer(one); }
  const two = await startServer(['--trust-proxy', '2', '--log-level', 'info']);
  try {
    assert.equal(await look(two, '6.6.6.6, 203.0.113.7, 10.0.0.2'), '203.0.113.7');
  } finally { await stopServer(two); }
  const off = await startServer(['--log-level', 'info']);
  try {
    assert.equal(await look(off, '203.0.113.7'), '127.0.0.1', 'without --trust-proxy the header means nothing');
  } finally { await stopServer(off); }
}, { timeout: 60000 });

story('--metrics-token closes /metrics to everyone without the bearer token', async () => {
  const srv = await startServer(['--metrics-token', 'scrape-secret-42']);
  try {
    const none = await fetch(srv.url + '/metrics');
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, 'unauthenticated');
    const wrong = await fetch(srv.url + '/metrics', { headers: { authorization: 'Bearer scrape-secret-4' } });
    assert.equal(wrong.status, 401);
    const right = await fetch(srv.url + '/metrics', { headers: { authorization: 'Bearer scrape-secret-42' } });
    assert.equal(right.status, 200);
    assert.match(await right.text(), /vidzo_http_requests_total/);
  } finally { await stopServer(srv); }
});
