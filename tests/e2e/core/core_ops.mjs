// core_ops.mjs: what operators and load balancers rely on: /healthz, /readyz, /metrics
// in Prometheus text whose counters move with traffic, JSON log lines, and a graceful
// drain on SIGTERM (readyz 503 first, idle connections closed, exit 0 in time).
import { story, api, metric, assert } from '../lib.mjs';
import { RawConn, GET, startServer, stopServer } from './core_net.mjs';

story('healthz and readyz answer 200 with JSON', async () => {
  const h = await api('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  const r = await api('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ready');
});

story('/metrics is Prometheus text with the named series, and counts move', async () => {
  const res = await fetch(process.env.VZ_TEST_URL + '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  const text = await res.text();
  for (const name of ['vidzo_http_requests_total', 'vidzo_http_request_duration_seconds_bucket',
    'vidzo_http_request_duration_seconds_count', 'vidzo_http_connections_open', 'vidzo_worker_queue_depth', 'vidzo_db_busy_retries_total',
    'vidzo_db_query_duration_seconds_bucket', 'vidzo_http_bad_requests_total', 'process_resident_memory_bytes'])
    assert.ok(text.includes(name), `missing ${name}`);
  for (const line of text.split('\n'))
    if (line && !line.startsWith('#')) assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$/, line);
  const lbl = { route: '/v1/categories', method: 'GET', status: '200' };
  const before = (await metric('vidzo_http_requests_total', lbl)) || 0;
  const c0 = await metric('vidzo_http_request_duration_seconds_count');
  const d0 = await metric('vidzo_db_query_duration_seconds_count');
  await api('GET', '/v1/categories');
  await api('GET', '/v1/categories');
  assert.equal(await metric('vidzo_http_requests_total', lbl), before + 2);
  assert.ok((await metric('vidzo_http_request_duration_seconds_count')) >= c0 + 2);
  await api('GET', '/readyz'); // list reads may come from the loop cache; readyz always asks the db
  await api('GET', '/readyz');
  assert.ok((await metric('vidzo_db_query_duration_seconds_count')) >= d0 + 2);
  const nf0 = (await metric('vidzo_http_requests_total', { route: 'unmatched', status: '404' })) || 0;
  await api('GET', '/v1/nowhere');
  assert.equal(await metric('vidzo_http_requests_total', { route: 'unmatched', status: '404' }), nf0 + 1);
  const c = new RawConn();
  await c.write(GET('/healthz'));
  await c.next();
  assert.ok((await metric('vidzo_http_connections_open')) >= 2, 'open connections counts this one and the scrape');
  c.end();
});

story('SIGTERM drains: readyz 503 first, idle keep-alive closed, in-flight finished, exit 0', async () => {
  const srv = await startServer(['--shutdown-timeout', '3', '--log-level', 'info']);
  const idle = new RawConn(srv.url);
  await idle.write(GET('/healthz'));
  assert.equal((await idle.next()).status, 200);
  const busy = new RawConn(srv.url); // a request half sent when the signal comes
  await busy.write('GET /readyz HTTP/1.1\r\nHost: t\r\n');
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  srv.child.kill('SIGTERM');
  assert.ok(await idle.waitClose(2000), 'idle keep-alive connection not closed on drain');
  await busy.write('\r\n');
  const r = await busy.next(3000);
  assert.ok(r, 'in-flight request not answered during drain');
  assert.equal(r.status, 503);
  assert.equal(JSON.parse(r.text).error.code, 'draining');
  assert.match(r.headers.connection || '', /close/i);
  try {
    const late = await fetch(srv.url + '/readyz');
    assert.equal(late.status, 503);
  } catch { /* connection refused: the listener is closed already, also right */ }
  const e = await srv.exited;
  assert.equal(e.code, 0, `exit ${JSON.stringify(e)} ${srv.err}`);
  assert.ok(e.at - t0 < 5000, `took ${e.at - t0} ms with --shutdown-timeout 3`);
  // JSON log lines: every stdout line parses and the request carried its id.
  const lines = srv.out.split('\n').filter(Boolean);
  assert.ok(lines.length >= 3, srv.out);
  for (const l of lines) {
    const j = JSON.parse(l);
    assert.ok(j.ts && j.level && j.msg, l);
  }
  assert.ok(lines.some((l) => /"msg":"draining/.test(l)), 'drain logged');
  assert.ok(lines.some((l) => /"msg":"stopped"/.test(l)), 'stop logged');
}, { timeout: 20000 });

story('SIGTERM with a connection that never finishes its request: closed at the deadline', async () => {
  const srv = await startServer(['--shutdown-timeout', '1', '--header-timeout', '60000']);
  const slow = new RawConn(srv.url);
  await slow.write('GET /healthz HTTP/1.1\r\n');
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const e = await stopServer(srv);
  assert.equal(e.code, 0, srv.err);
  assert.ok(Date.now() - t0 < 4000, `drain took ${Date.now() - t0} ms`);
  assert.ok(await slow.waitClose(500));
}, { timeout: 15000 });
