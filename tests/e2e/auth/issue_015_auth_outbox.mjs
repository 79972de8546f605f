// Issue 15, item 9: a server started without --dev and without a mail/SMS sender (there is
// none yet) writes one-time codes to DATA_DIR/outbox and says so once at start, so a
// newcomer after `make run` can sign up. Also withServer, with which the other issue-15
// auth stories start a server of their own (VZ_TEST_BIN).
import { statSync } from 'node:fs';
import { api, assert, lastCode, unique, withServer } from '../lib.mjs';

const PV = 'Victim-pass-2026';

export default [
  { name: 'issue 15: without --dev and without a mail/SMS sender, codes go to DATA_DIR/outbox', timeout: 60000, fn: async () => {
    await withServer({}, async ({ url, dir, log }) => {
      assert.match(log(), /no mail\/SMS sender configured: one-time codes are written to DATA_DIR\/outbox/);
      const email = `${unique('nodev')}@e2e.test`;
      assert.equal((await api('POST', '/v1/auth/signup', { base: url, body: { email, password: PV } })).status, 202);
      const code = lastCode(email, 'verify_email', { dataDir: dir });
      assert.ok(code, 'no sign-up code in the outbox');
      assert.equal(statSync(`${dir}/outbox/otp.jsonl`).mode & 0o077, 0, 'the outbox file is private');
      const v = await api('POST', '/v1/auth/verify-email', { base: url, body: { email, code } });
      assert.equal(v.status, 200, v.text);
      assert.equal((await api('POST', '/v1/auth/signin', { base: url, body: { email, password: PV } })).status, 200);
      // password reset and SMS codes arrive the same way
      assert.equal((await api('POST', '/v1/auth/password/forgot', { base: url, body: { email } })).status, 202);
      assert.ok(lastCode(email, 'reset_password', { dataDir: dir }), 'no reset code in the outbox');
      const phone = `+4916${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
      assert.equal((await api('POST', '/v1/me/phone', { base: url, body: { phone }, token: v.json.data.access_token })).status, 202);
      assert.ok(lastCode(phone, `verify_phone:${v.json.data.user.id}`, { dataDir: dir, file: 'sms.jsonl' }), 'no SMS code in the outbox');
      assert.equal(log().match(/no mail\/SMS sender configured/g).length, 1, 'said once');
      assert.ok(!log().includes(code), 'a code reached the log');
    });
  } },
];
