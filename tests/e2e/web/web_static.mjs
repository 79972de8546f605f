// The web app's files at / (src/services/web): caching by kind of file, ETag/304, gzip, the
// SPA fallback for app paths only, the API's namespaces untouched, nothing outside the web
// root reachable. Each story runs its own server on a web root it writes itself.
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import net from 'node:net';
import { story, assert, withServer } from '../lib.mjs';

// Raw bytes to a story's own server (fetch normalises paths and undoes gzip); resolves with
// every byte read until the server closes.
function raw(url, bytes) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.write(bytes));
    let out = Buffer.alloc(0);
    const t = setTimeout(() => s.destroy(), 2000);
    s.on('data', (d) => { out = Buffer.concat([out, d]); });
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.on('error', () => {});
  });
}

const INDEX = `<!doctype html><title>VidZo</title><script type="module" src="/assets/app-Ab12Cd.js"></script>${' '.repeat(400)}`;
const APP = `console.log("app");\n${'export const x = 1;\n'.repeat(200)}`;

function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'vidzo-web-'));
  const web = join(root, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), INDEX);
  writeFileSync(join(web, 'config.js'), 'window.VIDZO_CONFIG = { apiUrl: "" };\n');
  writeFileSync(join(web, 'assets', 'app-Ab12Cd.js'), APP);
  writeFileSync(join(web, '.env'), 'SECRET=1');
  writeFileSync(join(root, 'secret.txt'), 'outside the root');
  symlinkSync(join(root, 'secret.txt'), join(web, 'link.txt'));
  return { root, web };
}

async function withWeb(fn) {
  const { root, web } = fixture();
  try { await withServer({ args: ['--web-root', web] }, fn); } finally { rmSync(root, { recursive: true, force: true }); }
}

story('web: index.html is served at / uncached, with its ETag, a 304 and security headers', async () => {
  await withWeb(async ({ url }) => {
    const r = await fetch(`${url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
    assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await r.text(), INDEX);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    const again = await fetch(`${url}/`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    assert.equal((await fetch(`${url}/`, { headers: { 'If-None-Match': '"other"' } })).status, 200);
    assert.equal((await fetch(`${url}/index.html`)).headers.get('etag'), etag);
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });
});

story('web: hashed assets are immutable for a year and gzipped for clients that accept it', async () => {
  await withWeb(async ({ url }) => {
    const r = await fetch(`${url}/assets/app-Ab12Cd.js`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    assert.equal(await r.text(), APP); // fetch undoes the gzip
    // raw: the bytes on the wire are gzip, and smaller
    const buf = await raw(url, 'GET /assets/app-Ab12Cd.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
    const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString();
    assert.match(head, /Content-Encoding: gzip/i);
    assert.match(head, /Vary: Accept-Encoding/i);
    const body = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length < APP.length / 4, `gzip body ${body.length} bytes`);
    assert.equal(gunzipSync(body).toString(), APP);
    // config.js is not hashed: revalidated, never cached blind
    assert.equal((await fetch(`${url}/config.js`)).headers.get('cache-control'), 'no-cache');
  });
});

story('web: app paths fall back to index.html; files, the API and the operators\' paths do not', async () => {
  await withWeb(async ({ url }) => {
    for (const p of ['/watch/123', '/studio', '/u/42', '/signin?next=/studio', '/some/deep/app/path']) {
      const r = await fetch(`${url}${p}`);
      assert.equal(r.status, 200, p);
      assert.equal(await r.text(), INDEX, p);
      assert.equal(r.headers.get('cache-control'), 'no-cache', p);
    }
    for (const p of ['/v1', '/v1/', '/v1/no-such-endpoint', '/socket.io', '/docs/x', '/metrics.txt', '/healthz/x',
      '/readyz/x', '/assets/missing-123.js', '/assets/new-route', '/favicon.ico', '/.env', '/link.txt']) {
      const r = await fetch(`${url}${p}`);
      assert.equal(r.status, 404, p);
      assert.match(r.headers.get('content-type'), /^application\/json/, p);
      const j = await r.json();
      assert.equal(j.error.code, 'not_found', p);
    }
    // the real endpoints still answer as before (/docs: the API reference, not the app)
    const docs = await fetch(`${url}/docs`);
    if (docs.status === 200) assert.notEqual(await docs.text(), INDEX);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/metrics`)).status, 200);
    assert.equal((await fetch(`${url}/v1/time`)).status, 200);
    // writes to app paths are not served: 404 as any unknown path
    assert.equal((await fetch(`${url}/watch/1`, { method: 'POST' })).status, 404);
    // a wrong method on a known route still says which methods it allows, never GET from the fallback
    const m = await fetch(`${url}/v1/auth/signup`, { method: 'GET' });
    assert.equal(m.status, 405);
    assert.doesNotMatch(m.headers.get('allow') || '', /GET/);
  });
});

story('web: nothing outside the web root can be named (dot segments, encodings, symlinks)', async () => {
  await withWeb(async ({ url }) => {
    for (const p of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/assets/..%5c..%5csecret.txt', '//secret.txt']) {
      const text = (await raw(url, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toString('latin1');
      const status = Number(text.slice(9, 12));
      assert.ok(status === 400 || status === 404, `${p}: ${status}`);
      assert.doesNotMatch(text, /outside the root/, p);
    }
  });
});

story('web: without a web root the server answers JSON 404s at / as before', async () => {
  await withServer({ args: ['--web-root', ''] }, async ({ url }) => {
    const r = await fetch(`${url}/`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, 'not_found');
    assert.equal((await fetch(`${url}/watch/1`)).status, 404);
  });
});
