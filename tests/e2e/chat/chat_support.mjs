// chat_support.mjs: helpers the chat stories share (no stories here): a live stream of
// a fresh host, socket.io-clients on "/" (signed in or anonymous), acks and event waits.
import { io } from 'socket.io-client';
import { api, assert, expectStatus, newUser, URL_BASE, sleep } from '../lib.mjs';
import { checkSocket } from '../../contract/validate.mjs';

// A host with a live stream: { host, stream } (visibility public unless told).
export async function liveStream({ visibility = 'public', base } = {}) {
  const host = await newUser('host', { base });
  const st = expectStatus(await api('POST', '/v1/streams', { base, token: host.token, body: { title: 'chat story', visibility } }), 201).json.data;
  expectStatus(await api('POST', `/v1/test/streams/${st.id}/live`, { base, token: host.token }), 200);
  return { host, stream: st.id };
}

// A connected socket on "/" (token: an access token, or none: anonymous).
export function sock(token, { base = URL_BASE, transports = ['websocket'] } = {}) {
  const s = io(base + '/', { forceNew: true, reconnection: false, transports, ...(token ? { auth: { token } } : {}) });
  // every event the server emits to it must keep docs/asyncapi.yaml; a mismatch fails at
  // the next call() on the socket
  s.__contract = [];
  s.onAny((ev, ...args) => s.__contract.push(...checkSocket('/', ev, 'emitted', args[0])));
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('no connect')), 5000);
    s.on('connect', () => { clearTimeout(t); res(s); });
    s.on('connect_error', (e) => { clearTimeout(t); rej(e); });
  });
}

// emit with ack: the ack's envelope ({data} or {error}).
export async function call(s, event, arg, ms = 5000) {
  const r = await new Promise((res, rej) => s.timeout(ms).emit(event, arg, (e, a) => (e ? rej(e) : res(a))));
  const problems = [...(s.__contract || []).splice(0), ...checkSocket('/', event, 'ack', [r])];
  if (problems.length) assert.fail(`contract: ${problems.join('\n  ')}`);
  return r;
}
export async function ok(s, event, arg) {
  const r = await call(s, event, arg);
  assert.ok(r && r.data, `${event} failed: ${JSON.stringify(r)}`);
  return r.data;
}
export async function refused(s, event, arg, code) {
  const r = await call(s, event, arg);
  assert.ok(r && r.error, `${event} should fail with ${code}: ${JSON.stringify(r)}`);
  assert.equal(r.error.code, code, JSON.stringify(r.error));
  return r.error;
}

// Collects every `event` a socket receives.
export function collect(s, event) {
  const got = [];
  s.on(event, (...a) => got.push(a[0]));
  return got;
}
export async function until(pred, ms = 5000, what = 'condition') {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
export const closeAll = (...ss) => ss.forEach((s) => s && s.close());
