// streams/crud.mjs: the stream object's life by the API: create (the ingest key shown
// once), show, update, cancel, end, key rotation; only the host or an admin changes a
// stream; followers-only streams stay hidden; every refusal in the error envelope.
import { story, api, expectStatus, expectError, assert, newUser, asAdmin, unique, sleep, URL_BASE } from '../lib.mjs';
import { corpus, newUpload, putBytes } from '../media/media_support.mjs';

const inAnHour = () => new Date(Date.now() + 3600e3).toISOString();

story('a host creates a stream: 201 with the key once, scheduled, readable by anyone, the key never again', async () => {
  const host = await newUser('sh');
  const title = unique('Guitar night');
  const r = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: {
    title, description: 'chords', tags: ['Music', 'guitar', 'music', '#Live'], scheduled_at: inAnHour() } }), 201);
  const s = r.json.data;
  assert.match(s.stream_key, /^live_[A-Za-z0-9_-]{38}$/);
  assert.equal(s.status, 'scheduled');
  assert.equal(s.visibility, 'public');
  assert.deepEqual(s.tags, ['music', 'guitar', 'live'], 'tags lower-cased, de-duplicated, # dropped');
  assert.equal(s.host.id, host.id);
  assert.equal(s.hls_url, null);
  assert.match(s.ingest_url, /^rtmp:\/\/.+\/live$/);
  const anon = expectStatus(await api('GET', `/v1/streams/${s.id}`), 200).json.data;
  assert.equal(anon.title, title);
  assert.equal(anon.stream_key, undefined, 'the key is never shown again');
  assert.equal(anon.ingest_url, undefined, 'only the host is told where to push');
  const mine = expectStatus(await api('GET', `/v1/streams/${s.id}`, { token: host.token }), 200).json.data;
  assert.equal(mine.stream_key, undefined);
  const f = expectStatus(await api('GET', `/v1/streams/${s.id}?fields=id,status`), 200).json.data;
  assert.deepEqual(Object.keys(f).sort(), ['id', 'status']);
});

story('stream writes: bad input 400 naming the field, 401 without a token, 403 for others, 404 unknown', async () => {
  const host = await newUser('sh'), other = await newUser('so');
  const t = host.token;
  expectError(await api('POST', '/v1/streams', { token: t, body: {} }), 400, 'invalid_argument', 'title');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'x'.repeat(141) } }), 400, 'invalid_argument', 'title');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', visibility: 'secret' } }), 400, 'invalid_argument', 'visibility');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', scheduled_at: 'tomorrow' } }), 400, 'invalid_argument', 'scheduled_at');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', scheduled_at: '2001-01-01T00:00:00Z' } }), 400, 'invalid_argument', 'scheduled_at');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', tags: ['ok', 'no spaces!'] } }), 400, 'invalid_argument', 'tags');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', tags: Array(11).fill('t') } }), 400, 'invalid_argument', 'tags');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', category_id: '999999' } }), 400, 'invalid_argument', 'category_id');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', thumbnail_id: '../etc/passwd' } }), 400, 'invalid_argument', 'thumbnail_id');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', thumbnail_id: '123456789' } }), 400, 'invalid_argument', 'thumbnail_id');
  expectError(await api('POST', '/v1/streams', { token: t, body: { title: 'a', extra: 1 } }), 400, 'invalid_argument', 'extra');
  expectError(await api('POST', '/v1/streams', { body: { title: 'a' } }), 401, 'unauthenticated');
  const s = expectStatus(await api('POST', '/v1/streams', { token: t, body: { title: 'mine' } }), 201).json.data;
  for (const [m, p, body] of [['PATCH', '', { title: 'x' }], ['POST', '/end'], ['DELETE', ''], ['POST', '/key']]) {
    expectError(await api(m, `/v1/streams/${s.id}${p}`, { body }), 401, 'unauthenticated');
    expectError(await api(m, `/v1/streams/${s.id}${p}`, { token: other.token, body }), 403, 'forbidden');
    expectError(await api(m, `/v1/streams/123456789${p}`, { token: t, body }), 404, 'not_found');
  }
  expectError(await api('GET', '/v1/streams/123456789'), 404, 'not_found');
  expectError(await api('GET', '/v1/streams/abc'), 404);
  expectError(await api('PATCH', `/v1/streams/${s.id}`, { token: t, body: { title: '' } }), 400, 'invalid_argument', 'title');
  expectError(await api('GET', '/v1/streams?status=bogus'), 400, 'invalid_argument', 'status');
  expectError(await api('GET', '/v1/streams?host=abc'), 400, 'invalid_argument', 'host');
  expectError(await api('GET', '/v1/streams?q=%20!!'), 400, 'invalid_argument', 'q');
  expectError(await api('GET', '/v1/streams?following=true'), 401, 'unauthenticated');
  expectError(await api('GET', '/v1/streams?cursor=zzz'), 400, 'invalid_argument', 'cursor');
  expectError(await api('GET', '/v1/streams?status=cancelled'), 403, 'forbidden');
});

