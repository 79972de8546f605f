// streams/agora.mjs: going live from an Agora app. POST /v1/streams/:id/token issues the
// host a publisher token and a viewer a subscriber token for channel vz-s-<id> (compared
// with npm agora-token 2.0.6 rebuilding the same token from its issue time and salt:
// the signed content byte for byte); Agora's channel-event webhooks, signed the way
// Agora documents (hex HMAC-SHA1 in Agora-Signature, hex HMAC-SHA256 in
// Agora-Signature-V2), move the stream live, start the grace, resume, end it; repeats
// and stale events change nothing; bad signatures are 401.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { story, api, expectStatus, expectError, assert, newUser, withServer, sleep, unique } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { RtcTokenBuilder, RtcRole, RtmTokenBuilder } = require('agora-token');

const APP_ID = '970CA35de60c44645bbae8a215061b33', CERT = '5CFd2fd1755d40ecb72977518be15d3b', SECRET = 'whsec-e2e-streams';
const ENV = { VIDZO_AGORA_APP_ID: APP_ID, VIDZO_AGORA_APP_CERTIFICATE: CERT, VIDZO_AGORA_WEBHOOK_SECRET: SECRET,
  VIDZO_AGORA_TOKEN_EXPIRE: '1800' };

function fixed(issued, salt, fn) { // AccessToken2 takes its issue time from the clock and its salt from Math.random
  const getTime = Date.prototype.getTime, random = Math.random;
  Date.prototype.getTime = () => issued * 1000;
  Math.random = () => (salt - 1 + 0.5) / 99999999;
  try { return fn(); } finally { Date.prototype.getTime = getTime; Math.random = random; }
}
const content = (t) => inflateSync(Buffer.from(t.slice(3), 'base64'));
const decode = (t) => JSON.parse(execFileSync(process.env.VZ_TEST_BIN, ['agora', 'decode', t, '--app-certificate', CERT], { encoding: 'utf8' }));

let seq = 0;
async function hook(url, body, { secret = SECRET, v1 = true, v2 = true } = {}) {
  const raw = JSON.stringify(body);
  const headers = { 'content-type': 'application/json' };
  if (v1) headers['Agora-Signature'] = createHmac('sha1', secret).update(raw).digest('hex');
  if (v2) headers['Agora-Signature-V2'] = createHmac('sha256', secret).update(raw).digest('hex');
  return api('POST', '/v1/streams/agora/webhook', { base: url, raw, headers });
}
const event = (id, type, account, extra = {}) => ({ noticeId: unique('n'), productId: 1, eventType: type, notifyMs: Date.now(),
  payload: { channelName: `vz-s-${id}`, uid: 0, account, clientSeq: ++seq, ts: Math.floor(Date.now() / 1000), ...extra } });
const show = async (url, id) => expectStatus(await api('GET', `/v1/streams/${id}`, { base: url }), 200).json.data;

story('Agora tokens: publisher for the host, subscriber for a viewer, the same signed content as npm agora-token', async () => {
  await withServer({ args: ['--dev'], env: ENV }, async ({ url, dir }) => {
    const host = await newUser('ah', { base: url, dataDir: dir }), viewer = await newUser('av', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'agora' } }), 201).json.data;
    for (const [who, role] of [[host, 'publisher'], [viewer, 'subscriber']]) {
      const t = expectStatus(await api('POST', `/v1/streams/${s.id}/token`, { base: url, token: who.token }), 200).json.data;
      assert.equal(t.app_id, APP_ID);
      assert.equal(t.channel, `vz-s-${s.id}`);
      assert.equal(t.account, `u${who.id}`);
      assert.equal(t.role, role);
      const d = decode(t.rtc_token);
      assert.equal(d.signature_valid, true);
      assert.equal(d.expire, 1800);
      assert.equal(d.rtc.privileges.join_channel, 0, 'privileges as long as the token (VIDZO_AGORA_PRIVILEGE_EXPIRE unset)');
      assert.equal(Math.abs(Date.parse(t.expires_at) / 1000 - (d.issued_at + 1800)) < 2, true);
      assert.deepEqual(Object.keys(d.rtc.privileges).sort(), role === 'publisher'
        ? ['join_channel', 'publish_audio', 'publish_data', 'publish_video'] : ['join_channel']);
      const npm = fixed(d.issued_at, d.salt, () => RtcTokenBuilder.buildTokenWithUserAccount(APP_ID, CERT, t.channel, t.account,
        role === 'publisher' ? RtcRole.PUBLISHER : RtcRole.SUBSCRIBER, 1800, d.rtc.privileges.join_channel));
      assert.deepEqual(content(t.rtc_token), content(npm), 'the signed content is npm agora-token\'s, byte for byte');
      const r = decode(t.rtm_token);
      const npmRtm = fixed(r.issued_at, r.salt, () => RtmTokenBuilder.buildToken(APP_ID, CERT, t.account, 1800));
      assert.deepEqual(content(t.rtm_token), content(npmRtm));
    }
    // the uid form, and a renewal is one more call
    const u = expectStatus(await api('POST', `/v1/streams/${s.id}/token`, { base: url, token: viewer.token, body: { uid: 4242 } }), 200).json.data;
    assert.equal(u.uid, 4242);
    assert.equal(u.account, null);
    assert.equal(decode(u.rtc_token).rtc.uid, '4242');
    expectError(await api('POST', `/v1/streams/${s.id}/token`, { base: url, token: viewer.token, body: { uid: 0 } }), 400, 'invalid_argument', 'uid');
    expectError(await api('POST', `/v1/streams/${s.id}/token`, { base: url }), 401, 'unauthenticated');
    expectError(await api('POST', '/v1/streams/123456789/token', { base: url, token: viewer.token }), 404, 'not_found');
    const f = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'fans', visibility: 'followers' } }), 201).json.data;
    expectError(await api('POST', `/v1/streams/${f.id}/token`, { base: url, token: viewer.token }), 404, 'not_found');
    expectStatus(await api('DELETE', `/v1/streams/${f.id}`, { base: url, token: host.token }), 200);
    expectError(await api('POST', `/v1/streams/${f.id}/token`, { base: url, token: host.token }), 409, 'conflict');
  });
});

