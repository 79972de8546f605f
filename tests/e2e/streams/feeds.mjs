// streams/feeds.mjs: the discovery feeds of GET /v1/streams: scheduled soonest first,
// live by current viewers, ended newest first; category, host, following and q filters;
// cursor pages that neither skip nor repeat; fields= projection; visibility.
import { execFileSync } from 'node:child_process';
import { story, api, expectStatus, expectError, assert, newUser, asAdmin, unique, withServer } from '../lib.mjs';

const at = (h) => new Date(Date.now() + h * 3600e3).toISOString();
const ids = (r) => expectStatus(r, 200).json.data.map((s) => s.id);

async function all(path, token) {
  const out = [];
  let cursor;
  do {
    const r = expectStatus(await api('GET', `${path}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token }), 200);
    assert.ok(r.json.data.length <= 2);
    out.push(...r.json.data.map((s) => s.id));
    cursor = r.json.next_cursor;
  } while (cursor);
  return out;
}

story('scheduled feed: soonest first across pages; category, host, q and following narrow it; fields= projects', async () => {
  const admin = (await asAdmin()).token;
  const a = await newUser('fa'), b = await newUser('fb'), viewer = await newUser('fv');
  const tag = unique('t').toLowerCase();
  const cat = expectStatus(await api('POST', '/v1/categories', { token: admin, body: { name: unique('Cooking'), kind: 'stream' } }), 201).json.data.id;
  const mk = async (u, h, extra = {}) => expectStatus(await api('POST', '/v1/streams', { token: u.token, body: { title: `${tag} show ${h}`, tags: [tag], scheduled_at: at(h), ...extra } }), 201).json.data.id;
  const s3 = await mk(a, 3), s1 = await mk(b, 1, { category_id: cat }), s5 = await mk(a, 5, { category_id: cat }), s2 = await mk(b, 2), s4 = await mk(a, 4);
  assert.deepEqual(await all(`/v1/streams?status=scheduled&q=${tag}`), [s1, s2, s3, s4, s5], 'soonest first, page by page');
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=scheduled&category=${cat}&q=${tag}`)), [s1, s5]);
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=scheduled&category=${cat}`)), [s1, s5], 'category alone');
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=scheduled&host=${a.id}`)), [s3, s4, s5], 'host alone');
  assert.deepEqual(await all(`/v1/streams?host=${b.id}`), [s2, s1], 'no status: newest created first');
  assert.deepEqual(ids(await api('GET', `/v1/streams?q=${tag}%20show%205`)), [s5], 'every word must match');
  assert.deepEqual(ids(await api('GET', `/v1/streams?q=${tag.slice(0, -2)}`)).length, 5, 'words match as prefixes');
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=live&q=${tag}`)), [], 'none is live');
  expectStatus(await api('POST', `/v1/users/${b.id}/follow`, { token: viewer.token }), 204);
  assert.deepEqual(ids(await api('GET', `/v1/streams?following=true&status=scheduled`, { token: viewer.token })), [s1, s2]);
  assert.deepEqual(ids(await api('GET', `/v1/streams?following=true`, { token: (await newUser('fn')).token })), []);
  const proj = expectStatus(await api('GET', `/v1/streams?q=${tag}&fields=id,title,host`), 200).json.data;
  assert.deepEqual(Object.keys(proj[0]).sort(), ['host', 'id', 'title']);
  expectError(await api('GET', `/v1/streams?fields=nope`), 400, 'invalid_argument', 'fields');
  expectError(await api('GET', `/v1/streams?category=0`), 400, 'invalid_argument', 'category');
  // a cancelled stream leaves the feeds; its host still lists it
  expectStatus(await api('DELETE', `/v1/streams/${s3}`, { token: a.token }), 200);
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=scheduled&q=${tag}`, { token: viewer.token })), [s1, s2, s4, s5]);
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=cancelled&host=${a.id}`, { token: a.token })), [s3]);
  assert.deepEqual(ids(await api('GET', `/v1/streams?status=cancelled&host=${a.id}`, { token: admin })), [s3]);
  expectError(await api('GET', `/v1/streams?status=cancelled&host=${a.id}`, { token: b.token }), 403, 'forbidden');
});

story('a block between host and viewer hides the host\'s streams from feeds and by id', async () => {
  const host = await newUser('bh'), viewer = await newUser('bv');
  const tag = unique('b').toLowerCase();
  const s = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: 'blocked', tags: [tag] } }), 201).json.data.id;
  assert.deepEqual(ids(await api('GET', `/v1/streams?q=${tag}`, { token: viewer.token })), [s]);
  expectStatus(await api('POST', `/v1/users/${viewer.id}/block`, { token: host.token }), 204);
  assert.deepEqual(ids(await api('GET', `/v1/streams?q=${tag}`, { token: viewer.token })), []);
  expectError(await api('GET', `/v1/streams/${s}`, { token: viewer.token }), 404, 'not_found');
});

// Live and ended streams come from ingest (ingest.mjs pushes real encoders); here the
// order alone is checked, on a private SQLite server whose rows the story moves itself.
story('live feed by current viewers (ties newest first), ended feed newest first, pages stable', async () => {
  await withServer({ args: ['--dev'] }, async ({ url, dir }) => {
    const u = await newUser('lv', { base: url, dataDir: dir });
    const made = [];
    for (let i = 0; i < 6; i++) { // one live stream per host: six hosts
      const h = i ? await newUser('lv', { base: url, dataDir: dir }) : u;
      made.push(expectStatus(await api('POST', '/v1/streams', { base: url, token: h.token, body: { title: `s${i}` } }), 201).json.data.id);
    }
    const viewers = [50, 900, 50, 7, 0, 300];
    const sql = made.map((id, i) => i < 5
      ? `UPDATE streams SET status='live', viewers=${viewers[i]}, feed_pos=${viewers[i]}, started_at=1 WHERE id=${id};`
      : `UPDATE streams SET status='ended', started_at=1, ended_at=5, feed_pos=5 WHERE id=${id};`).join('');
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', `${dir}/vidzo.db`, sql]); // the server's writers may hold the lock a moment
    const page = async (q, cursor) => expectStatus(await api('GET', `/v1/streams?${q}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { base: url, token: u.token }), 200).json;
    const seen = [];
    let c;
    do { const r = await page('status=live', c); seen.push(...r.data.map((s) => [s.id, s.viewers])); c = r.next_cursor; } while (c);
    assert.deepEqual(seen, [[made[1], 900], [made[2], 50], [made[0], 50], [made[3], 7], [made[4], 0]]);
    assert.deepEqual((await page('status=ended')).data.map((s) => s.id), [made[5]]);
    const anon = expectStatus(await api('GET', '/v1/streams?status=live&limit=1', { base: url }), 200).json;
    assert.equal(anon.data[0].id, made[1]);
    assert.equal(anon.data[0].hls_url.endsWith(`/hls/${made[1]}/index.m3u8`), true);
  });
});
