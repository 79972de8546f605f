// Issue 15, item 15: handles that would pass for the platform (admin, vidzo, support,
// ...) cannot be claimed, at sign-up or by a later change, in any case and with '.' or
// '_' in between: 409 handle_reserved naming the handle. Ordinary handles that merely
// contain such a word stay available.
import { api, assert, expectError, expectStatus, newUser, unique } from '../lib.mjs';

const RESERVED = ['admin', 'Admin', 'ADMINISTRATOR', 'vidzo', 'VidZo', 'support', 'root', 'moderator', 'help', 'api',
  'www', 'staff', 'official', 'system', 'null', 'ad.min', 'v_i_d_z_o', 'Sup.port'];

export default [
  { name: 'issue 15: reserved handles are refused at sign-up and on change, case and separators ignored', fn: async () => {
    for (const handle of RESERVED) {
      const email = `${unique('rh')}@e2e.test`;
      expectError(await api('POST', '/v1/auth/signup', { body: { email, password: 'Sunny-day-2026', handle } }),
        409, 'handle_reserved', 'handle');
    }
    const u = await newUser();
    for (const handle of RESERVED)
      expectError(await api('PATCH', '/v1/me', { token: u.token, body: { handle } }), 409, 'handle_reserved', 'handle');
    assert.equal((await api('GET', '/v1/me', { token: u.token })).json.data.handle, u.handle);
    // a word inside a longer handle is fine
    const mine = `admin${unique('').slice(-8)}`;
    assert.equal(expectStatus(await api('PATCH', '/v1/me', { token: u.token, body: { handle: mine } }), 200).json.data.handle, mine);
  } },
];
