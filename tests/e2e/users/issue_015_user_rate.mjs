// Issue 15, item 14: follows were limited per IP, so everyone behind one NAT address
// shared 60 a minute. Signed-in actions now count per user (VZ_RATE_USER): two users on
// the same address each get their own budget, and one user past theirs gets 429 with
// Retry-After while the other goes on. (All stories run from 127.0.0.1: one address.)
import { api, assert, expectStatus, newUser } from '../lib.mjs';

const OLD_PER_IP = 60, PER_USER = 60;

export default [
  { name: 'issue 15: follows count per user, not per shared IP; past the per-user limit 429 + Retry-After', timeout: 60000, fn: async () => {
    const a = await newUser(), b = await newUser(), target = await newUser();
    const follow = (u) => api('POST', `/v1/users/${target.id}/follow`, { token: u.token });
    const t0 = Date.now();
    const each = 45; // 2 x 45 = 90 from one address, over the old per-IP 60
    for (let i = 0; i < each; i++) expectStatus(await follow(a), 204);
    for (let i = 0; i < each; i++) expectStatus(await follow(b), 204);
    assert.ok(2 * each > OLD_PER_IP);
    // a goes on until refused: its own budget (plus what refilled meanwhile, 1/s)
    let n = each, r;
    while ((r = await follow(a)).status === 204 && n < 500) n++;
    const secs = Math.ceil((Date.now() - t0) / 1000);
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json.error.code, 'rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.ok(n >= PER_USER && n <= PER_USER + secs + 1, `a was refused after ${n} follows in ${secs} s`);
    // b, on the same address, still has its own budget; so do unrelated actions of a
    expectStatus(await follow(b), 204);
    expectStatus(await api('GET', '/v1/me', { token: a.token }), 200);
  } },
];