story('Agora webhooks move the stream like the RTMP hooks: joined -> live, left -> grace, back -> same session, destroyed -> ended', async () => {
  await withServer({ args: ['--dev', '--stream-grace', '3'], env: ENV }, async ({ url, dir }) => {
    const host = await newUser('ah', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'agora live' } }), 201).json.data;
    const acc = `u${host.id}`;
    // signatures: both, either one, none, wrong, a changed body
    expectError(await hook(url, event(s.id, 103, acc), { v1: false, v2: false }), 401, 'bad_signature');
    expectError(await hook(url, event(s.id, 103, acc), { secret: 'wrong' }), 401, 'bad_signature');
    const ev = event(s.id, 103, acc);
    const raw = JSON.stringify(ev);
    const bad = await api('POST', '/v1/streams/agora/webhook', { base: url, raw: `${raw} `, headers: {
      'content-type': 'application/json', 'Agora-Signature': createHmac('sha1', SECRET).update(raw).digest('hex') } });
    expectError(bad, 401, 'bad_signature');
    assert.equal((await show(url, s.id)).status, 'scheduled', 'nothing moved on a refused notice');
    // someone else's account joining as broadcaster changes nothing
    expectStatus(await hook(url, event(s.id, 103, 'u1')), 200);
    assert.equal((await show(url, s.id)).status, 'scheduled');
    // the host joins: live (v2 alone is enough)
    expectStatus(await hook(url, ev, { v1: false }), 200);
    const live = await show(url, s.id);
    assert.equal(live.status, 'live');
    // the same notice again (Agora resends): nothing more
    expectStatus(await hook(url, ev, { v2: false }), 200);
    // leaves and comes back within the grace: one session
    expectStatus(await hook(url, event(s.id, 104, acc)), 200);
    await sleep(1000);
    const back = event(s.id, 103, acc);
    const stale = event(s.id, 104, acc, { clientSeq: 1 }); // an old "left" arriving late
    expectStatus(await hook(url, back), 200);
    expectStatus(await hook(url, stale), 200);
    await sleep(3500);
    const still = await show(url, s.id);
    assert.equal(still.status, 'live', 'resumed within the grace; the late stale event was ignored');
    assert.equal(still.started_at, live.started_at);
    const sessions = execFileSync('sqlite3', ['-cmd', '.timeout 5000', `${dir}/vidzo.db`, `SELECT count(*), max(reconnects), max(source) FROM stream_sessions WHERE stream_id = ${s.id}`]).toString().trim();
    assert.equal(sessions, '1|1|agora');
    // channel destroyed: ended
    expectStatus(await hook(url, event(s.id, 102, undefined)), 200);
    const ended = await show(url, s.id);
    assert.equal(ended.status, 'ended');
    // a notice about a channel that is not ours, or another product: 200, ignored
    const other = await hook(url, { noticeId: unique('n'), productId: 1, eventType: 103, notifyMs: Date.now(), payload: { channelName: 'lobby', uid: 3 } });
    assert.deepEqual(expectStatus(other, 200).json, { ignored: true });
    expectError(await hook(url, { hello: 1 }), 400, 'invalid_argument');
  });
});

story('Agora off: the token route answers 404 agora_disabled and the webhook 404', async () => {
  await withServer({ args: ['--dev'], env: { VIDZO_AGORA_APP_ID: '', VIDZO_AGORA_APP_CERTIFICATE: '', VIDZO_AGORA_WEBHOOK_SECRET: '' } }, async ({ url, dir }) => {
    const host = await newUser('ah', { base: url, dataDir: dir });
    const s = expectStatus(await api('POST', '/v1/streams', { base: url, token: host.token, body: { title: 'x' } }), 201).json.data;
    expectError(await api('POST', `/v1/streams/${s.id}/token`, { base: url, token: host.token }), 404, 'agora_disabled');
    expectError(await hook(url, event(s.id, 103, 'u1')), 404, 'not_found');
  });
});
