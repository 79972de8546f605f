// Issue 15, auth: the account belongs to whoever proves the mailbox, and a factor a user
// turned on is never skipped.
//  - a provider sign-in (Google) that proves an email drops the password of the
//    unverified account someone pre-registered with it;
//  - a sign-up's password waits with its own code: a later sign-up cannot swap it;
//  - email and SMS sign-in codes still ask for the TOTP step under VIDZO_TOTP_OPTIONAL=1;
//  - one TOTP code signs in once, even from 8 parallel sign-ins.
// (Codes without --dev: issue_015_auth_outbox.mjs, which also starts the servers of
// another configuration that the Google story needs.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, assert, expectError, expectStatus, lastCode, newUser, unique, URL_BASE, withServer } from '../lib.mjs';
import { fakeGoogle, stepNow, totp } from './auth_support.mjs';

const PV = 'Victim-pass-2026', PA = 'Attacker-pass-2026';

// n identical requests that reach the server at the same moment: each on its own
// connection, all bytes but the last sent first, then the last bytes back to back (a
// sign-in with a fast test hash is over in well under a millisecond, so requests merely
// started together would run one after another). Resolves with [{ status, json }].
async function together(n, method, path, body) {
  const u = new URL(URL_BASE);
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
  })));
  const replies = socks.map((s) => new Promise((resolve) => {
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.on('close', () => {
      const [h, ...rest] = buf.split('\r\n\r\n');
      const text = rest.join('\r\n\r\n');
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      resolve({ status: Number((h.match(/^HTTP\/1\.1 (\d{3})/) || [])[1]), json, text });
    });
  }));
  for (const s of socks) s.write(head.slice(0, -1));
  await new Promise((r) => setTimeout(r, 200));
  for (const s of socks) s.write(head.slice(-1));
  return Promise.all(replies);
}


// Turns TOTP on for a signed-in user with the code of step `step`; returns the secret.
async function enableTotp(url, token, step) {
  const s = await api('POST', '/v1/auth/totp/setup', { base: url, body: {}, token });
  assert.equal(s.status, 200, s.text);
  const secret = s.json.data.secret;
  const e = await api('POST', '/v1/auth/totp/enable', { base: url, body: { code: totp(secret, step) }, token });
  assert.equal(e.status, 204, e.text);
  return secret;
}


