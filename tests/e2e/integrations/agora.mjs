// agora.mjs: `vidzo agora` prints the same AccessToken2 ("007") tokens as Agora's official
// npm agora-token 2.0.6 across roles, uid forms (0, numbers, string accounts) and
// expiries: the token's content (signature + signed fields, what Agora checks) byte for
// byte, and the whole string wherever the two deflaters agree. They do not always: Node 20
// bundles Chromium's zlib fork (process.versions.zlib 1.3.1-e00f703), whose SIMD hashing
// picks other matches than Debian's zlib 1.2.13 for some inputs; both streams inflate to
// the same bytes and Agora inflates before it checks (its Go, Python and C++ builders
// differ from one another the same way). The published AgoraIO/Tools vectors come out
// identical, whole string, in both (and in tests/unit/integrations/agora_test.c), and
// every npm token re-deflated by Debian's zlib (python3's zlib module, default level, as
// Node's deflateSync) is our token, whole string; Agora's own decoder reads our tokens and verifies their
// signature; `vidzo agora webhook-check` accepts a body signed the way Agora documents
// (hex HMAC-SHA1 in Agora-Signature, hex HMAC-SHA256 in Agora-Signature-V2) and refuses a
// changed body, a wrong secret or a missing header. The official builders pick the issue
// time from the clock and the salt from Math.random; the oracle fixes both by stubbing
// them, so the token comes from RtcTokenBuilder2 / RtmTokenBuilder2 themselves.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { story, assert } from '../lib.mjs';
import { BIN } from '../core/core_net.mjs';

const require = createRequire(import.meta.url);
const { RtcTokenBuilder, RtcRole, RtmTokenBuilder } = require('agora-token');
// REAL-PARTS.md: the main entry does not export AccessToken2
const { AccessToken2, ServiceRtc } = require('agora-token/src/AccessToken2');

const APP_ID = '970CA35de60c44645bbae8a215061b33';
const CERT = '5CFd2fd1755d40ecb72977518be15d3b';

const vidzo = (args, opts = {}) => spawnSync(BIN, ['agora', ...args], { encoding: 'utf8', timeout: 10000,
  env: { ...process.env, VIDZO_AGORA_APP_ID: '', VIDZO_AGORA_APP_CERTIFICATE: '', ...(opts.env || {}) },
  input: opts.input });

// Runs fn with Date and Math.random fixed so AccessToken2 sees issueTs = issued and
// salt = salt (salt = floor(random * 99999999) + 1).
function fixed(issued, salt, fn) {
  const getTime = Date.prototype.getTime, random = Math.random;
  Date.prototype.getTime = () => issued * 1000;
  Math.random = () => (salt - 1 + 0.5) / 99999999;
  try { return fn(); } finally { Date.prototype.getTime = getTime; Math.random = random; }
}