story('legal moves only: update and cancel a scheduled stream; end needs live; a cancelled one stays put', async () => {
  const host = await newUser('sh');
  const admin = (await asAdmin()).token;
  const s = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: 'plan', tags: ['a'] } }), 201).json.data;
  const when = inAnHour();
  const u = expectStatus(await api('PATCH', `/v1/streams/${s.id}`, { token: host.token, body: { title: 'plan b', scheduled_at: when, tags: ['b', 'c'], visibility: 'followers' } }), 200).json.data;
  assert.equal(u.title, 'plan b');
  assert.equal(u.scheduled_at, new Date(when).toISOString());
  assert.deepEqual(u.tags, ['b', 'c']);
  assert.equal(u.visibility, 'followers');
  assert.equal(u.description, '', 'fields not sent are kept');
  expectError(await api('POST', `/v1/streams/${s.id}/end`, { token: host.token }), 409, 'conflict', 'status');
  const k1 = expectStatus(await api('POST', `/v1/streams/${s.id}/key`, { token: host.token }), 200).json.data.stream_key;
  const k2 = expectStatus(await api('POST', `/v1/streams/${s.id}/key`, { token: admin }), 200).json.data.stream_key;
  assert.notEqual(k1, k2);
  assert.notEqual(k1, s.stream_key);
  const c = expectStatus(await api('DELETE', `/v1/streams/${s.id}`, { token: host.token }), 200).json.data;
  assert.equal(c.status, 'cancelled');
  expectError(await api('DELETE', `/v1/streams/${s.id}`, { token: host.token }), 409, 'conflict', 'status');
  expectError(await api('PATCH', `/v1/streams/${s.id}`, { token: host.token, body: { title: 'again' } }), 409, 'conflict');
  expectError(await api('POST', `/v1/streams/${s.id}/key`, { token: host.token }), 409, 'conflict');
  expectError(await api('POST', `/v1/streams/${s.id}/end`, { token: host.token }), 409, 'conflict');
  // an admin may cancel anyone's
  const s2 = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: 'admin cancels' } }), 201).json.data;
  expectStatus(await api('DELETE', `/v1/streams/${s2.id}`, { token: admin }), 200);
});

