// Avatars through the media store: raw or multipart upload, type by magic bytes, 2 MB cap,
// served immutable with ETag/304 and nosniff.
import { readdirSync } from 'node:fs';
import { api, assert, DATA_DIR, expectError, expectStatus, newUser, rawHttp, URL_BASE } from '../lib.mjs';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 1), Buffer.from([0xff, 0xd9])]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([30, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(22, 2)]);

const put = (token, body, type) => api('PUT', '/v1/me/avatar', { token, raw: body, headers: type ? { 'content-type': type } : {} });

export default [
  { name: 'avatar: raw PNG upload, profile points at it, served immutable with ETag and 304', fn: async () => {
    const u = await newUser();
    const r = expectStatus(await put(u.token, PNG, 'image/png'), 200);
    const url = r.json.data.avatar_url;
    assert.match(url, /^\/v1\/media\/avatar-[0-9a-f]{32}\.png$/);
    const me = expectStatus(await api('GET', '/v1/me', { token: u.token }), 200);
    assert.equal(me.json.data.avatar_url, url);
    const res = await fetch(URL_BASE + url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const etag = res.headers.get('etag');
    assert.ok(etag);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG);
    const again = await fetch(URL_BASE + url, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    // a second upload replaces the file: the old key is gone
    const r2 = expectStatus(await put(u.token, JPEG, 'image/jpeg'), 200);
    assert.match(r2.json.data.avatar_url, /\.jpg$/);
    assert.equal((await fetch(URL_BASE + url)).status, 404);
    const jr = await fetch(URL_BASE + r2.json.data.avatar_url);
    assert.equal(jr.headers.get('content-type'), 'image/jpeg');
    // no temporary files left behind
    assert.ok(!readdirSync(`${DATA_DIR}/media`).some((f) => f.startsWith('.tmp')));
  } },
  { name: 'avatar: multipart/form-data with field "avatar" and WebP by magic bytes', fn: async () => {
    const u = await newUser();
    const fd = new FormData();
    fd.append('note', 'hello');
    fd.append('avatar', new Blob([WEBP], { type: 'image/png' }), 'me.png'); // declared type is ignored
    const res = await fetch(`${URL_BASE}/v1/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${u.token}` }, body: fd });
    const j = await res.json();
    assert.equal(res.status, 200, JSON.stringify(j));
    assert.match(j.data.avatar_url, /\.webp$/);
    assert.equal(j.data.content_type, 'image/webp');
    const fd2 = new FormData();
    fd2.append('picture', new Blob([PNG]), 'x.png');
    const bad = await fetch(`${URL_BASE}/v1/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${u.token}` }, body: fd2 });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.field, 'avatar');
  } },
  { name: 'avatar: wrong magic bytes 400, too large 413, no token 401, odd media keys 404', fn: async () => {
    const u = await newUser();
    expectError(await put(u.token, Buffer.from('<svg onload=alert(1)>'), 'image/png'), 400, 'invalid_argument', 'avatar');
    expectError(await put(u.token, Buffer.from('GIF89a....'), 'image/gif'), 415, undefined, 'avatar');
    expectError(await put(u.token, Buffer.alloc(0), 'image/png'), 400, 'invalid_argument', 'avatar');
    const edge = Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024 + 100 - PNG.length)]);
    expectError(await put(u.token, edge, 'image/png'), 413, 'payload_too_large');
    expectError(await put(undefined, PNG, 'image/png'), 401);
    const trav = await api('GET', '/v1/media/..%2f..%2fvidzo.db'); // the core refuses it as a path
    assert.ok([400, 404].includes(trav.status), trav.text);
    for (const k of ['avatar-abc.exe', 'AVATAR-1.png', '.tmp-1.png', 'avatar-1.png.tmp'])
      expectError(await api('GET', `/v1/media/${k}`), 404);
    const miss = await api('GET', '/v1/media/avatar-00000000000000000000000000000000.png');
    expectError(miss, 404);
    assert.equal(miss.headers.get('cache-control'), null);
  } },
  // The core answers 413 from Content-Length alone and never parses the body as requests.
  { name: 'a body beyond the route max_body is refused with 413 before it is read', fn: async () => {
    const u = await newUser();
    // beyond the route's max_body the core answers 413 from the headers alone
    const host = new URL(URL_BASE).host;
    const big = await rawHttp(`PUT /v1/me/avatar HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${u.token}\r\n` +
      'Content-Type: image/png\r\nContent-Length: 3000000\r\n\r\n');
    assert.match(big.text, /^HTTP\/1\.1 413 /);
  } },
];