function cliRtc(c) {
  const args = ['rtc-token', '--app-id', c.appId || APP_ID, '--app-certificate', c.cert || CERT, '--channel', c.channel,
    '--role', c.role, '--expire', String(c.expire), '--issued-at', String(c.issued), '--salt', String(c.salt)];
  if (c.account !== undefined) args.push('--account', c.account); else args.push('--uid', String(c.uid));
  if (c.priv !== undefined) args.push('--privilege-expire', String(c.priv));
  const r = vidzo(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  assert.ok(r.stdout.endsWith('\n'));
  return r.stdout.slice(0, -1);
}

function npmRtc(c) {
  const role = c.role === 'publisher' ? RtcRole.PUBLISHER : RtcRole.SUBSCRIBER;
  const priv = c.priv === undefined ? c.expire : c.priv; // our default: as long as the token
  return fixed(c.issued, c.salt, () => c.account !== undefined
    ? RtcTokenBuilder.buildTokenWithUserAccount(c.appId || APP_ID, c.cert || CERT, c.channel, c.account, role, c.expire, priv)
    : RtcTokenBuilder.buildTokenWithUid(c.appId || APP_ID, c.cert || CERT, c.channel, c.uid, role, c.expire, priv));
}

// A small deterministic generator, so a failure names a case that reruns the same.
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&()+-:;<=.>?@[]^_{|}~,';

// The content of a token: what the deflate stream holds.
const content = (tok) => inflateSync(Buffer.from(tok.slice(3), 'base64'));
let whole = 0, compared = 0;
const pending = [];
function sameToken(ours, theirs, what) {
  assert.ok(ours.startsWith('007') && theirs.startsWith('007'), what);
  assert.deepEqual(content(ours), content(theirs), what); // Buffers: byte for byte
  compared++;
  if (ours === theirs) whole++;
  pending.push({ ours, content: content(theirs).toString('hex'), what });
}
// npm's token contents deflated by the system zlib, in one python3 run: each must be ours.
function sameWithStockZlib() {
  const py = 'import sys,json,zlib,base64\n'
    + 'print(json.dumps(["007"+base64.b64encode(zlib.compress(bytes.fromhex(h))).decode() for h in json.load(sys.stdin)]))';
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', input: JSON.stringify(pending.map((p) => p.content)) });
  assert.equal(r.status, 0, r.stderr);
  const toks = JSON.parse(r.stdout);
  pending.forEach((p, i) => assert.equal(p.ours, toks[i], p.what));
  const n = pending.length;
  pending.length = 0;
  return n;
}

story('rtc-token equals agora-token 2.0.6 byte for byte (content) across roles, uid forms and expiries', async () => {
  const cases = [
    { channel: '7d72365eb983485397e3e3f9d460bdda', uid: 2882341273, role: 'subscriber', expire: 600, priv: 600, issued: 1111111, salt: 1 },
    { channel: 'vz-stream-1', uid: 0, role: 'publisher', expire: 3600, issued: 1764768000, salt: 99999999 },
    { channel: 'vz-stream-1', uid: 0, role: 'subscriber', expire: 3600, issued: 1764768000, salt: 12345678 },
    { channel: 'vz-stream-1', uid: 4294967295, role: 'publisher', expire: 86400, priv: 0, issued: 4294967295, salt: 2 },
    { channel: 'vz-stream-1', uid: 1, role: 'publisher', expire: 1, priv: 1, issued: 1, salt: 1 },
    { channel: 'room 42', account: 'alice', role: 'publisher', expire: 7200, priv: 300, issued: 1764768000, salt: 4242 },
    { channel: 'room 42', account: 'bob the viewer', role: 'subscriber', expire: 7200, priv: 86400, issued: 1764768000, salt: 4243 },
    { channel: 'x'.repeat(64), account: 'y'.repeat(255), role: 'publisher', expire: 86400, issued: 1764768000, salt: 7 },
    { channel: '!#$%&()+-:;<=.>?@[]^_{|}~,', account: '!#$%&()+-:;<=.>?@[]^_{|}~,', role: 'subscriber', expire: 60, issued: 1700000000, salt: 50000000 },
    { channel: 'c', uid: 12345, role: 'publisher', expire: 600, issued: 1700000000, salt: 1, appId: 'ABCDEF0123456789abcdef0123456789', cert: 'fedcba9876543210FEDCBA9876543210' },
  ];
  const r = rng(18400);
  for (let i = 0; i < 120; i++) {
    const pick = (n) => Math.floor(r() * n);
    const str = (max) => Array.from({ length: 1 + pick(max) }, () => CHARS[pick(CHARS.length)]).join('');
    const c = { channel: str(64), role: r() < 0.5 ? 'publisher' : 'subscriber', expire: 1 + pick(86400),
      issued: 1 + pick(2 ** 32 - 1), salt: 1 + pick(99999999) };
    if (r() < 0.4) c.account = str(255);
    else c.uid = r() < 0.1 ? 0 : pick(2 ** 32);
    if (r() < 0.7) c.priv = pick(3) === 0 ? 0 : pick(2 * 86400);
    cases.push(c);
  }
  for (const c of cases) {
    const want = npmRtc(c);
    assert.ok(want.startsWith('007'), `npm refused ${JSON.stringify(c)}`);
    sameToken(cliRtc(c), want, JSON.stringify(c));
  }
  // the one vector AgoraIO/Tools publishes, once more straight through AccessToken2
  const t = new AccessToken2(APP_ID, CERT, 1111111, 600);
  t.salt = 1;
  const s = new ServiceRtc('7d72365eb983485397e3e3f9d460bdda', 2882341273);
  s.add_privilege(ServiceRtc.kPrivilegeJoinChannel, 600);
  t.add_service(s);
  assert.equal(cliRtc(cases[0]), t.build());
  assert.equal(cliRtc(cases[0]), npmRtc(cases[0]), 'the published vector, whole string');
  const stock = sameWithStockZlib();
  console.log(`  ${cases.length} rtc tokens: content identical in all, whole string in ${whole} of ${compared}`
    + ` as npm deflates, in ${stock} of ${stock} as Debian's zlib deflates npm's content`);
});

story('rtm-token equals agora-token 2.0.6 byte for byte (content)', async () => {
  const cases = [
    { user: 'test_user', expire: 600, issued: 1111111, salt: 1 },
    { user: '42', expire: 86400, issued: 1764768000, salt: 99999999 },
    { user: 'u'.repeat(64), expire: 1, issued: 4294967295, salt: 31337 },
    { user: 'with space & symbols!', expire: 3600, issued: 1700000000, salt: 8 },
  ];
  for (const c of cases) {
    const want = fixed(c.issued, c.salt, () => RtmTokenBuilder.buildToken(APP_ID, CERT, c.user, c.expire));
    const r = vidzo(['rtm-token', '--app-id', APP_ID, '--app-certificate', CERT, '--user', c.user, '--expire',
      String(c.expire), '--issued-at', String(c.issued), '--salt', String(c.salt)]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.endsWith('\n'));
    sameToken(r.stdout.slice(0, -1), want, JSON.stringify(c));
  }
  sameWithStockZlib();
});

story('Agora\'s decoder reads our tokens; ours reads theirs; random salt and now by default', async () => {
  // credentials from the environment, so the certificate is not in argv
  const env = { VIDZO_AGORA_APP_ID: APP_ID, VIDZO_AGORA_APP_CERTIFICATE: CERT };
  const before = Math.floor(Date.now() / 1000);
  const r = vidzo(['rtc-token', '--channel', 'live', '--account', 'host-7', '--role', 'publisher', '--expire', '900'], { env });
  assert.equal(r.status, 0, r.stderr);
  const tok = r.stdout.trim();
  const parsed = new AccessToken2();
  assert.ok(parsed.from_string(tok));
  assert.ok(parsed.verifySignature(CERT));
  assert.ok(!parsed.verifySignature('5CFd2fd1755d40ecb72977518be15d3c'));
  assert.equal(parsed.appId.toString(), APP_ID);
  assert.equal(parsed.expire, 900);
  assert.ok(parsed.issueTs >= before && parsed.issueTs <= before + 5, `issued ${parsed.issueTs}`);
  assert.ok(parsed.salt >= 1 && parsed.salt <= 99999999);
  const rtc = parsed.getServices(1)[0];
  assert.equal(rtc.__channel_name.toString(), 'live');
  assert.equal(rtc.__uid.toString(), 'host-7');
  assert.deepEqual(rtc.__privileges, { 1: 900, 2: 900, 3: 900, 4: 900 });
  const again = vidzo(['rtc-token', '--channel', 'live', '--account', 'host-7', '--role', 'publisher', '--expire', '900'], { env });
  assert.notEqual(again.stdout, r.stdout, 'two tokens share a salt');
  // and `vidzo agora decode` reads an npm-built one
  const theirs = fixed(1764768000, 777, () => RtcTokenBuilder.buildTokenWithUid(APP_ID, CERT, 'ch', 99, RtcRole.SUBSCRIBER, 600, 60));
  const d = vidzo(['decode', theirs, '--app-certificate', CERT]);
  assert.equal(d.status, 0, d.stderr);
  assert.deepEqual(JSON.parse(d.stdout), { app_id: APP_ID, issued_at: 1764768000, expire: 600, salt: 777,
    rtc: { channel: 'ch', uid: '99', privileges: { join_channel: 60 } }, signature_valid: true });
  assert.equal(vidzo(['decode', theirs, '--app-certificate', '5CFd2fd1755d40ecb72977518be15d3c']).status, 1);
  assert.equal(vidzo(['decode', '007notatoken']).status, 1);
});

story('vidzo agora refuses bad usage with exit 2 and names the problem', async () => {
  const base = ['--app-id', APP_ID, '--app-certificate', CERT, '--channel', 'c', '--expire', '60'];
  const cases = [
    [['rtc-token', ...base, '--uid', '1', '--role', 'host'], /--role must be publisher or subscriber/],
    [['rtc-token', ...base, '--role', 'publisher'], /one of --uid or --account/],
    [['rtc-token', ...base, '--uid', '1', '--account', 'a', '--role', 'publisher'], /one of --uid or --account/],
    [['rtc-token', ...base, '--uid', '4294967296', '--role', 'publisher'], /--uid must be/],
    [['rtc-token', ...base, '--uid', 'abc', '--role', 'publisher'], /--uid must be/],
    [['rtc-token', '--app-id', 'short', '--app-certificate', CERT, '--channel', 'c', '--uid', '1', '--role', 'publisher',
      '--expire', '60'], /app id must be 32 hex/],
    [['rtc-token', '--app-id', APP_ID, '--app-certificate', 'g'.repeat(32), '--channel', 'c', '--uid', '1', '--role',
      'publisher', '--expire', '60'], /app certificate must be 32 hex/],
    [['rtc-token', '--app-id', APP_ID, '--app-certificate', CERT, '--channel', 'a/b', '--uid', '1', '--role',
      'publisher', '--expire', '60'], /channel must be/],
    [['rtc-token', '--app-id', APP_ID, '--app-certificate', CERT, '--channel', 'c', '--uid', '1', '--role',
      'publisher', '--expire', '0'], /--expire must be/],
    [['rtc-token', ...base, '--uid', '1', '--role', 'publisher', '--salt', '0'], /--salt must be 1-99999999/],
    [['rtc-token', ...base, '--uid', '1', '--role', 'publisher', '--bogus', '1'], /unknown flag '--bogus'/],
    [['rtc-token', ...base, '--uid'], /needs a value/],
    [['rtc-token', '--channel', 'c', '--uid', '1', '--role', 'publisher', '--expire', '60'], /--app-id is required/],
    [['rtm-token', '--app-id', APP_ID, '--app-certificate', CERT, '--expire', '60'], /--user is required/],
    [['rtm-token', ...base, '--user', 'u'], /rtm-token takes --user/],
    [['frob'], /unknown command 'frob'/],
  ];
  for (const [args, re] of cases) {
    const r = vidzo(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status} ${r.stdout}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes(CERT), 'the certificate is echoed back');
  }
  assert.equal(vidzo([]).status, 2);
  const help = vidzo(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /rtc-token/);
});

