// core_http.mjs: HTTP/1.1 behaviour of the core as a client sees it: keep-alive,
// pipelining, chunked bodies, size limits, timeouts, gzip, CORS, request ids, security
// headers, the error envelope for 404/405, and hostile paths. Bad input must get a clear
// 4xx and leave the server answering.
import zlib from 'node:zlib';
import { story, api, expectError, rawHttp, metric, assert, URL_BASE } from '../lib.mjs';
import { RawConn, GET, parseResponses, startServer, stopServer } from './core_net.mjs';

const one = async (bytes, opts) => {
  const r = await rawHttp(bytes, opts);
  const [rs] = parseResponses(Buffer.from(r.text, 'latin1'));
  return { ...r, res: rs[0], all: rs };
};

story('several requests share one keep-alive connection', async () => {
  const c = new RawConn();
  for (let i = 0; i < 5; i++) {
    await c.write(GET('/healthz', `X-Request-Id: ka-${i}\r\n`));
    const r = await c.next();
    assert.ok(r, `response ${i} missing (closed=${c.closed})`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-request-id'], `ka-${i}`);
    assert.ok(!/close/i.test(r.headers.connection || ''), 'server asked to close a keep-alive connection');
  }
  assert.equal(c.closed, false);
  c.end();
});

story('three pipelined requests in one write are answered in order', async () => {
  const c = new RawConn();
  await c.write(GET('/healthz', 'X-Request-Id: p-1\r\n') + GET('/v1/no-such-thing', 'X-Request-Id: p-2\r\n') +
    GET('/v1/categories', 'X-Request-Id: p-3\r\n'));
  const got = [await c.next(), await c.next(), await c.next()];
  assert.deepEqual(got.map((r) => r && r.headers['x-request-id']), ['p-1', 'p-2', 'p-3']);
  assert.deepEqual(got.map((r) => r.status), [200, 404, 200]);
  assert.ok(Array.isArray(JSON.parse(got[2].text).data));
  c.end();
});

story('a chunked request body is framed correctly and the connection goes on', async () => {
  const c = new RawConn();
  const body = '{"name":"Chunky","kind":"stream"}';
  await c.write('POST /v1/categories HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n' + `5\r\n${body.slice(0, 5)}\r\n` +
    `${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n` + GET('/healthz'));
  const a = await c.next(), b = await c.next();
  assert.equal(a.status, 401, a.text); // parsed whole, then refused: writes need an admin
  assert.equal(JSON.parse(a.text).error.code, 'unauthenticated');
  assert.equal(b && b.status, 200);
  c.end();
});

story('a body over the 1 MB default is refused with 413, announced or chunked', async () => {
  const r = await one('POST /v1/categories HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n' +
    'Content-Length: 2000000\r\n\r\n{"name":', { ms: 3000 });
  assert.equal(r.res && r.res.status, 413, r.text.slice(0, 300));
  assert.equal(JSON.parse(r.res.text).error.code, 'payload_too_large');
  assert.ok(r.closed, 'connection should close after a 413');
  const big = 'x'.repeat(300 * 1024);
  const chunks = ['POST /v1/categories HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'];
  for (let i = 0; i < 5; i++) chunks.push(`${big.length.toString(16)}\r\n${big}\r\n`);
  const r2 = await one(null, { chunks, ms: 3000 });
  assert.equal(r2.res && r2.res.status, 413, r2.text.slice(0, 300));
  assert.equal((await api('GET', '/healthz')).status, 200);
});

story('a head over 16 KB gets 431 and a URL over 8 KB gets 414', async () => {
  const r = await one(`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
  assert.equal(r.res && r.res.status, 431, r.text.slice(0, 200));
  assert.equal(JSON.parse(r.res.text).error.code, 'headers_too_large');
  const many = Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const r1 = await one(`GET /healthz HTTP/1.1\r\nHost: t\r\n${many}\r\n`);
  assert.equal(r1.res && r1.res.status, 431, 'more than 64 headers');
  // The 65th header is committed only at headers-complete: it must still be refused.
  const just = Array.from({ length: 65 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const r3 = await one(`GET /healthz HTTP/1.1\r\n${just}\r\n`);
  assert.equal(r3.res && r3.res.status, 431, `65 headers -> ${r3.text.slice(0, 120)}`);
  const r2 = await one(`GET /v1/categories?q=${'b'.repeat(9000)} HTTP/1.1\r\nHost: t\r\n\r\n`);
  assert.equal(r2.res && r2.res.status, 414, r2.text.slice(0, 200));
  assert.equal(JSON.parse(r2.res.text).error.code, 'uri_too_long');
});

story('malformed request lines and headers get 400 with the envelope', async () => {
  const bad0 = await metric('vidzo_http_bad_requests_total');
  const v = await one('GET /healthz HTTP/9.9\r\n\r\n');
  assert.equal(v.res && v.res.status, 505, `HTTP/9.9 -> ${v.text.slice(0, 120)}`);
  assert.equal(JSON.parse(v.res.text).error.code, 'http_version_not_supported');
  for (const bytes of ['GARBAGE\r\n\r\n', 'GET /healthz HTTP/1.1 extra\r\n\r\n', 'GET  HTTP/1.1\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nBad Header Name: x\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', '\x00\x01\x02\x03\r\n\r\n']) {
    const r = await one(bytes);
    assert.equal(r.res && r.res.status, 400, `${JSON.stringify(bytes)} -> ${r.text.slice(0, 200)}`);
    assert.equal(JSON.parse(r.res.text).error.code, 'bad_request');
    assert.ok(r.closed, 'connection closes after a parse error');
  }
  assert.ok((await metric('vidzo_http_bad_requests_total')) >= bad0 + 7, 'bad request counter moves');
});

story('path traversal, NUL and invalid UTF-8 in the path or query are refused with 400', async () => {
  for (const p of ['/v1/../etc/passwd', '/v1/%2e%2e/etc/passwd', '/v1/categories/..', '/v1/categories/%2E%2E/x',
    '/v1/./categories', '/v1/categories%00', '/v1/categories/%00', '/v1/categories/%ff', '/v1/categories/%c0%af',
    '/v1/categories/%', '/v1/categories/%zz', '/v1/cat\\egories', '/v1/categories/%5c..%5c']) {
    const r = await one(`GET ${p} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    assert.ok(r.res, `${p}: no response`);
    assert.equal(r.res.status, 400, `${p} -> ${r.res.status} ${r.res.text}`);
    assert.equal(JSON.parse(r.res.text).error.code, 'bad_request');
  }
  for (const q of ['q=%ff', 'q=%ed%a0%80', 'q=%00', 'q=%', 'kind=%fe%ff']) {
    const r = await api('GET', `/v1/categories?${q}`);
    expectError(r, 400, 'invalid_argument');
  }
  expectError(await api('GET', '/v1/categories?nope=1'), 400, 'invalid_argument', 'nope');
  expectError(await api('GET', '/v1/categories?limit=0'), 400, 'invalid_argument', 'limit');
  expectError(await api('GET', '/v1/categories?limit=99999999999999999999999'), 400, 'invalid_argument', 'limit');
  expectError(await api('GET', '/v1/categories?limit=abc'), 400, 'invalid_argument', 'limit');
});

story('unknown paths get a 404 envelope, wrong methods a 405 with Allow', async () => {
  const r = await api('GET', '/v1/no-such-endpoint');
  expectError(r, 404, 'not_found');
  assert.equal(r.json.error.request_id, r.headers.get('x-request-id'));
  const m = await api('PUT', '/v1/categories');
  expectError(m, 405, 'method_not_allowed');
  const allow = m.headers.get('allow') || '';
  assert.ok(/GET/.test(allow) && /POST/.test(allow), `Allow: ${allow}`);
  const m2 = await api('POST', '/healthz');
  expectError(m2, 405, 'method_not_allowed');
  assert.equal(m2.headers.get('allow'), 'GET');
});

story('HEAD answers with headers and no body; HTTP/1.0 closes unless keep-alive', async () => {
  const c = new RawConn();
  c.headOnly = true;
  await c.write('HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
  const h = await c.next();
  assert.equal(h.status, 200);
  assert.ok(Number(h.headers['content-length']) > 0);
  c.end();
  const r = await one('GET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(r.res.status, 200);
  assert.ok(r.closed, 'HTTP/1.0 without keep-alive is closed');
  const c2 = new RawConn();
  await c2.write('GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const k = await c2.next();
  assert.match(k.headers.connection || '', /keep-alive/i);
  await c2.write('GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.equal((await c2.next()).status, 200);
  c2.end();
});

story('X-Request-Id is echoed when sane and generated otherwise', async () => {
  const a = await api('GET', '/healthz', { headers: { 'x-request-id': 'abc-123_XYZ.9' } });
  assert.equal(a.headers.get('x-request-id'), 'abc-123_XYZ.9');
  for (const bad of ['has space', 'a'.repeat(65), 'semi;colon', '']) {
    const b = await api('GET', '/healthz', { headers: { 'x-request-id': bad } });
    const id = b.headers.get('x-request-id');
    assert.ok(id && id !== bad && /^[A-Za-z0-9._-]{1,64}$/.test(id), `generated id for ${JSON.stringify(bad)}: ${id}`);
  }
  const c = await api('GET', '/healthz'), d = await api('GET', '/healthz');
  assert.notEqual(c.headers.get('x-request-id'), d.headers.get('x-request-id'));
  const e = await api('GET', '/v1/nope', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(e.json.error.request_id, 'trace-42');
});

story('security headers are on every API answer, errors included', async () => {
  for (const r of [await api('GET', '/healthz'), await api('GET', '/v1/nope'), await api('GET', '/v1/categories')]) {
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  }
});

story('CORS: the allowed origin gets headers and a 204 preflight; others get none and 403', async () => {
  const ok = await api('GET', '/v1/categories', { headers: { origin: 'http://allowed.example' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.match(ok.headers.get('vary') || '', /Origin/);
  const pre = await api('OPTIONS', '/v1/categories', {
    headers: { origin: 'http://allowed.example', 'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.match(pre.headers.get('access-control-allow-methods') || '', /POST/);
  assert.match(pre.headers.get('access-control-allow-headers') || '', /authorization/i);
  const no = await api('GET', '/v1/categories', { headers: { origin: 'http://evil.example' } });
  assert.equal(no.status, 200);
  assert.equal(no.headers.get('access-control-allow-origin'), null);
  const sub = await api('GET', '/v1/categories', { headers: { origin: 'http://allowed.example.evil.com' } });
  assert.equal(sub.headers.get('access-control-allow-origin'), null);
  const pre2 = await api('OPTIONS', '/v1/categories', {
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  expectError(pre2, 403, 'forbidden');
  assert.equal(pre2.headers.get('access-control-allow-origin'), null);
});

story('a JSON body over 1 KB is gzipped only for clients that accept gzip', async () => {
  // An unknown query parameter name is echoed in the error, which makes a >1 KB body.
  const path = `/v1/categories?${'z'.repeat(1500)}=1`;
  const gz = await one(`GET ${path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n`);
  assert.equal(gz.res.status, 400);
  assert.equal(gz.res.headers['content-encoding'], 'gzip');
  assert.match(gz.res.headers.vary || '', /Accept-Encoding/);
  const plain = JSON.parse(zlib.gunzipSync(gz.res.body).toString('utf8'));
  assert.equal(plain.error.field, 'z'.repeat(1500));
  assert.ok(gz.res.body.length < 1024);
  const id = await one(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
  assert.equal(id.res.headers['content-encoding'], undefined);
  assert.ok(JSON.parse(id.res.text).error);
  const small = await one('GET /healthz HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
  assert.equal(small.res.headers['content-encoding'], undefined, 'small bodies stay plain');
});

story('cached list reads keep Content-Encoding true to the body', async () => {
  // Small bodies are not gzipped even for gzip clients; a cache hit must not say otherwise.
  for (let i = 0; i < 3; i++) {
    const r = await one('GET /v1/categories?limit=1&fields=id HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n' +
      'Connection: close\r\n\r\n');
    assert.equal(r.res.status, 200);
    if (r.res.headers['content-encoding'] === 'gzip') zlib.gunzipSync(r.res.body);
    else assert.ok(JSON.parse(r.res.text).data, `request ${i}: ${r.text.slice(0, 300)}`);
    if (r.res.body.length < 1024) assert.equal(r.res.headers['content-encoding'], undefined, `request ${i} (${r.res.headers['x-cache']})`);
  }
});

story('slowloris: a trickled head gets 408 and a close within --header-timeout', async () => {
  const srv = await startServer(['--header-timeout', '500', '--idle-timeout', '700']);
  try {
    const c = new RawConn(srv.url);
    const t0 = Date.now();
    await c.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => { if (!c.closed) c.sock.write('X-A: b\r\n'); }, 100);
    const r = await c.next(3000);
    clearInterval(drip);
    assert.ok(r, 'no 408 before close');
    assert.equal(r.status, 408);
    assert.ok(await c.waitClose(1000), 'closed after 408');
    const took = Date.now() - t0;
    assert.ok(took >= 400 && took < 1500, `closed after ${took} ms`);
    // A connection that never sends a byte is closed silently.
    const s = new RawConn(srv.url);
    await s.ready;
    assert.ok(await s.waitClose(1500), 'silent connection closed');
    // Idle keep-alive after an answer is closed after --idle-timeout.
    const k = new RawConn(srv.url);
    await k.write(GET('/healthz'));
    assert.equal((await k.next()).status, 200);
    const t1 = Date.now();
    assert.ok(await k.waitClose(2000), 'idle keep-alive closed');
    assert.ok(Date.now() - t1 >= 500, 'idle close came too early');
    // A slow body (head complete, body trickled) is also bounded.
    const b = new RawConn(srv.url);
    await b.write('POST /v1/categories HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{');
    const drip2 = setInterval(() => { if (!b.closed) b.sock.write(' '); }, 100);
    const closed = await b.waitClose(4000);
    clearInterval(drip2);
    assert.ok(closed, 'slow body not bounded');
    assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  } finally {
    const e = await stopServer(srv);
    assert.equal(e.code, 0, `server exit ${JSON.stringify(e)} ${srv.err}`);
  }
}, { timeout: 30000 });

story('bad input leaves the shared server answering', async () => {
  assert.equal((await api('GET', '/healthz')).status, 200);
  assert.ok(URL_BASE);
});
