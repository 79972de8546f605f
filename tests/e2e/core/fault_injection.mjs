// Fault injection (STYLE.md "Tests", issue 16): for each fault kind, fail the 1st, 2nd,
// 3rd ... allocation, database step or outbound call of one request, until the request
// runs through without reaching the Nth. Every run must end in the success reply or a
// clean 500/503 envelope (never a crash, a hang, a wrong 4xx or a malformed body), and
// leave the data either as it was or fully changed, never half-written. Walked: sign-up
// (signup, then verify-email), password reset (forgot, then reset), sign-in by emailed
// code (request, then verify with the TOTP step), phone verification (request, then
// verify), provider sign-in (Google, on a server of its own), follow (and a follow of someone who blocked you), seller approval (apply,
// then admin approve).
//
// Needs a debug build started with --dev (POST /v1/_debug/fault, core/fault.h); on a
// release build, or without --dev, the route is 404 and the stories skip. Each run arms
// one request-scoped fault that the next handler claims, and disarms right after, so
// nothing leaks into other stories. The report says which route claimed the arm: a run
// that was not claimed by the request under test fails (determinism).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, asAdmin, assert, lastCode, newUser, unique, withServer } from '../lib.mjs';
import { fakeGoogle, stepNow, totp } from '../auth/auth_support.mjs';

const KINDS = ['db', 'alloc', 'call'];
const MAX_N = 600; // far above any handler's count: the walk ends long before
const password = 'Sunny-day-2026';

// Half-writes found earlier and fixed since (sign-up and email verification: one
// transaction per request, issue 16). Kept as the place to list one that is reported but
// owned elsewhere: a violation listed here is logged, not failed; any other violation,
// these fixed ones included, fails the story.
const KNOWN = {};
const knownSeen = new Set();
function violation(id, detail) {
  if (KNOWN[id]) {
    if (!knownSeen.has(id)) console.log(`     known half-write ${id}: ${KNOWN[id]} (${detail})`);
    knownSeen.add(id);
    return;
  }
  assert.fail(`half-write ${id}: ${detail}`);
}

// ---- plumbing -------------------------------------------------------------------------

// One call with a deadline: a hang (or a crash: no reply) fails the story, never stalls the suite.
// own: { base, db } while a story talks to a server of its own (provider sign-in).
let own = null;
const call = (method, path, opts = {}) => api(method, path, { base: own?.base, ...opts, timeout: 15000 });

async function faultRouteReady() {
  const r = await call('GET', '/v1/_debug/fault');
  if (r.status === 404) return false;
  assert.equal(r.status, 200, r.text);
  return true;
}
const arm = async (kind, nth) =>
  assert.equal((await call('POST', '/v1/_debug/fault', { body: { kind, nth, scope: 'request' } })).status, 200);
// Disarms and returns what the claiming request saw: { route, fired, seen }.
const disarm = async () => (await call('DELETE', '/v1/_debug/fault')).json?.data?.last;

