// A phone number verified by SMS code: the dev sender writes DATA_DIR/outbox/sms.jsonl.
import { api, assert, expectError, expectStatus, lastCode, newUser } from '../lib.mjs';

// A phone code is bound to the account that asked for it (purpose verify_phone:<user id>).
const smsFor = (to, purpose, u) => lastCode(to, `${purpose}:${u.id}`, { file: 'sms.jsonl' });
const phoneNo = () => `+4915${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

export default [
  { name: 'phone: SMS code verifies the number; wrong codes stop after 5; taken number is 409', fn: async () => {
    const a = await newUser(), b = await newUser();
    const phone = phoneNo();
    expectStatus(await api('POST', '/v1/me/phone', { token: a.token, body: { phone } }), 202);
    const code = smsFor(phone, 'verify_phone', a);
    assert.match(code, /^\d{6}$/);
    assert.equal(lastCode(phone, `verify_phone:${a.id}`), null); // not in the email outbox
    expectError(await api('POST', '/v1/me/phone/verify', { token: a.token, body: { phone, code: code === '000000' ? '111111' : '000000' } }), 400, 'invalid_code', 'code');
    const ok = expectStatus(await api('POST', '/v1/me/phone/verify', { token: a.token, body: { phone, code } }), 200);
    assert.equal(ok.json.data.phone_verified, true);
    const me = expectStatus(await api('GET', '/v1/me', { token: a.token }), 200);
    assert.equal(me.json.data.phone, phone);
    assert.equal(me.json.data.phone_verified, true);
    // b asks for the same number: the code goes out, but verifying it is a conflict
    expectStatus(await api('POST', '/v1/me/phone', { token: b.token, body: { phone } }), 202);
    const code2 = smsFor(phone, 'verify_phone', b);
    expectError(await api('POST', '/v1/me/phone/verify', { token: b.token, body: { phone, code } }), 400, 'invalid_code'); // a's code is bound to a
    expectError(await api('POST', '/v1/me/phone/verify', { token: b.token, body: { phone, code: code2 } }), 409, 'conflict', 'phone');
    // brute force: five wrong guesses lock the code
    const p2 = phoneNo();
    expectStatus(await api('POST', '/v1/me/phone', { token: b.token, body: { phone: p2 } }), 202);
    const good = smsFor(p2, 'verify_phone', b);
    const wrong = good === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expectStatus(await api('POST', '/v1/me/phone/verify', { token: b.token, body: { phone: p2, code: wrong } }), 400);
    expectError(await api('POST', '/v1/me/phone/verify', { token: b.token, body: { phone: p2, code: good } }), 429, 'too_many_attempts');
  } },
  { name: 'phone: 400 names the field, 401 without a token', fn: async () => {
    const a = await newUser();
    expectError(await api('POST', '/v1/me/phone', { token: a.token, body: { phone: '015112345678' } }), 400, 'invalid_argument', 'phone');
    expectError(await api('POST', '/v1/me/phone', { token: a.token, body: {} }), 400, 'invalid_argument', 'phone');
    expectError(await api('POST', '/v1/me/phone/verify', { token: a.token, body: { phone: '+4915112345678', code: '12' } }), 400, 'invalid_argument', 'code');
    expectError(await api('POST', '/v1/me/phone', { body: { phone: '+4915112345678' } }), 401);
    expectError(await api('POST', '/v1/me/phone/verify', { body: { phone: '+4915112345678', code: '123456' } }), 401);
  } },
  { name: 'sign-in by SMS code: a verified number gets a session; unknown numbers look the same; codes are single-use', fn: async () => {
    const a = await newUser();
    const phone = phoneNo();
    expectStatus(await api('POST', '/v1/me/phone', { token: a.token, body: { phone } }), 202);
    expectStatus(await api('POST', '/v1/me/phone/verify', { token: a.token, body: { phone, code: smsFor(phone, 'verify_phone', a) } }), 200);
    const sent = expectStatus(await api('POST', '/v1/auth/sms/request', { body: { phone } }), 202);
    const code = lastCode(phone, 'signin', { file: 'sms.jsonl' });
    assert.match(code, /^\d{6}$/);
    // a number with no account gets the same answer and no code
    const stranger = phoneNo();
    const none = expectStatus(await api('POST', '/v1/auth/sms/request', { body: { phone: stranger } }), 202);
    assert.deepEqual(none.json, sent.json);
    assert.equal(lastCode(stranger, 'signin', { file: 'sms.jsonl' }), null);
    expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone, code: code === '000000' ? '111111' : '000000' } }), 400, 'invalid_code', 'code');
    const s = expectStatus(await api('POST', '/v1/auth/sms/verify', { body: { phone, code } }), 200);
    assert.equal(s.json.data.user.id, a.id);
    const me = expectStatus(await api('GET', '/v1/me', { token: s.json.data.access_token }), 200);
    assert.equal(me.json.data.id, a.id);
    expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone, code } }), 400, 'invalid_code'); // spent
    expectError(await api('POST', '/v1/auth/sms/request', { body: { phone: '12345' } }), 400, 'invalid_argument', 'phone');
    expectError(await api('POST', '/v1/auth/sms/verify', { body: { phone } }), 400, 'invalid_argument', 'code');
  } },
];