story('followers-only streams: shown to the host, followers and admins; 404 and absent from feeds for others', async () => {
  const host = await newUser('sh'), fan = await newUser('sf'), stranger = await newUser('ss');
  const admin = (await asAdmin()).token;
  expectStatus(await api('POST', `/v1/users/${host.id}/follow`, { token: fan.token }), 204);
  const tag = unique('vis').toLowerCase();
  const s = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: `secret ${tag}`, visibility: 'followers', tags: [tag] } }), 201).json.data;
  for (const who of [host.token, fan.token, admin]) expectStatus(await api('GET', `/v1/streams/${s.id}`, { token: who }), 200);
  expectError(await api('GET', `/v1/streams/${s.id}`), 404, 'not_found');
  expectError(await api('GET', `/v1/streams/${s.id}`, { token: stranger.token }), 404, 'not_found');
  expectError(await api('PATCH', `/v1/streams/${s.id}`, { token: stranger.token, body: { title: 'x' } }), 404, 'not_found');
  const feed = async (token) => expectStatus(await api('GET', `/v1/streams?q=${tag}`, { token }), 200).json.data.map((x) => x.id);
  assert.deepEqual(await feed(fan.token), [s.id]);
  assert.deepEqual(await feed(host.token), [s.id]);
  assert.deepEqual(await feed(undefined), []);
  assert.deepEqual(await feed(stranger.token), []);
});

story('a host who deletes the account or is suspended: planned streams are cancelled, a live one ends', async () => {
  const admin = (await asAdmin()).token;
  const a = await newUser('sd'), b = await newUser('ss');
  const sa = expectStatus(await api('POST', '/v1/streams', { token: a.token, body: { title: 'gone soon' } }), 201).json.data;
  const sb = expectStatus(await api('POST', '/v1/streams', { token: b.token, body: { title: 'suspended soon' } }), 201).json.data;
  expectStatus(await api('DELETE', '/v1/me', { token: a.token }), 204);
  assert.equal(expectStatus(await api('GET', `/v1/streams/${sa.id}`, { token: admin }), 200).json.data.status, 'cancelled');
  expectStatus(await api('POST', `/v1/admin/users/${b.id}/suspend`, { token: admin, body: { reason: 'tests', hours: 1 } }), 200);
  assert.equal(expectStatus(await api('GET', `/v1/streams/${sb.id}`, { token: admin }), 200).json.data.status, 'cancelled');
});

story('a chosen thumbnail is the host\'s stream_thumbnail upload, claimed by the stream; replacing it releases the old one', async () => {
  const host = await newUser('st'), other = await newUser('so');
  const up = async (u, purpose = 'stream_thumbnail') => {
    const x = await newUpload(u.token, corpus().png, { purpose, type: 'image/png' });
    assert.equal((await putBytes(x, corpus().png, { base: URL_BASE })).status < 300, true);
    expectStatus(await api('POST', `/v1/uploads/${x.id}/confirm`, { token: u.token }), 202);
    return x.id;
  };
  const a = await up(host), b = await up(host), theirs = await up(other), product = await up(host, 'product_image');
  expectError(await api('POST', '/v1/streams', { token: host.token, body: { title: 'x', thumbnail_id: theirs } }), 400, 'invalid_argument', 'thumbnail_id');
  expectError(await api('POST', '/v1/streams', { token: host.token, body: { title: 'x', thumbnail_id: product } }), 400, 'invalid_argument', 'thumbnail_id');
  const s = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: 'with a picture', thumbnail_id: a } }), 201).json.data;
  let url = s.thumbnail_url;
  for (let i = 0; !url && i < 100; i++) { await sleep(100); url = (await api('GET', `/v1/streams/${s.id}`, { token: host.token })).json.data.thumbnail_url; }
  assert.ok(url, 'the thumbnail URL appears once media has made its variants');
  expectError(await api('POST', '/v1/streams', { token: host.token, body: { title: 'y', thumbnail_id: a } }), 409);
  const u = expectStatus(await api('PATCH', `/v1/streams/${s.id}`, { token: host.token, body: { thumbnail_id: b } }), 200).json.data;
  assert.equal(u.title, 'with a picture');
  const cleared = expectStatus(await api('PATCH', `/v1/streams/${s.id}`, { token: host.token, body: { thumbnail_id: null } }), 200).json.data;
  assert.equal(cleared.thumbnail_url, null);
});
