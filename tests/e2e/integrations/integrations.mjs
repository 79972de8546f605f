// Outbound calls go through the integrations layer (src/integrations/http.c): the Google
// JWKS fetch behind "sign in with Google" is one. This story starts its own server whose
// JWKS URL points at a port nobody listens on, and checks what an operator would see:
// sign-in answers 503, each fetch is retried once (connection refused: nothing was sent),
// the "jwks" breaker opens after 5 failed attempts and later sign-ins fail fast without
// touching the network, all visible in /metrics; the server still drains cleanly.
// Needs VZ_TEST_BIN (tests/run.sh sets it).
import { api, assert, freePort, withServer } from '../lib.mjs';

// Every sample of /metrics whose name is `name`, keyed by its label set.
async function samples(url, name) {
  const { text } = await api('GET', '/metrics', { base: url });
  const got = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/);
    if (m && m[1] === name) got[m[2] || ''] = Number(m[3]);
  }
  return got;
}

const signIn = (url) => api('POST', '/v1/auth/oauth/google',
  { base: url, body: { id_token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' } });

export default [
  { name: 'an unreachable JWKS: 503, one retry per fetch, then the jwks breaker fails fast', timeout: 60000, fn: async () => {
    const dead = await freePort();
    await withServer({ args: ['--dev'], env: { VIDZO_TOTP_OPTIONAL: '1', VIDZO_AUTH_IP_LIMIT_SCALE: '100',
      VIDZO_GOOGLE_CLIENT_IDS: 'e2e-client', VIDZO_GOOGLE_JWKS: `https://127.0.0.1:${dead}/jwks` } },
      async ({ url, log }) => {
        // Registered at start-up: the series exist before the first call.
        assert.deepEqual(await samples(url, 'vidzo_integration_breaker_state'), { '{integration="jwks"}': 0 });
        const req = await samples(url, 'vidzo_integration_requests_total');
        assert.equal(req['{integration="jwks",outcome="ok"}'], 0);
        // Two refused attempts per sign-in: the third sign-in's first attempt is the fifth
        // failure in a row, which opens the breaker (no retry into an open breaker).
        for (let i = 0; i < 3; i++) {
          const r = await signIn(url);
          assert.equal(r.status, 503, r.text);
          assert.equal(r.json.error.code, 'unavailable');
        }
        assert.deepEqual(await samples(url, 'vidzo_integration_breaker_state'), { '{integration="jwks"}': 1 });
        const t0 = Date.now();
        const fast = await signIn(url);
        const fastMs = Date.now() - t0;
        assert.equal(fast.status, 503);
        assert.ok(fastMs < 1000, `failing fast took ${fastMs} ms`);
        const after = await samples(url, 'vidzo_integration_requests_total');
        assert.equal(after['{integration="jwks",outcome="connect_error"}'], 5);
        assert.equal(after['{integration="jwks",outcome="open"}'], 1);
        assert.equal(after['{integration="jwks",outcome="ok"}'], 0);
        assert.deepEqual(await samples(url, 'vidzo_integration_retries_total'), { '{integration="jwks"}': 2 });
        assert.deepEqual(await samples(url, 'vidzo_integration_breaker_opens_total'), { '{integration="jwks"}': 1 });
        const hist = await samples(url, 'vidzo_integration_request_seconds_count');
        assert.equal(hist['{integration="jwks"}'], 5); // attempts that went out; failing fast is not one
        assert.match(log(), /"msg":"integration breaker opened","integration":"jwks"/);
      });
  } },
];
