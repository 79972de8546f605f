// Avatars in lists of users: followers, following and user search give each user the
// same avatar_url as GET /v1/users/:id, whether the avatar came through the upload flow
// (PATCH /v1/me {avatar_upload_id}: a media variant URL), the legacy PUT /v1/me/avatar
// (its /v1/media/<key> route) or is not set (null). Before, the lists read only the
// legacy column, so new-flow avatars showed null there.
import { api, assert, expectStatus, newUser, URL_BASE } from '../lib.mjs';
import { corpus, newUpload, putBytes, settled } from '../media/media_support.mjs';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

async function flowAvatar(u) {
  const { png } = corpus();
  const up = await newUpload(u.token, png, { type: 'image/png', purpose: 'avatar' });
  assert.equal((await putBytes(up, png, { base: URL_BASE })).status, 200);
  expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { token: u.token }), 202);
  assert.equal((await settled(u.token, up.id)).status, 'ready');
  return expectStatus(await api('PATCH', '/v1/me', { token: u.token, body: { avatar_upload_id: up.id } }), 200).json.data;
}

const profileUrl = async (id) => expectStatus(await api('GET', `/v1/users/${id}`), 200).json.data.avatar_url;

// Every page of a list, limit per page (so rows are matched to their own avatars across pages).
async function all(path, token, limit) {
  const out = [];
  let cursor;
  for (let i = 0; i < 20; i++) {
    const q = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = expectStatus(await api('GET', `${path}${path.includes('?') ? '&' : '?'}${q}`, { token }), 200).json;
    out.push(...r.data);
    cursor = r.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export default [
  { name: 'users: followers, following and search show the same avatar_url as the profile (upload flow, legacy, none)', fn: async () => {
    const star = await newUser('avlstar');
    const flow = await newUser('avlflow'), flow2 = await newUser('avlflox'), legacy = await newUser('avlleg'), none = await newUser('avlnone');
    const m1 = await flowAvatar(flow), m2 = await flowAvatar(flow2);
    assert.ok(m1.avatar_url && m2.avatar_url && m1.avatar_url !== m2.avatar_url);
    const lg = expectStatus(await api('PUT', '/v1/me/avatar', { token: legacy.token, raw: PNG, headers: { 'content-type': 'image/png' } }), 200).json.data;
    const want = { [flow.id]: m1.avatar_url, [flow2.id]: m2.avatar_url, [legacy.id]: lg.avatar_url, [none.id]: null };
    for (const [id, url] of Object.entries(want)) assert.equal(await profileUrl(id), url, `profile of ${id}`);
    const fans = [flow, flow2, legacy, none];
    for (const f of fans) expectStatus(await api('POST', `/v1/users/${star.id}/follow`, { token: f.token }), 204);
    for (const f of fans) expectStatus(await api('POST', `/v1/users/${f.id}/follow`, { token: star.token }), 204);
    const check = (rows, what) => {
      const seen = rows.filter((r) => r.id in want);
      assert.equal(seen.length, 4, `${what}: ${JSON.stringify(rows)}`);
      for (const r of seen) assert.equal(r.avatar_url, want[r.id], `${what}: avatar_url of ${r.handle}`);
    };
    for (const limit of [1, 3, 100]) {
      check(await all(`/v1/users/${star.id}/followers`, undefined, limit), `followers limit ${limit}`);
      check(await all(`/v1/users/${star.id}/following`, star.token, limit), `following limit ${limit}`);
      check(await all('/v1/users?q=avl', star.token, limit), `search limit ${limit}`);
    }
    // the URLs are real: the variant is served
    assert.equal((await fetch(URL_BASE + m1.avatar_url)).status, 200);
    // removing the avatar shows null in the lists at once
    expectStatus(await api('PATCH', '/v1/me', { token: flow.token, body: { avatar_upload_id: null } }), 200);
    want[flow.id] = null;
    check(await all(`/v1/users/${star.id}/followers`, undefined, 100), 'followers after removal');
    check(await all('/v1/users?q=avl', star.token, 100), 'search after removal');
  } },
];