// Agora Notifications, "verify the signature": hex HMAC/SHA1 and HMAC/SHA256 of the raw body.
const sign = (algo, secret, body) => createHmac(algo, secret).update(body).digest('hex');

story('webhook-check accepts Agora\'s signatures of the raw body and refuses anything else', async () => {
  const secret = 'whsec-e2e-8f3a';
  const env = { VIDZO_AGORA_WEBHOOK_SECRET: secret };
  const body = '{"noticeId":"2000001428:4330:107","productId":1,"eventType":103,"notifyMs":1611566412672,'
    + '"sid":"C866467GVJJ54687","payload":{"channelName":"vz-s-42","uid":12121212,"platform":1,'
    + '"clientSeq":1625051030746,"ts":1560396843}}';
  const v1 = sign('sha1', secret, body), v2 = sign('sha256', secret, body);
  const check = (args, input, e = env) => vidzo(['webhook-check', ...args], { input, env: e });
  const ok = check(['--signature', v1, '--signature-v2', v2], body);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { notice_id: '2000001428:4330:107', product_id: 1, event_type: 103,
    notify_ms: 1611566412672, channel: 'vz-s-42', uid: 12121212, account: '', client_seq: 1625051030746, ts: 1560396843 });
  assert.equal(check(['--signature-v2', v2], body).status, 0, 'V2 alone');
  assert.equal(check(['--signature', v1], body).status, 0, 'V1 alone');
  assert.equal(check(['--signature-v2', v2.toUpperCase()], body).status, 0, 'hex case');
  // Agora's documentation example, its published digests
  const doc = '{"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f","notifyMs":1560408533119,'
    + '"payload":{"a":"1","b":2},"productId":1}';
  assert.equal(check(['--signature', '5a3bb6a6d9fad2ea9ae3fb707a14c9d7f3136df1', '--signature-v2',
    'de96da5acf03b0021ac3b4fa2225e7ae6f3533a30d50bb02c08ea4fa748bda24'], doc,
  { VIDZO_AGORA_WEBHOOK_SECRET: 'secret' }).status, 0);
  const refused = [
    [['--signature', v1, '--signature-v2', v2], body.replace('12121212', '12121213'), env, 'changed body'],
    [['--signature', v1, '--signature-v2', v2], body + ' ', env, 'trailing byte'],
    [['--signature', v1, '--signature-v2', v2], body, { VIDZO_AGORA_WEBHOOK_SECRET: 'other' }, 'wrong secret'],
    [[], body, env, 'no header'],
    [['--signature', v1, '--signature-v2', sign('sha256', 'other', body)], body, env, 'one good, one bad'],
    [['--signature-v2', v1], body, env, 'SHA1 in the V2 header'],
    [['--signature-v2', v2.slice(0, 63)], body, env, 'truncated'],
  ];
  for (const [args, input, e, why] of refused) {
    const r = check(args, input, e);
    assert.equal(r.status, 1, why);
    assert.match(r.stderr, /webhook refused: signature missing or wrong/, why);
    assert.ok(!r.stderr.includes(e.VIDZO_AGORA_WEBHOOK_SECRET), 'secret echoed');
  }
  // signed but not an Agora event
  const junk = '{"hello":1}';
  const bad = check(['--signature-v2', sign('sha256', secret, junk)], junk);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /malformed/);
  assert.equal(check(['--signature', v1], body, {}).status, 2, 'no secret configured');
});