// Success with the expected status, or the clean envelope; anything else fails.
function clean(res, okStatus, what) {
  if (res.status === okStatus) return true;
  assert.ok(res.status === 500 || res.status === 503, `${what}: want ${okStatus} or a clean 500/503, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.ok(res.json && res.json.error && typeof res.json.error.code === 'string' && typeof res.json.error.message === 'string',
    `${what}: ${res.status} without the error envelope: ${res.text.slice(0, 300)}`);
  return false;
}

// Direct reads of the SQLite file for what no endpoint shows (codes, sessions, audit
// rows). Ids are cast to text: 63-bit ids do not fit a JavaScript number. On another
// database the stories keep their API checks and skip these.
const dbUrl = process.env.VZ_TEST_DB_URL || '';
const dbPath = dbUrl.startsWith('sqlite:') ? dbUrl.slice(7).replace(/^\/\/(?=\/)/, '') : null;
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
function sql(query) {
  const path = own ? own.db : dbPath;
  if (!path) return null;
  const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', path, query], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}
const sqlOne = (query) => { const r = sql(query); return r ? r[0] : null; };

// The walk: prepare (outside the fault), arm N, act, disarm, check, until a run in which
// the Nth event never came. Returns the figures for the report line.
async function walk(what, kind, route, { prepare, act, okStatus, check, known }) {
  const fig = { runs: 0, errors: 0, applied_reply_lost: 0, events: 0 };
  for (let n = 1; n <= MAX_N; n++) {
    const ctx = await prepare();
    await arm(kind, n);
    let res, last;
    try { res = await act(ctx); } finally { last = await disarm(); }
    const tag = `${what} (${kind} #${n})`;
    assert.ok(last, `${tag}: no handler claimed the fault (rate limited? ${res && res.status})`);
    assert.equal(last.route, route, `${tag}: the fault was claimed by another request`);
    assert.equal((await call('GET', '/healthz')).status, 200, `${tag}: server not alive`);
    const wrong = res.status !== okStatus && known && known(res);
    if (wrong) violation(wrong, `${tag}: ${res.status} ${res.text.slice(0, 120)}`);
    const ok = wrong ? false : clean(res, okStatus, tag);
    fig.runs++;
    if (!ok) fig.errors++;
    if ((await check(ctx, res, ok, tag, kind)) === 'applied') fig.applied_reply_lost++;
    if (!last.fired) {
      assert.ok(ok, `${tag}: failed although no fault fired: ${res.text.slice(0, 300)}`);
      fig.events = last.seen;
      console.log(`     ${what} ${kind}: ${fig.events} events, ${fig.runs} runs, ${fig.errors} clean errors` +
        (fig.applied_reply_lost ? `, ${fig.applied_reply_lost} applied but answered 5xx` : ''));
      return fig;
    }
  }
  assert.fail(`${what} ${kind}: still firing after ${MAX_N} runs`);
}

// After a failed run the state is all-before ('before'), or all-after ('applied') for an
// allocation fault only: the reply is built after the commit and may fail there. After a
// database fault all-after means a step after the commit, which a handler must not need.
// Anything else is null: a half-write, for the caller to name.
function settle(tag, kind, state, wantBefore, wantAfter) {
  if (wantBefore(state)) return 'before';
  if (wantAfter(state)) {
    assert.notEqual(kind, 'db', `${tag}: committed, then a database step failed the reply: ${JSON.stringify(state)}`);
    return 'applied';
  }
  return null;
}

const skipNote = () => console.log('     (note: no /v1/_debug/fault: not a debug build with --dev; skipped)');

// ---- sign-up -----------------------------------------------------------------------

function signupState(email) {
  const e = email.toLowerCase();
  const u = sqlOne(`SELECT CAST(id AS TEXT) AS id, email_verified FROM users WHERE email_lower = ${q(e)}`);
  if (u === null) return null; // not SQLite
  const codes = sqlOne(`SELECT count(*) AS n FROM otp_codes WHERE destination = ${q(e)} AND purpose = 'verify_email' AND consumed_at IS NULL`);
  const sessions = u ? sqlOne(`SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ${u.id}`) : { n: 0 };
  return { user: !!u, verified: !!(u && u.email_verified), live_codes: codes.n, sessions: sessions.n, sent: !!lastCode(email, 'verify_email') };
}

async function signupWalk(kind) {
  return walk('signup', kind, 'POST /v1/auth/signup', {
    okStatus: 202,
    prepare: async () => ({ email: `${unique('fi')}@e2e.test` }),
    act: (c) => call('POST', '/v1/auth/signup', { body: { email: c.email, password } }),
    check: async (c, res, ok, tag) => {
      const s = signupState(c.email);
      if (ok) {
        assert.equal(res.json?.data?.status, 'sent_if_account_exists', `${tag}: ${res.text}`);
        if (s) assert.ok(s.user && !s.verified && s.live_codes === 1 && s.sent, `${tag}: 202 but ${JSON.stringify(s)}`);
      } else if (s) {
        if (s.user && !s.live_codes) violation('signup.user_without_code', tag);
        if (s.live_codes && !s.sent) violation('signup.code_not_sent', tag);
      }
      // whatever happened, the person can finish signing up by trying again
      if (!ok) {
        assert.equal((await call('POST', '/v1/auth/signup', { body: { email: c.email, password } })).status, 202, `${tag}: retry`);
        const code = lastCode(c.email, 'verify_email');
        if (!code) return violation('signup.code_not_sent', `${tag}: retry sent nothing`);
        const v = await call('POST', '/v1/auth/verify-email', { body: { email: c.email, code } });
        assert.equal(v.status, 200, `${tag}: verify after retry: ${v.text}`);
      }
    },
  });
}

async function verifyWalk(kind) {
  let cur = null; // a signed-up, unverified account whose code is still good
  return walk('verify-email', kind, 'POST /v1/auth/verify-email', {
    okStatus: 200,
    prepare: async () => {
      if (cur) return cur;
      const email = `${unique('fv')}@e2e.test`;
      assert.equal((await call('POST', '/v1/auth/signup', { body: { email, password } })).status, 202);
      cur = { email, code: lastCode(email, 'verify_email') };
      assert.ok(cur.code);
      return cur;
    },
    act: (c) => call('POST', '/v1/auth/verify-email', { body: { email: c.email, code: c.code } }),
    known: (res) => (res.status === 400 && res.json?.error?.code === 'invalid_code' ? 'verify.db_error_as_invalid_code' : null),
    check: async (c, res, ok, tag, k) => {
      const s = signupState(c.email);
      if (ok) {
        const d = res.json?.data;
        assert.ok(d && typeof d.access_token === 'string' && typeof d.refresh_token === 'string' && d.user?.id, `${tag}: ${res.text}`);
        const me = await call('GET', '/v1/me', { token: d.access_token });
        if (me.status === 401) violation('verify.unusable_token', tag);
        else assert.equal(me.json?.data?.email_verified, true, `${tag}: the new access token: ${me.status} ${me.text.slice(0, 200)}`);
        if (s) assert.ok(s.verified && s.live_codes === 0 && s.sessions === 1, `${tag}: 200 but ${JSON.stringify(s)}`);
        cur = null;
        return;
      }
      if (!s) { // API only: the same code still works, or the account is usable by password
        const again = await call('POST', '/v1/auth/verify-email', { body: { email: c.email, code: c.code } });
        if (again.status !== 200) violation('verify.code_consumed_email_unverified', `${tag}: retry ${again.status}`);
        cur = null;
        return;
      }
      const r = settle(tag, k, s, (x) => !x.verified && x.live_codes === 1 && x.sessions === 0,
        (x) => x.verified && x.live_codes === 0 && x.sessions === 1);
      if (r === 'before') return; // the next run uses the same code: it must still work
      cur = null;
      if (r === 'applied') return r;
      if (!s.verified && !s.live_codes) violation('verify.code_consumed_email_unverified', `${tag} ${JSON.stringify(s)}`);
      else if (s.verified && !s.sessions) violation('verify.verified_without_session', `${tag} ${JSON.stringify(s)}`);
      else violation('verify.other', `${tag} ${JSON.stringify(s)}`);
    },
  });
}

// ---- codes asked for: forgot-password, sign-in code ---------------------------------

// A 202 either sent a code (stored, live) or the request failed cleanly with nothing
// stored: a failed account read is a 503, never taken for "no account" (202, no code).
async function codeRequestWalk(what, path, purpose, kind) {
  let u = null;
  return walk(what, kind, `POST ${path}`, {
    okStatus: 202,
    prepare: async () => { if (!u) u = { ...(await newUser('fc')), sent: null }; return u; },
    act: (x) => call('POST', path, { body: { email: x.email } }),
    check: async (x, res, ok, tag, k) => {
      const live = sqlOne(`SELECT count(*) AS n FROM otp_codes WHERE destination = ${q(x.email.toLowerCase())} AND purpose = '${purpose}' AND consumed_at IS NULL`);
      const sent = lastCode(x.email, purpose), fresh = sent && sent !== x.sent;
      x.sent = sent;
      if (ok) {
        assert.equal(res.json?.data?.status, 'sent_if_account_exists', `${tag}: ${res.text}`);
        assert.ok(fresh, `${tag}: 202 for an existing account, but no code went out`);
        if (live) assert.equal(live.n, 1, `${tag}: 202 but ${live.n} live codes`);
        u = null; // the next run needs an account without a code (the resend cool-down)
        return;
      }
      // a code that went out and was then rolled back (the commit failed) is dead: harmless
      if (!live || live.n === 0) return;
      assert.ok(fresh, `${tag}: a live code that was never sent`);
      assert.notEqual(k, 'db', `${tag}: code stored, then a database step failed the reply`);
      u = null;
      return 'applied';
    },
  });
}
const forgotWalk = (kind) => codeRequestWalk('forgot-password', '/v1/auth/password/forgot', 'reset_password', kind);
const otpRequestWalk = (kind) => codeRequestWalk('otp-request', '/v1/auth/otp/request', 'signin', kind);

// ---- password reset ------------------------------------------------------------------

function resetState(x) {
  const e = x.email.toLowerCase();
  const u = sqlOne(`SELECT password_hash AS h FROM users WHERE id = ${x.id}`);
  if (u === null) return null; // not SQLite
  const codes = sqlOne(`SELECT count(*) AS n FROM otp_codes WHERE destination = ${q(e)} AND purpose = 'reset_password' AND consumed_at IS NULL`);
  const live = sqlOne(`SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ${x.id} AND revoked_at IS NULL`);
  return { new_password: u.h !== x.hash, live_codes: codes.n, live_sessions: live.n };
}

// The code check, the new password and every device signed out commit together.
async function resetWalk(kind) {
  let cur = null; // a user with a live reset code and a live session
  return walk('password-reset', kind, 'POST /v1/auth/password/reset', {
    okStatus: 204,
    prepare: async () => {
      if (cur) return cur;
      const u = await newUser('fr');
      assert.equal((await call('POST', '/v1/auth/password/forgot', { body: { email: u.email } })).status, 202);
      cur = { ...u, code: lastCode(u.email, 'reset_password'), hash: sqlOne(`SELECT password_hash AS h FROM users WHERE id = ${u.id}`)?.h };
      assert.ok(cur.code);
      return cur;
    },
    act: (x) => call('POST', '/v1/auth/password/reset', { body: { email: x.email, code: x.code, password: 'Rainy-day-2027' } }),
    check: async (x, res, ok, tag, k) => {
      const s = resetState(x);
      const before = (y) => !y.new_password && y.live_codes === 1 && y.live_sessions === 1;
      const after = (y) => y.new_password && y.live_codes === 0 && y.live_sessions === 0;
      if (ok) {
        if (s) assert.ok(after(s), `${tag}: 204 but ${JSON.stringify(s)}`);
        const si = await call('POST', '/v1/auth/signin', { body: { email: x.email, password: 'Rainy-day-2027' } });
        assert.equal(si.status, 200, `${tag}: the new password: ${si.text}`);
        const me = await call('GET', '/v1/me', { token: x.token });
        assert.equal(me.status, 401, `${tag}: the access token of a signed-out session still works`);
        cur = null;
        return;
      }
      if (!s) { cur = null; return; }
      const r = settle(tag, k, s, before, after);
      if (r === 'before') return; // the same code must still work on the next run
      cur = null;
      if (r === 'applied') return r;
      if (!s.new_password && !s.live_codes) violation('reset.code_spent_password_kept', `${tag} ${JSON.stringify(s)}`);
      else if (s.new_password && s.live_sessions) violation('reset.sessions_left_signed_in', `${tag} ${JSON.stringify(s)}`);
      else violation('reset.other', `${tag} ${JSON.stringify(s)}`);
    },
  });
}

// ---- sign-in by emailed code, TOTP on ---------------------------------------------------


function codeSigninState(x) {
  const e = x.email.toLowerCase();
  const u = sqlOne(`SELECT CAST(totp_last_step AS TEXT) AS step FROM users WHERE id = ${x.id}`);
  if (u === null) return null;
  const codes = sqlOne(`SELECT count(*) AS n FROM otp_codes WHERE destination = ${q(e)} AND purpose = 'signin' AND consumed_at IS NULL`);
  const sessions = sqlOne(`SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ${x.id}`);
  return { step_taken: u.step !== x.step, live_codes: codes.n, sessions: sessions.n - 1 };
}

// The emailed code is spent only with the TOTP step taken and the session made.
async function codeSigninWalk(kind) {
  let cur = null; // a user with TOTP on and a live sign-in code
  return walk('code-signin-totp', kind, 'POST /v1/auth/otp/verify', {
    okStatus: 200,
    prepare: async () => {
      if (cur) return cur;
      const u = await newUser('ft');
      const s = await call('POST', '/v1/auth/totp/setup', { token: u.token, body: {} });
      assert.equal(s.status, 200, s.text);
      const secret = s.json.data.secret, step = stepNow() - 1;
      assert.equal((await call('POST', '/v1/auth/totp/enable', { token: u.token, body: { code: totp(secret, step) } })).status, 204);
      assert.equal((await call('POST', '/v1/auth/otp/request', { body: { email: u.email } })).status, 202);
      cur = { ...u, secret, step: sqlOne(`SELECT CAST(totp_last_step AS TEXT) AS step FROM users WHERE id = ${u.id}`)?.step,
        code: lastCode(u.email, 'signin') };
      assert.ok(cur.code);
      return cur;
    },
    act: (x) => call('POST', '/v1/auth/otp/verify', { body: { email: x.email, code: x.code, totp: totp(x.secret, stepNow()) } }),
    check: async (x, res, ok, tag, k) => {
      const s = codeSigninState(x);
      const before = (y) => !y.step_taken && y.live_codes === 1 && y.sessions === 0;
      const after = (y) => y.step_taken && y.live_codes === 0 && y.sessions === 1;
      if (ok) {
        assert.ok(typeof res.json?.data?.access_token === 'string', `${tag}: ${res.text}`);
        if (s) assert.ok(after(s), `${tag}: 200 but ${JSON.stringify(s)}`);
        cur = null;
        return;
      }
      if (!s) { cur = null; return; }
      const r = settle(tag, k, s, before, after);
      if (r === 'before') return; // the same code and a fresh TOTP step must work next run
      cur = null;
      if (r === 'applied') return r;
      if (!s.live_codes && !s.sessions) violation('code_signin.code_spent_no_session', `${tag} ${JSON.stringify(s)}`);
      else violation('code_signin.other', `${tag} ${JSON.stringify(s)}`);
    },
  });
}

// ---- phone verification ----------------------------------------------------------------

const newPhone = () => `+4916${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

// The code spent and the number stored commit together.
async function phoneVerifyWalk(kind) {
  let u = null, used = 0, cur = null; // ten codes / thirty checks a minute per user: a new one every 8 runs
  return walk('phone-verify', kind, 'POST /v1/me/phone/verify', {
    okStatus: 200,
    prepare: async () => {
      if (!u || used >= 8) { u = await newUser('fp'); used = 0; cur = null; }
      used++;
      if (cur) return cur;
      const phone = newPhone();
      assert.equal((await call('POST', '/v1/me/phone', { token: u.token, body: { phone } })).status, 202);
      cur = { u, phone, code: lastCode(phone, `verify_phone:${u.id}`, { file: 'sms.jsonl' }) };
      assert.ok(cur.code);
      return cur;
    },
    act: (x) => call('POST', '/v1/me/phone/verify', { token: x.u.token, body: { phone: x.phone, code: x.code } }),
    check: async (x, res, ok, tag, k) => {
      const me = (await call('GET', '/v1/me', { token: x.u.token })).json?.data;
      const codes = sqlOne(`SELECT count(*) AS n FROM otp_codes WHERE destination = ${q(x.phone)} AND consumed_at IS NULL`);
      const s = { stored: me?.phone === x.phone, live_codes: codes ? codes.n : null };
      const before = (y) => !y.stored && (y.live_codes === null || y.live_codes === 1);
      const after = (y) => y.stored && (y.live_codes === null || y.live_codes === 0);
      if (ok) {
        assert.equal(res.json?.data?.phone, x.phone, `${tag}: ${res.text}`);
        assert.ok(after(s), `${tag}: 200 but ${JSON.stringify(s)}`);
        cur = null;
        return;
      }
      const r = settle(tag, k, s, before, after);
      if (r === 'before') return;
      cur = null;
      if (r === 'applied') return r;
      if (!s.stored && s.live_codes === 0) violation('phone.code_spent_number_unset', `${tag} ${JSON.stringify(s)}`);
      else violation('phone.other', `${tag} ${JSON.stringify(s)}`);
    },
  });
}

// ---- provider sign-in ------------------------------------------------------------------

function oauthState(x) {
  const u = sqlOne(`SELECT CAST(id AS TEXT) AS id FROM users WHERE email_lower = ${q(x.email.toLowerCase())}`);
  const ids = sqlOne(`SELECT count(*) AS n FROM oauth_identities WHERE provider = 'google' AND subject = ${q(x.sub)}`);
  const sessions = u ? sqlOne(`SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ${u.id}`) : { n: 0 };
  return { account: !!u, identity: ids.n, sessions: sessions.n };
}

// A first sign-in with Google: the account, its identity row and the session commit
// together (an account without its link, or a link without the session, is a half-write).
async function oauthWalk(google, kind) {
  let cur = null;
  return walk('oauth-signin', kind, 'POST /v1/auth/oauth/:provider', {
    okStatus: 200,
    prepare: async () => {
      if (!cur) { const sub = unique('g'); cur = { sub, email: `${sub}@e2e.test` }; }
      return cur;
    },
    act: (x) => call('POST', '/v1/auth/oauth/google',
      { body: { id_token: google.idToken({ sub: x.sub, email: x.email, email_verified: true, name: 'Fault Walk' }) } }),
    check: async (x, res, ok, tag, k) => {
      const s = oauthState(x);
      const before = (y) => !y.account && y.identity === 0 && y.sessions === 0;
      const after = (y) => y.account && y.identity === 1 && y.sessions === 1;
      if (ok) {
        assert.ok(typeof res.json?.data?.access_token === 'string', `${tag}: ${res.text}`);
        assert.ok(after(s), `${tag}: 200 but ${JSON.stringify(s)}`);
        cur = null;
        return;
      }
      const r = settle(tag, k, s, before, after);
      if (r === 'before') return;
      cur = null;
      if (r === 'applied') return r;
      if (s.account && !s.identity) violation('oauth.account_without_identity', `${tag} ${JSON.stringify(s)}`);
      else if (s.identity && !s.sessions) violation('oauth.linked_without_session', `${tag} ${JSON.stringify(s)}`);
      else violation('oauth.other', `${tag} ${JSON.stringify(s)}`);
    },
  });
}

const oauthStory = {
  name: 'fault walk: provider sign-in is all or nothing: account, identity, session', timeout: 240000, fn: async () => {
    const jwksDir = mkdtempSync(join(tmpdir(), 'vidzo-fi-jwks-'));
    const google = fakeGoogle(jwksDir);
    try {
      await withServer({ args: ['--dev'], env: { VIDZO_GOOGLE_CLIENT_IDS: 'e2e-client', VIDZO_GOOGLE_JWKS: google.path } }, async ({ url, dir }) => {
        own = { base: url, db: `${dir}/vidzo.db` };
        try {
          if (!(await faultRouteReady())) return skipNote();
          for (const kind of KINDS) await oauthWalk(google, kind);
        } finally {
          await call('DELETE', '/v1/_debug/fault');
          own = null;
        }
      });
    } finally {
      rmSync(jwksDir, { recursive: true, force: true });
    }
  },
};

// ---- follow ---------------------------------------------------------------------------

async function followState(a, b) {
  const get = async (p) => { const r = await call('GET', p); assert.equal(r.status, 200, `${p}: ${r.text}`); return r.json.data; };
  const pa = await get(`/v1/users/${a.id}`), pb = await get(`/v1/users/${b.id}`);
  const followers = (await get(`/v1/users/${b.id}/followers`)).map((x) => x.id);
  const following = (await get(`/v1/users/${a.id}/following`)).map((x) => x.id);
  const s = { a_following: pa.following_count, b_followers: pb.followers_count, listed: followers.includes(a.id) && following.includes(b.id),
    rows: followers.length };
  // the counters are the table: checked in the file too, where the API could cache
  const t = sqlOne(`SELECT (SELECT count(*) FROM follows WHERE followee_id = ${b.id}) AS b_rows,` +
    ` (SELECT followers_count FROM users WHERE id = ${b.id}) AS b_count,` +
    ` (SELECT count(*) FROM follows WHERE follower_id = ${a.id}) AS a_rows,` +
    ` (SELECT following_count FROM users WHERE id = ${a.id}) AS a_count`);
  if (t) assert.ok(t.b_rows === t.b_count && t.a_rows === t.a_count, `counters differ from the follows table: ${JSON.stringify(t)}`);
  return s;
}

async function followWalk(kind) {
  const a = await newUser(), b = await newUser(); // a fresh follower per walk: 60 follows a minute each
  return walk('follow', kind, 'POST /v1/users/:id/follow', {
    okStatus: 204,
    prepare: async () => ({ a, b }),
    act: () => call('POST', `/v1/users/${b.id}/follow`, { token: a.token }),
    check: async (c, res, ok, tag, k) => {
      const s = await followState(a, b);
      const none = (x) => x.a_following === 0 && x.b_followers === 0 && !x.listed && x.rows === 0;
      const one = (x) => x.a_following === 1 && x.b_followers === 1 && x.listed && x.rows === 1;
      if (ok) assert.ok(one(s), `${tag}: 204 but ${JSON.stringify(s)}`);
      const r = ok ? 'done' : settle(tag, k, s, none, one);
      if (!r) violation('follow.partial', `${tag} ${JSON.stringify(s)}`);
      if (r !== 'before') { // back to "not following" for the next run
        assert.equal((await call('DELETE', `/v1/users/${b.id}/follow`, { token: a.token })).status, 204, tag);
        assert.ok(none(await followState(a, b)), `${tag}: unfollow left counters behind`);
      }
      return r === 'applied' ? r : undefined;
    },
  });
}

// c has blocked a: a's follow is refused (403), or fails cleanly; it never lands.
async function blockedFollowWalk(kind) {
  const a = await newUser(), c = await newUser();
  assert.equal((await call('POST', `/v1/users/${a.id}/block`, { token: c.token })).status, 204);
  return walk('follow-blocked', kind, 'POST /v1/users/:id/follow', {
    okStatus: 403,
    prepare: async () => ({}),
    act: () => call('POST', `/v1/users/${c.id}/follow`, { token: a.token }),
    check: async (x, res, ok, tag) => {
      assert.notEqual(res.status, 204, `${tag}: a blocked user could follow`);
      if (ok) assert.equal(res.json?.error?.code, 'blocked', `${tag}: ${res.text}`);
      const s = await followState(a, c);
      assert.ok(s.a_following === 0 && s.b_followers === 0 && !s.listed, `${tag}: ${JSON.stringify(s)}`);
    },
  });
}

// ---- seller approval ------------------------------------------------------------------

const application = { business_name: 'Quokka Goods', legal_name: 'Quokka Goods Pty Ltd', country: 'AU', tax_id: 'AU51824753556',
  address: '2 Hay St, Perth WA 6000', description: 'Things, live.', website: 'https://quokka.example' };

async function applyWalk(kind) {
  let u = null, used = 0; // ten applications a minute per user: a new applicant every eight runs
  return walk('seller-apply', kind, 'POST /v1/sellers/applications', {
    okStatus: 201,
    prepare: async () => {
      if (!u || used >= 8) { u = await newUser(); used = 0; }
      used++;
      return u;
    },
    act: (x) => call('POST', '/v1/sellers/applications', { token: x.token, body: application }),
    check: async (x, res, ok, tag, k) => {
      const mine = await call('GET', '/v1/sellers/applications/me', { token: x.token });
      const rows = sqlOne(`SELECT count(*) AS n FROM seller_applications WHERE user_id = ${x.id}`);
      if (ok) {
        const d = res.json?.data;
        assert.ok(d && d.status === 'pending' && d.legal_name === application.legal_name && d.id, `${tag}: ${res.text}`);
        assert.equal(mine.json?.data?.id, d.id, tag);
        if (rows) assert.equal(rows.n, 1, tag);
        u = null;
        return;
      }
      if (mine.status === 404) return assert.ok(!rows || rows.n === 0, `${tag}: ${JSON.stringify(rows)}`);
      assert.equal(mine.status, 200, `${tag}: ${mine.text}`);
      assert.notEqual(k, 'db', `${tag}: application stored, then a database step failed the reply`);
      u = null; // applied: the next run needs an applicant without one
      return 'applied';
    },
  });
}

async function approveWalk(kind) {
  const admin = await asAdmin();
  let cur = null; // { user, app }: a pending application
  const state = async (c) => {
    const me = (await call('GET', '/v1/me', { token: c.user.token })).json.data;
    const app = (await call('GET', '/v1/sellers/applications/me', { token: c.user.token })).json.data;
    const audit = (await call('GET', `/v1/admin/audit?target_id=${c.app}&limit=100`, { token: admin.token })).json.data;
    return { role: me.role, status: app.status, audit: audit.map((a) => [a.action, a.detail?.user_id === c.user.id, a.detail?.decision]) };
  };
  return walk('seller-approve', kind, 'POST /v1/admin/sellers/applications/:id/approve', {
    okStatus: 200,
    prepare: async () => {
      if (cur) return cur;
      const user = await newUser();
      const r = await call('POST', '/v1/sellers/applications', { token: user.token, body: application });
      assert.equal(r.status, 201, r.text);
      cur = { user, app: r.json.data.id };
      return cur;
    },
    act: (c) => call('POST', `/v1/admin/sellers/applications/${c.app}/approve`, { token: admin.token }),
    check: async (c, res, ok, tag, k) => {
      const s = await state(c);
      const before = (x) => x.role === 'user' && x.status === 'pending' && x.audit.length === 0;
      const after = (x) => x.role === 'seller' && x.status === 'approved' &&
        JSON.stringify(x.audit) === JSON.stringify([['seller.approve', true, 'approved']]);
      if (ok) {
        assert.equal(res.json?.data?.status, 'approved', `${tag}: ${res.text}`);
        assert.ok(after(s), `${tag}: 200 but ${JSON.stringify(s)}`);
        cur = null;
        return;
      }
      const r = settle(tag, k, s, before, after);
      if (!r) violation('approve.partial', `${tag} ${JSON.stringify(s)}`);
      if (r !== 'before') cur = null;
      return r;
    },
  });
}

// ---- profile update -------------------------------------------------------------------

// Two link sets, alternated, so "as before" and "fully changed" differ in every field.
const profiles = [
  { bio: 'first bio', links: [{ label: 'Shop', url: 'https://one.example/shop' }, { label: 'Blog', url: 'https://one.example/blog' }] },
  { bio: 'second bio', links: [{ label: 'Store', url: 'https://two.example/store' }] },
];

async function profileWalk(kind) {
  let u = null, used = 0, at = 0; // thirty updates a minute per user: a new one every 25 runs
  return walk('profile-update', kind, 'PATCH /v1/me', {
    okStatus: 200,
    prepare: async () => {
      if (!u || used >= 25) {
        u = await newUser(); used = 0; at = 0;
        assert.equal((await call('PATCH', '/v1/me', { token: u.token, body: profiles[0] })).status, 200);
      }
      used++;
      return u;
    },
    act: (x) => call('PATCH', '/v1/me', { token: x.token, body: profiles[1 - at] }),
    check: async (x, res, ok, tag, k) => {
      const me = (await call('GET', '/v1/me', { token: x.token })).json?.data;
      const is = (p) => (y) => y && y.bio === p.bio && JSON.stringify(y.links) === JSON.stringify(p.links);
      if (ok) {
        assert.ok(is(profiles[1 - at])(res.json?.data) && typeof res.json.data.role === 'string', `${tag}: 200 but ${res.text}`);
        assert.ok(is(profiles[1 - at])(me), `${tag}: 200 but stored ${JSON.stringify(me)}`);
        at = 1 - at;
        return;
      }
      const r = settle(tag, k, me, is(profiles[at]), is(profiles[1 - at]));
      if (!r) violation('profile.partial', `${tag} ${JSON.stringify(me)}`);
      if (r === 'applied') at = 1 - at;
      return r;
    },
  });
}

// ---- stories --------------------------------------------------------------------------

const walkStory = (name, fn) => ({
  name, timeout: 240000, fn: async () => {
    if (!(await faultRouteReady())) return skipNote();
    try {
      for (const kind of KINDS) await fn(kind);
    } finally {
      await call('DELETE', '/v1/_debug/fault');
    }
  },
});

export default [
  walkStory('fault walk: sign-up (signup) fails cleanly at every allocation, db step and call', signupWalk),
  walkStory('fault walk: sign-up (verify-email) fails cleanly at every allocation, db step and call', verifyWalk),
  walkStory('fault walk: forgot-password answers 202 only with the code sent', forgotWalk),
  walkStory('fault walk: sign-in code request answers 202 only with the code sent', otpRequestWalk),
  walkStory('fault walk: password reset is all or nothing: code, password, sessions', resetWalk),
  walkStory('fault walk: emailed-code sign-in with TOTP spends the code only with the session', codeSigninWalk),
  walkStory('fault walk: phone verification spends the code only with the number stored', phoneVerifyWalk),
  oauthStory,
  walkStory('fault walk: follow fails cleanly and the counters stay the follows table', followWalk),
  walkStory('fault walk: a blocked follow stays refused whatever step fails', blockedFollowWalk),
  walkStory('fault walk: profile update (bio and links) is all or nothing', profileWalk),
  walkStory('fault walk: seller application fails cleanly, nothing half-stored', applyWalk),
  walkStory('fault walk: seller approval is all or nothing: status, role and audit row', approveWalk),
  { name: 'fault route: bad specs are 400, an arm no request claimed is gone after DELETE', fn: async () => {
    if (!(await faultRouteReady())) return skipNote();
    for (const body of [{ kind: 'disk', nth: 1 }, { kind: 'db', nth: 0 }, { kind: 'db' }, { kind: 'db', nth: 1, scope: 'thread' }]) {
      const r = await call('POST', '/v1/_debug/fault', { body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    }
    await arm('db', 1);
    assert.equal((await call('GET', '/v1/_debug/fault')).json.data.armed, true);
    await call('DELETE', '/v1/_debug/fault');
    assert.equal((await call('GET', '/v1/_debug/fault')).json.data.armed, false);
    const r = await call('GET', '/v1/categories');
    assert.equal(r.status, 200, `after disarm nothing fails: ${r.text}`);
  } },
];