export default [
  { name: 'issue 15: Google sign-in on a pre-registered unverified email drops the squatter\'s password', timeout: 60000, fn: async () => {
    const jwksDir = mkdtempSync(join(tmpdir(), 'vidzo-i15-jwks-'));
    const google = fakeGoogle(jwksDir);
    try {
      await withServer({ args: ['--dev'], env: { VIDZO_TOTP_OPTIONAL: '1', VIDZO_GOOGLE_CLIENT_IDS: 'e2e-client', VIDZO_GOOGLE_JWKS: google.path } }, async ({ url, dir }) => {
        const email = `${unique('victim')}@e2e.test`;
        // the attacker signs up with the victim's address and never verifies it
        assert.equal((await api('POST', '/v1/auth/signup', { base: url, body: { email, password: PA } })).status, 202);
        const squatCode = lastCode(email, 'verify_email', { dataDir: dir }); // mailed to the victim, unused
        assert.ok(squatCode);
        // the victim signs in with Google, which vouches for the address
        const tok = google.idToken({ sub: unique('g'), email, email_verified: true, name: 'Victim' });
        const g = await api('POST', '/v1/auth/oauth/google', { base: url, body: { id_token: tok } });
        assert.equal(g.status, 200, g.text);
        const me = await api('GET', '/v1/me', { base: url, token: g.json.data.access_token });
        assert.equal(me.json.data.email_verified, true);
        // the attacker's password no longer opens the account ...
        const s = await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PA } });
        assert.equal(s.status, 401, `the squatter's password still signs in: ${s.text}`);
        assert.equal(s.json.error.code, 'invalid_credentials');
        // ... and the sign-up code bound to it cannot bring it back
        const v = await api('POST', '/v1/auth/verify-email', { base: url, body: { email, code: squatCode } });
        assert.equal(v.status, 400, `a stale sign-up code still works: ${v.text}`);
        assert.equal((await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PA } })).status, 401);
        // the victim's Google session is untouched, and Google signs in again
        assert.equal((await api('GET', '/v1/me', { base: url, token: g.json.data.access_token })).status, 200);
        assert.equal((await api('POST', '/v1/auth/oauth/google', { base: url, body: { id_token: tok } })).status, 200);
        // the victim sets a password the normal way (reset by emailed code), and it works
        assert.equal((await api('POST', '/v1/auth/password/forgot', { base: url, body: { email } })).status, 202);
        const rc = lastCode(email, 'reset_password', { dataDir: dir });
        assert.equal((await api('POST', '/v1/auth/password/reset', { base: url, body: { email, code: rc, password: PV } })).status, 204);
        assert.equal((await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PV } })).status, 200);

        // a Google account of a user with TOTP on still asks for the TOTP step
        const step = stepNow();
        const u = await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PV } });
        const secret = await enableTotp(url, u.json.data.access_token, step - 1);
        const tok2 = google.idToken({ sub: JSON.parse(Buffer.from(tok.split('.')[1], 'base64url')).sub, email, email_verified: true });
        const ask = await api('POST', '/v1/auth/oauth/google', { base: url, body: { id_token: tok2 } });
        assert.equal(ask.status, 401, ask.text);
        assert.equal(ask.json.error.code, 'totp_required');
        assert.equal(ask.json.data, undefined);
        const ok = await api('POST', '/v1/auth/oauth/google', { base: url, body: { id_token: tok2, totp: totp(secret, step) } });
        assert.equal(ok.status, 200, ok.text);
      });
    } finally {
      rmSync(jwksDir, { recursive: true, force: true });
    }
  } },

  { name: 'issue 15: a later sign-up cannot swap the password an earlier code activates', fn: async () => {
    const email = `${unique('pend')}@e2e.test`;
    expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PV } }), 202);
    const victimCode = lastCode(email, 'verify_email');
    // an attacker signs up with the same unverified address moments later
    expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PA } }), 202);
    // before verification neither password signs in; the pending one is told to verify
    expectError(await api('POST', '/v1/auth/signin', { body: { email, password: PA } }), 403, 'email_not_verified');
    const v = await api('POST', '/v1/auth/verify-email', { body: { email, code: victimCode } });
    if (v.status === 200) {
      // the victim's code may only ever activate the victim's password
      expectError(await api('POST', '/v1/auth/signin', { body: { email, password: PA } }), 401, 'invalid_credentials');
    } else {
      // the newer sign-up retired the victim's code; signing up again gives a code bound to PV
      expectError(v, 400, 'invalid_code');
      expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PV } }), 202);
      expectStatus(await api('POST', '/v1/auth/verify-email', { body: { email, code: lastCode(email, 'verify_email') } }), 200);
    }
    expectError(await api('POST', '/v1/auth/signin', { body: { email, password: PA } }), 401, 'invalid_credentials');
    expectStatus(await api('POST', '/v1/auth/signin', { body: { email, password: PV } }), 200);
  } },

  { name: 'issue 15: each sign-up\'s code activates its own password, and only once', fn: async () => {
    const email = `${unique('bind')}@e2e.test`;
    expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PA } }), 202);
    const first = lastCode(email, 'verify_email');
    expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PV } }), 202);
    const second = lastCode(email, 'verify_email');
    assert.notEqual(first, second, 'the second sign-up got no code of its own');
    expectError(await api('POST', '/v1/auth/verify-email', { body: { email, code: first } }), 400, 'invalid_code');
    expectStatus(await api('POST', '/v1/auth/verify-email', { body: { email, code: second } }), 200);
    expectError(await api('POST', '/v1/auth/verify-email', { body: { email, code: second } }), 400, 'invalid_code');
    expectStatus(await api('POST', '/v1/auth/signin', { body: { email, password: PV } }), 200);
    expectError(await api('POST', '/v1/auth/signin', { body: { email, password: PA } }), 401, 'invalid_credentials');
    // the address is taken now: signing up again neither sends a code nor changes anything
    expectStatus(await api('POST', '/v1/auth/signup', { body: { email, password: PA } }), 202);
    assert.equal(lastCode(email, 'verify_email'), second);
    expectError(await api('POST', '/v1/auth/signin', { body: { email, password: PA } }), 401, 'invalid_credentials');
  } },

  { name: 'issue 15: email and SMS sign-in codes still ask for the TOTP step of a user who turned it on', fn: async () => {
    // the suite's server runs with VIDZO_TOTP_OPTIONAL=1, which must not matter here
    const u = await newUser('tf');
    const step = stepNow();
    const secret = await enableTotp(URL_BASE, u.token, step - 1);
    // by email code: asked for the TOTP step, no tokens; the code stays good for the retry
    expectStatus(await api('POST', '/v1/auth/otp/request', { body: { email: u.email } }), 202);
    const code = lastCode(u.email, 'signin');
    const ask = expectError(await api('POST', '/v1/auth/otp/verify', { body: { email: u.email, code } }), 401, 'totp_required', 'totp');
    assert.equal(ask.json.data, undefined, 'no tokens without the second factor');
    expectStatus(await api('POST', '/v1/auth/otp/verify', { body: { email: u.email, code, totp: totp(secret, step) } }), 200);
    // by SMS code, once the number is verified
    const phone = `+4915${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    expectStatus(await api('POST', '/v1/me/phone', { token: u.token, body: { phone } }), 202);
    expectStatus(await api('POST', '/v1/me/phone/verify', { token: u.token, body: { phone, code: lastCode(phone, `verify_phone:${u.id}`, { file: 'sms.jsonl' }) } }), 200);
    expectStatus(await api('POST', '/v1/auth/sms/request', { body: { phone } }), 202);
    const sms = lastCode(phone, 'signin', { file: 'sms.jsonl' });
    const ask2 = expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone, code: sms } }), 401, 'totp_required', 'totp');
    assert.equal(ask2.json.data, undefined, 'no tokens without the second factor');
    // an authenticator code already used does not pass, and it spends the texted code
    expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone, code: sms, totp: totp(secret, step) } }), 401, 'invalid_totp', 'totp');
    expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone, code: sms, totp: totp(secret, step + 1) } }), 400, 'invalid_code');
  } },

  { name: 'issue 15: a wrong TOTP code spends the emailed sign-in code, a right one then gets no session', fn: async () => {
    const u = await newUser('tw');
    const step = stepNow();
    const secret = await enableTotp(URL_BASE, u.token, step - 1);
    expectStatus(await api('POST', '/v1/auth/otp/request', { body: { email: u.email } }), 202);
    const code = lastCode(u.email, 'signin');
    // the step used to turn TOTP on is spent: refused, and the emailed code burns with it
    expectError(await api('POST', '/v1/auth/otp/verify', { body: { email: u.email, code, totp: totp(secret, step - 1) } }), 401, 'invalid_totp', 'totp');
    expectError(await api('POST', '/v1/auth/otp/verify', { body: { email: u.email, code, totp: totp(secret, step) } }), 400, 'invalid_code', 'code');
    // the refused request did not take the TOTP step: it still signs in with the password
    expectStatus(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password, totp: totp(secret, step) } }), 200);
  } },

  { name: 'issue 15: one TOTP code signs in once, even from 8 parallel sign-ins', timeout: 60000, fn: async () => {
    // The account is made by the CLI, which hashes at the production argon2id cost: its
    // password check takes long enough for all 8 sign-ins to read the account before any
    // of them records the used step (the test server's fast hash would serialise them).
    const u = { email: `${unique('tr')}@e2e.test`, password: 'Slow-hash-pass-2026' };
    const env = { ...process.env };
    delete env.VIDZO_PASSWORD_COST_FAST;
    const args = ['admin', 'create', '--email', u.email, '--password', u.password, '--log-level', 'error'];
    if (process.env.VZ_TEST_DB_URL) args.push('--db', process.env.VZ_TEST_DB_URL);
    if (process.env.VZ_TEST_DATA_DIR) args.push('--data-dir', process.env.VZ_TEST_DATA_DIR);
    execFileSync(process.env.VZ_TEST_BIN || 'build/debug/vidzo', args, { stdio: 'pipe', env });
    // signed in by emailed code, so the slow hash is not replaced by a fast one yet
    expectStatus(await api('POST', '/v1/auth/otp/request', { body: { email: u.email } }), 202);
    const first = expectStatus(await api('POST', '/v1/auth/otp/verify', { body: { email: u.email, code: lastCode(u.email, 'signin') } }), 200);
    const step = stepNow();
    const secret = await enableTotp(URL_BASE, first.json.data.access_token, step - 1);
    const body = JSON.stringify({ email: u.email, password: u.password, totp: totp(secret, step) });
    const all = await together(8, 'POST', '/v1/auth/signin', body);
    const statuses = all.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401, 401, 401, 401, 401, 401, 401], `statuses: ${statuses}`);
    for (const r of all) if (r.status === 401) assert.equal(r.json.error.code, 'invalid_totp');
    // the next step's code still works
    expectStatus(await api('POST', '/v1/auth/signin', { body: { email: u.email, password: u.password, totp: totp(secret, step + 1) } }), 200);
  } },

];
