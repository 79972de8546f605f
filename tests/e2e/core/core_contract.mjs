// The contract served by the server: GET /v1/openapi.json is the binary's `vidzo openapi`
// (so docs/openapi.yaml, which tests/contract/check.mjs compares), and /docs is the
// human-readable reference (Redoc, linked into the binary) reading it.
import { spawnSync } from 'node:child_process';
import { story, assert, api, expectStatus, expectError } from '../lib.mjs';

story('GET /v1/openapi.json is the contract the binary prints; /docs shows it with the Redoc bundle', async () => {
  const r = expectStatus(await api('GET', '/v1/openapi.json'), 200);
  const want = JSON.parse(spawnSync(process.env.VZ_TEST_BIN, ['openapi', '--json', '--data-dir', '/tmp/vidzo-contract-check'],
    { encoding: 'utf8' }).stdout);
  // rate limits are the running server's settings (the suite scales the auth ones); the
  // rest is the same document
  const noRates = (d) => JSON.parse(JSON.stringify(d, (k, v) => (k === 'per_minute' ? 0 : v)));
  assert.deepEqual(noRates(r.json), noRates(want), 'the served contract is `vidzo openapi`');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.ok(!JSON.stringify(r.json.paths).includes('/_debug/'), 'debug and test routes are not in the contract');
  // HEAD has the GET's headers and no body
  const h = await api('HEAD', '/v1/openapi.json');
  assert.equal(h.status, 200);
  assert.equal(h.text, '');

  const page = await api('GET', '/docs');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.text, /<redoc spec-url="\/v1\/openapi\.json">/);
  assert.match(page.text, /<script src="\/docs\/redoc\.standalone\.js">/);
  assert.equal((await api('GET', '/docs/')).text, page.text);
  const js = await api('GET', '/docs/redoc.standalone.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.ok(js.text.length > 500000 && js.text.includes('Redoc'), `bundle of ${js.text.length} bytes`);
  assert.match(js.headers.get('cache-control'), /max-age=86400/);
  // only what is there: nothing else under /docs, and no writes
  expectError(await api('GET', '/docs/other.js'), 404);
  expectError(await api('POST', '/docs', { body: {} }), 405);
});

story('GET /v1/health is /healthz under /v1', async () => {
  const r = expectStatus(await api('GET', '/v1/health'), 200);
  assert.deepEqual(r.json, { status: 'ok' });
  expectError(await api('GET', '/v1/health?nope=1'), 400, 'invalid_argument', 'nope');
});
