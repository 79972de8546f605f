// Direct uploads on the local backend (the shared test server): ask, PUT to the one-time
// URL, confirm, the image job's variants; what is refused and why; serving with ETag,
// Range and 304. The corpus is made by media_support.mjs.
import { readdirSync } from 'node:fs';
import { api, assert, DATA_DIR, expectError, expectStatus, metric, newUser, sleep, URL_BASE, withServer } from '../lib.mjs';
import { corpus, dims, newUpload, pngHeaderOnly, putBytes, settled } from './media_support.mjs';

const B = URL_BASE;
const get = async (url, headers = {}) => {
  const r = await fetch(url.startsWith('/') ? B + url : url, { headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
};
async function ready(u, bytes, opts = {}) {
  const up = await newUpload(u.token, bytes, opts);
  assert.equal((await putBytes(up, bytes, { base: B })).status, 200);
  expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202);
  return settled(u.token, up.id);
}

export default [
  { name: 'uploads: a JPEG through the one-time URL becomes 1080/480/160 WebP and JPEG, content-hashed and immutable', fn: async () => {
    const u = await newUser('med');
    const { jpeg } = corpus();
    const up = await newUpload(u.token, jpeg);
    assert.equal(up.status, 'pending');
    assert.match(up.upload.url, /^\/v1\/uploads\/\d+\/content\?token=[0-9a-f]{64}$/);
    assert.equal(up.upload.headers['Content-Length'], jpeg.length);
    assert.equal((await putBytes(up, jpeg, { base: B })).status, 200);
    const c = expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202);
    assert.ok(['processing', 'ready'].includes(c.json.data.status));
    const m = await settled(u.token, up.id);
    assert.equal(m.status, 'ready', JSON.stringify(m));
    assert.ok(await metric('vidzo_media_images_total', { outcome: 'ready' }) >= 1);
    assert.ok(await metric('vidzo_media_uploads_total', { outcome: 'created' }) >= 1);
    assert.equal(m.width, 1600); assert.equal(m.height, 900);
    assert.match(m.color, /^#[0-9a-f]{6}$/);
    const want = { 1080: [1080, 608], 480: [480, 270], 160: [160, 90] };
    for (const [size, [w, h]] of Object.entries(want)) {
      for (const fmt of ['webp', 'jpeg']) {
        const url = m.variants[size][fmt];
        assert.match(url, new RegExp(`^/v1/media/i-[0-9a-f]{32}-${size}\\.${fmt === 'jpeg' ? 'jpg' : 'webp'}$`));
        const r = await get(url);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), fmt === 'jpeg' ? 'image/jpeg' : 'image/webp');
        assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
        const d = dims(r.body);
        assert.ok(d && Math.abs(d.w - w) <= 1 && Math.abs(d.h - h) <= 1, `${size} ${fmt}: ${JSON.stringify(d)}`);
      }
    }
    // confirming again answers the same media; the original is gone (no EXIF kept anywhere)
    expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202);
    assert.ok(!readdirSync(`${DATA_DIR}/media`).some((f) => f.startsWith('up-') && f.includes(up.id)));
    assert.ok(!readdirSync(`${DATA_DIR}/media`).some((f) => f.startsWith('.tmp')));
  } },
  { name: 'uploads: EXIF orientation is applied and GPS never reaches a variant', fn: async () => {
    const u = await newUser('mex');
    const { exifJpeg } = corpus();
    assert.ok(exifJpeg.includes(Buffer.from('Exif\0\0')));
    const m = await ready(u, exifJpeg);
    assert.equal(m.status, 'ready', JSON.stringify(m));
    assert.deepEqual([m.width, m.height], [100, 200]); // 200x100 stored, "rotate 90" in EXIF
    assert.deepEqual(Object.keys(m.variants), ['160']); // larger sizes than the original are left out
    for (const fmt of ['webp', 'jpeg']) {
      const r = await get(m.variants['160'][fmt]);
      assert.deepEqual(dims(r.body), { w: 80, h: 160 });
      assert.ok(!r.body.includes(Buffer.from('Exif')), `${fmt} keeps EXIF`);
      assert.ok(!r.body.includes(Buffer.from([0x25, 0x88])) || !r.body.includes(Buffer.from('GPS')), 'GPS');
    }
    assert.match(m.color, /^#c[0-9a-f]c[0-9a-f]c[0-9a-f]$/); // the flat 200-grey picture
  } },
  { name: 'uploads: PNG and WebP are accepted by magic bytes; each of avatar, thumbnail, screenshot purposes', fn: async () => {
    const u = await newUser('mpn');
    const { png, webp } = corpus();
    const a = await ready(u, png, { type: 'image/png', purpose: 'avatar' });
    assert.equal(a.status, 'ready');
    assert.equal(a.purpose, 'avatar');
    const t = await ready(u, webp, { type: 'image/webp', purpose: 'stream_thumbnail' });
    assert.equal(t.status, 'ready');
    // screenshots are private: their variants are signed, short-lived URLs
    const s = await ready(u, png, { type: 'image/png', purpose: 'feedback_screenshot' });
    const url = s.variants['160'].webp;
    assert.match(url, /^\/v1\/media\/p-[0-9a-f]{32}-160\.webp\?exp=\d+&sig=[0-9a-f]{64}$/);
    assert.equal((await get(url)).status, 200);
    assert.equal((await get(url.split('?')[0])).status, 404);
    assert.equal((await get(url.replace(/sig=(.)/, (_, c) => `sig=${c === '0' ? '1' : '0'}`))).status, 404);
  } },
  { name: 'uploads: refused on ask: SVG and GIF types, unknown purpose, too large, empty, no token', fn: async () => {
    const u = await newUser('mbd');
    const ask = (body, token = u.token) => api('POST', '/v1/uploads', { token, body });
    expectError(await ask({ purpose: 'product_image', content_type: 'image/svg+xml', size: 100 }), 415, 'unsupported_media_type', 'content_type');
    expectError(await ask({ purpose: 'product_image', content_type: 'image/gif', size: 100 }), 415, 'unsupported_media_type', 'content_type');
    expectError(await ask({ purpose: 'invoice', content_type: 'image/png', size: 100 }), 400, 'invalid_argument', 'purpose');
    expectError(await ask({ purpose: 'avatar', content_type: 'image/png', size: 5 * 1024 * 1024 + 1 }), 413, 'payload_too_large', 'size');
    expectError(await ask({ purpose: 'avatar', content_type: 'image/png', size: 0 }), 400, 'invalid_argument', 'size');
    expectError(await ask({ purpose: 'avatar', content_type: 'image/png' }), 400, 'invalid_argument', 'size');
    expectError(await ask({ purpose: 'avatar', content_type: 'image/png', size: 10, extra: 1 }), 400, 'invalid_argument', 'extra');
    expectError(await ask({ purpose: 'avatar', content_type: 'image/png', size: 10 }, null), 401);
  } },
  { name: 'uploads: the one-time URL binds size, type and token: larger 413, smaller 400, other type or token 403, once', fn: async () => {
    const u = await newUser('mput');
    const { png } = corpus();
    const up = await newUpload(u.token, png, { type: 'image/png', purpose: 'avatar' });
    const big = await putBytes(up, Buffer.concat([png, Buffer.alloc(10)]), { base: B });
    assert.equal(big.status, 413, big.text);
    assert.equal(JSON.parse(big.text).error.field, 'size');
    assert.equal((await putBytes(up, png.subarray(0, png.length - 1), { base: B })).status, 400);
    assert.equal((await putBytes(up, png, { base: B, type: 'image/jpeg' })).status, 403);
    const forged = { upload: { ...up.upload, url: up.upload.url.replace(/token=.{8}/, 'token=00000000') } };
    assert.equal((await putBytes(forged, png, { base: B, type: 'image/png' })).status, 403);
    assert.equal((await putBytes(up, png, { base: B })).status, 200);
    assert.equal((await putBytes(up, png, { base: B })).status, 403); // spent
  } },
  { name: 'uploads: someone else\'s upload is 404, confirm before the bytes 409, confirm without token 401', fn: async () => {
    const a = await newUser('mown'), b = await newUser('moth');
    const { png } = corpus();
    const up = await newUpload(a.token, png, { type: 'image/png' });
    expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: a.token }), 409, 'upload_missing');
    await putBytes(up, png, { base: B });
    expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: b.token }), 404, 'not_found');
    expectError(await api('GET', `/v1/uploads/${up.id}`, { token: b.token }), 404, 'not_found');
    expectError(await api('POST', `/v1/uploads/${up.id}/confirm`), 401);
    expectError(await api('GET', '/v1/uploads/123'), 401);
    expectError(await api('POST', '/v1/uploads/nope/confirm', { token: a.token }), 404);
    expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: a.token }), 202);
  } },
  { name: 'uploads: a file that is not what it claims, a truncated JPEG and a 20,000 x 20,000 PNG are refused', fn: async () => {
    const u = await newUser('mbad');
    const { zip, gif, svg, truncatedJpeg, pngBomb } = corpus();
    for (const [bytes, type] of [[zip, 'image/jpeg'], [gif, 'image/png'], [svg, 'image/png'], [corpus().png, 'image/jpeg']]) {
      const up = await newUpload(u.token, bytes, { type });
      assert.equal((await putBytes(up, bytes, { base: B })).status, 200);
      expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 400, 'invalid_argument', 'content_type');
      const s = expectStatus(await api('GET', `/v1/uploads/${up.id}`, { token: u.token }), 200).json.data;
      assert.equal(s.status, 'failed');
      assert.equal(s.reason, 'verification_failed');
    }
    const t = await ready(u, truncatedJpeg);
    assert.equal(t.status, 'failed');
    assert.equal(t.reason, 'image_refused');
    assert.match(t.error, /damaged|truncated/);
    assert.equal(t.variants, undefined);
    const t0 = Date.now();
    const bomb = await ready(u, pngBomb, { type: 'image/png' });
    assert.equal(bomb.status, 'failed');
    assert.match(bomb.error, /too large|too many pixels/);
    assert.ok(Date.now() - t0 < 5000, 'refused from the header, not after decoding');
    // within the side limit (10,000) but 81 M pixels, over the 40 M limit
    const wide = await ready(u, pngHeaderOnly(9000, 9000), { type: 'image/png' });
    assert.equal(wide.status, 'failed');
    assert.match(wide.error, /too many pixels/);
  } },
  { name: 'media: Range, suffix range, 416, If-None-Match 304 and If-Range on the local backend', fn: async () => {
    const u = await newUser('mrng');
    const m = await ready(u, corpus().jpeg);
    const url = m.variants['480'].jpeg;
    const full = await get(url);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    const n = full.body.length, etag = full.headers.get('etag');
    const r = await get(url, { range: 'bytes=0-9' });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 0-9/${n}`);
    assert.deepEqual(r.body, full.body.subarray(0, 10));
    const tail = await get(url, { range: 'bytes=-5' });
    assert.equal(tail.status, 206);
    assert.deepEqual(tail.body, full.body.subarray(n - 5));
    const open = await get(url, { range: `bytes=${n - 3}-` });
    assert.equal(open.headers.get('content-range'), `bytes ${n - 3}-${n - 1}/${n}`);
    const past = await get(url, { range: `bytes=${n}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${n}`);
    assert.equal((await get(url, { range: 'bytes=0-1,5-6' })).status, 200); // lists are ignored
    assert.equal((await get(url, { range: 'items=0-1' })).status, 200);
    assert.equal((await get(url, { 'if-none-match': etag })).status, 304);
    assert.equal((await get(url, { range: 'bytes=0-1', 'if-range': '"other"' })).status, 200);
    assert.equal((await get(url, { range: 'bytes=0-1', 'if-range': etag })).status, 206);
    // originals are never served, whatever their name
    expectError(await api('GET', '/v1/media/up-00000000000000000000000000000000.bin'), 404);
  } },
  { name: 'uploads: DELETE /v1/uploads/:id removes an unclaimed upload (files by the job); others\' 404, claimed 409, no auth 401', timeout: 40000, fn: async () => {
    const u = await newUser('mdu'), other = await newUser('mduo');
    const m = await ready(u, corpus().png, { type: 'image/png' });
    const url = m.variants['160'].webp;
    assert.equal((await get(url)).status, 200);
    expectError(await api('DELETE', `/v1/uploads/${m.id}`), 401);
    expectError(await api('DELETE', `/v1/uploads/${m.id}`, { token: other.token }), 404, 'not_found');
    expectError(await api('DELETE', '/v1/uploads/nope', { token: u.token }), 404);
    expectStatus(await api('DELETE', `/v1/uploads/${m.id}`, { token: u.token }), 204);
    expectError(await api('DELETE', `/v1/uploads/${m.id}`, { token: u.token }), 404, 'not_found'); // once
    let st;
    for (let i = 0; i < 60; i++) { st = (await get(url)).status; if (st === 404) break; await sleep(250); }
    assert.equal(st, 404);
    assert.equal(expectStatus(await api('GET', `/v1/uploads/${m.id}`, { token: u.token }), 200).json.data.status, 'released');
    // a pending one: its one-time URL dies with it, and its bytes go
    const { png } = corpus();
    const p = await newUpload(u.token, png, { type: 'image/png' });
    const ups = () => readdirSync(`${DATA_DIR}/media`).filter((f) => f.startsWith('up-'));
    const before = new Set(ups());
    assert.equal((await putBytes(p, png, { base: B })).status, 200);
    const mine = ups().filter((f) => !before.has(f));
    assert.equal(mine.length, 1);
    const again = await newUpload(u.token, png, { type: 'image/png' });
    expectStatus(await api('DELETE', `/v1/uploads/${again.id}`, { token: u.token }), 204);
    assert.equal((await putBytes(again, png, { base: B })).status, 403);
    expectStatus(await api('DELETE', `/v1/uploads/${p.id}`, { token: u.token }), 204);
    for (let i = 0; i < 60 && ups().includes(mine[0]); i++) await sleep(250);
    assert.ok(!ups().includes(mine[0]), 'the original of a deleted upload is removed');
    expectError(await api('POST', `/v1/uploads/${p.id}/confirm`, { token: u.token }), 404);
    // claimed by a service (here the avatar): 409, it is that service's to let go
    const c = await ready(u, png, { type: 'image/png', purpose: 'avatar' });
    expectStatus(await api('PATCH', '/v1/me', { token: u.token, body: { avatar_upload_id: c.id } }), 200);
    expectError(await api('DELETE', `/v1/uploads/${c.id}`, { token: u.token }), 409, 'media_in_use');
  } },
  { name: 'uploads: deleting the account deletes the uploads no service holds', timeout: 40000, fn: async () => {
    const u = await newUser('mdel');
    const m = await ready(u, corpus().png, { type: 'image/png', purpose: 'feedback_screenshot' });
    const url = m.variants['160'].jpeg;
    assert.equal((await get(url)).status, 200);
    expectStatus(await api('DELETE', '/v1/me', { token: u.token }), 204);
    let st;
    for (let i = 0; i < 60; i++) { st = (await get(url)).status; if (st === 404) break; await sleep(250); }
    assert.equal(st, 404);
  } },
  { name: 'uploads: an upload never confirmed is deleted by the sweep job', timeout: 40000, fn: async () => {
    await withServer({ args: ['--media-upload-ttl', '1', '--job-workers', '1'] }, async ({ url, dir }) => {
      const u = await newUser('mexp', { base: url, dataDir: dir });
      const { png } = corpus();
      const up = await newUpload(u.token, png, { type: 'image/png', base: url });
      assert.equal((await putBytes(up, png, { base: url })).status, 200);
      const files = () => readdirSync(`${dir}/media`).filter((f) => f.startsWith('up-'));
      assert.equal(files().length, 1);
      let s;
      for (let i = 0; i < 60; i++) {
        s = expectStatus(await api('GET', `/v1/uploads/${up.id}`, { base: url, token: u.token }), 200).json.data;
        if (s.status === 'expired') break;
        await sleep(250);
      }
      assert.equal(s.status, 'expired');
      assert.equal(files().length, 0);
      expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 404);
    });
  } },
];