story('start-up refuses half-set or malformed Agora credentials, naming the setting, not its value', async () => {
  const cases = [
    [{ VIDZO_AGORA_APP_ID: APP_ID }, /VIDZO_AGORA_APP_CERTIFICATE is not set/],
    [{ VIDZO_AGORA_APP_CERTIFICATE: CERT }, /VIDZO_AGORA_APP_ID is not set/],
    [{ VIDZO_AGORA_APP_ID: APP_ID, VIDZO_AGORA_APP_CERTIFICATE: 'x'.repeat(32) }, /VIDZO_AGORA_APP_CERTIFICATE must be 32 hex/],
    [{ VIDZO_AGORA_APP_ID: APP_ID, VIDZO_AGORA_APP_CERTIFICATE: CERT, VIDZO_AGORA_TOKEN_EXPIRE: '86401' }, /VIDZO_AGORA_TOKEN_EXPIRE/],
  ];
  for (const [env, re] of cases) {
    // `vidzo routes` runs the services' init, as serve does, and touches no files
    const r = spawnSync(BIN, ['routes'], { encoding: 'utf8', timeout: 20000,
      env: { ...process.env, VIDZO_AGORA_APP_ID: '', VIDZO_AGORA_APP_CERTIFICATE: '', ...env } });
    assert.notEqual(r.status, 0, JSON.stringify(env));
    assert.match(r.stderr, re, r.stderr);
    assert.ok(!(r.stderr + r.stdout).includes(CERT), 'certificate logged');
  }
});

story('start-up accepts a complete Agora configuration', async () => {
  const r = spawnSync(BIN, ['routes'], { encoding: 'utf8', timeout: 20000, env: { ...process.env,
    VIDZO_AGORA_APP_ID: APP_ID, VIDZO_AGORA_APP_CERTIFICATE: CERT, VIDZO_AGORA_WEBHOOK_SECRET: 's' } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!(r.stderr + r.stdout).includes(CERT), 'certificate logged');
});
