// j_auth_revoke: signing out on one instance ends that session's access token on every
// instance at once (the revocation travels on the bus), not at the token's expiry, and an
// instance started after the sign-out refuses it too (it loads recent revocations from the
// database). The user's other session keeps working everywhere.
import assert from 'node:assert/strict';
import * as c from './cluster.mjs';

const me = (i, token) => c.call(c.PORTS[i], 'GET', '/v1/me', { token });

export default [{
  name: 'a sign-out on one instance ends that access token on all of them, and after a restart',
  timeout: 40000,
  async fn(t) {
    const gone = await c.adminSignin(t, c.PORTS[0]), kept = await c.adminSignin(t, c.PORTS[0]);
    for (let i = 0; i < 3; i++) assert.equal((await me(i, gone.access_token)).status, 200, `accepted on ${i + 1} first`);
    const out = await c.call(c.PORTS[0], 'POST', '/v1/auth/signout', { body: { refresh_token: gone.refresh_token }, token: gone.access_token });
    assert.equal(out.status, 204);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      let st;
      while ((st = (await me(i, gone.access_token)).status) === 200 && Date.now() - t0 < 2000) await c.sleep(20);
      assert.equal(st, 401, `refused on instance ${i + 1} within 2 s`);
    }
    const spreadMs = Date.now() - t0;
    await c.stop(2, 'SIGTERM');
    c.start(2);
    await c.waitReady(2);
    assert.equal((await me(2, gone.access_token)).status, 401, 'refused by an instance started after the sign-out');
    for (let i = 0; i < 3; i++) assert.equal((await me(i, kept.access_token)).status, 200, `the other session on ${i + 1}`);
    t.log(`signed out on instance 1: refused on all 3 within ${spreadMs} ms, and after a restart of instance 3`);
  },
}];
