// Avatars through the media store: raw or multipart upload, type by magic bytes, 2 MB cap,
// served immutable with ETag/304 and nosniff.
import { readdirSync } from 'node:fs';
import { api, assert, DATA_DIR, expectError, expectStatus, newUser, rawHttp, sleep, URL_BASE } from '../lib.mjs';
import { corpus, newUpload, putBytes, settled } from './media_support.mjs';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 1), Buffer.from([0xff, 0xd9])]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([30, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(22, 2)]);

// An avatar upload through the direct-upload flow: asked, PUT, confirmed (and settled).
async function avatarUpload(u, { confirm = true, purpose = 'avatar' } = {}) {
  const { png } = corpus();
  const up = await newUpload(u.token, png, { type: 'image/png', purpose });
  assert.equal((await putBytes(up, png, { base: URL_BASE })).status, 200);
  if (!confirm) return up;
  expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202);
  return settled(u.token, up.id);
}
const patchAvatar = (token, id) => api('PATCH', '/v1/me', { token, body: { avatar_upload_id: id } });

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
  { name: 'avatar: PATCH /v1/me {avatar_upload_id} claims the upload, returns its variants, releases the previous one', fn: async () => {
    const u = await newUser('mav');
    const a = await avatarUpload(u);
    assert.equal(a.status, 'ready', JSON.stringify(a));
    const me = expectStatus(await patchAvatar(u.token, a.id), 200).json.data;
    assert.equal(me.avatar.id, a.id);
    assert.equal(me.avatar.status, 'ready');
    assert.deepEqual(Object.keys(me.avatar.variants).sort(), ['160']); // a 200x100 original: the 160 slot only
    assert.equal(me.avatar_url, me.avatar.variants['160'].webp);
    assert.equal((await fetch(URL_BASE + me.avatar_url)).status, 200);
    // the public profile shows it too; setting the same upload again changes nothing
    const pub = expectStatus(await api('GET', `/v1/users/${u.id}`), 200).json.data;
    assert.equal(pub.avatar_url, me.avatar_url);
    expectStatus(await patchAvatar(u.token, a.id), 200);
    // claimed: it cannot be deleted or taken twice
    expectError(await api('DELETE', `/v1/uploads/${a.id}`, { token: u.token }), 409, 'media_in_use');
    // a second avatar replaces it: the first is released and its files deleted by the job
    const b = await avatarUpload(u);
    const me2 = expectStatus(await patchAvatar(u.token, b.id), 200).json.data;
    assert.equal(me2.avatar.id, b.id);
    let st;
    for (let i = 0; i < 60; i++) { st = (await fetch(URL_BASE + me.avatar_url)).status; if (st === 404) break; await sleep(250); }
    assert.equal(st, 404);
    assert.equal(expectStatus(await api('GET', `/v1/uploads/${a.id}`, { token: u.token }), 200).json.data.status, 'released');
    // the legacy PUT replaces a claimed avatar as well (and releases it)
    const legacy = expectStatus(await put(u.token, PNG, 'image/png'), 200).json.data;
    const me3 = expectStatus(await api('GET', '/v1/me', { token: u.token }), 200).json.data;
    assert.equal(me3.avatar_url, legacy.avatar_url);
    assert.equal(me3.avatar, undefined);
    for (let i = 0; i < 60; i++) { st = (await fetch(URL_BASE + me2.avatar_url)).status; if (st === 404) break; await sleep(250); }
    assert.equal(st, 404);
    // and the flow replaces the legacy file: it is deleted at once; null removes the avatar
    const c = await avatarUpload(u);
    expectStatus(await patchAvatar(u.token, c.id), 200);
    assert.equal((await fetch(URL_BASE + legacy.avatar_url)).status, 404);
    const none = expectStatus(await patchAvatar(u.token, null), 200).json.data;
    assert.equal(none.avatar_url, null);
    assert.equal(none.avatar, undefined);
  } },
  { name: 'avatar: avatar_upload_id of someone else 404, wrong purpose 400, unconfirmed 409, bad id 400, no auth 401', fn: async () => {
    const u = await newUser('mavx'), other = await newUser('mavo');
    const theirs = await avatarUpload(other);
    expectError(await patchAvatar(u.token, theirs.id), 404, 'not_found', 'avatar_upload_id');
    const prod = await avatarUpload(u, { purpose: 'product_image' });
    expectError(await patchAvatar(u.token, prod.id), 400, 'invalid_argument', 'avatar_upload_id');
    const pending = await avatarUpload(u, { confirm: false });
    expectError(await patchAvatar(u.token, pending.id), 409, 'media_not_usable', 'avatar_upload_id');
    expectError(await patchAvatar(u.token, 'abc'), 400, 'invalid_argument', 'avatar_upload_id');
    expectError(await patchAvatar(u.token, '99999999999'), 404, 'not_found', 'avatar_upload_id');
    expectError(await patchAvatar(undefined, theirs.id), 401);
    // nothing changed on a refusal: the other fields of the same PATCH were not applied
    const r = await api('PATCH', '/v1/me', { token: u.token, body: { bio: 'kept?', avatar_upload_id: pending.id } });
    expectError(r, 409, 'media_not_usable');
    assert.equal(expectStatus(await api('GET', '/v1/me', { token: u.token }), 200).json.data.bio, '');
    // their upload is still theirs to use
    expectStatus(await patchAvatar(other.token, theirs.id), 200);
  } },
  { name: 'avatar: deleting the account releases the claimed avatar (its files deleted by the job)', timeout: 40000, fn: async () => {
    const u = await newUser('mavd');
    const a = await avatarUpload(u);
    const me = expectStatus(await patchAvatar(u.token, a.id), 200).json.data;
    assert.equal((await fetch(URL_BASE + me.avatar_url)).status, 200);
    expectStatus(await api('DELETE', '/v1/me', { token: u.token }), 204);
    let st;
    for (let i = 0; i < 60; i++) { st = (await fetch(URL_BASE + me.avatar_url)).status; if (st === 404) break; await sleep(250); }
    assert.equal(st, 404);
  } },
];
