// cluster.mjs: the three vidzo instances of the multi-instance stories, owned by this
// Node process so a story can SIGTERM, kill -9 and restart them. Every pid is also written
// to $VZ_MULTI_WORK/pids/ so run.sh's trap can clean up if Node itself dies.
// The balancer (HAProxy on VZ_MULTI_PORT) is started by run.sh.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { api } from '../e2e/lib.mjs';

const env = process.env;
export const WORK = env.VZ_MULTI_WORK;
export const BIN = env.VZ_MULTI_BIN;
export const PG_URL = env.VZ_MULTI_PG;
export const REDIS_URL = env.VZ_MULTI_REDIS;
export const LB_PORT = Number(env.VZ_MULTI_PORT || 18100);
export const LB = `http://127.0.0.1:${LB_PORT}`;
export const PORTS = [LB_PORT + 1, LB_PORT + 2, LB_PORT + 3];
export const JWT_SECRET = 'multi-secret-0123456789abcdef0123456789';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const procs = [null, null, null];
const exits = [[], [], []];

// extra: more flags for this start (e.g. ['--replica', url]).
export function start(i, { extra = [], db = PG_URL } = {}) {
  const data = join(WORK, `data-${i + 1}`);
  mkdirSync(data, { recursive: true });
  mkdirSync(join(WORK, 'pids'), { recursive: true });
  const args = ['serve', '--port', String(PORTS[i]), '--bind', '127.0.0.1', '--threads', '2',
    '--db', db, '--data-dir', data, '--log-level', 'warn', '--jwt-secret', JWT_SECRET,
    '--shutdown-timeout', '10', '--trust-proxy', '--dev', '--test-app'];
  if (REDIS_URL) args.push('--redis', REDIS_URL);
  args.push(...extra);
  const log = openSync(join(WORK, `vidzo-${i + 1}.log`), 'a');
  const p = spawn(BIN, args, { stdio: ['ignore', log, log] });
  procs[i] = p;
  writeFileSync(join(WORK, 'pids', `vidzo-${i + 1}.pid`), String(p.pid));
  p.exitInfo = new Promise((resolve) => p.on('exit', (code, signal) => {
    exits[i].push({ code, signal });
    rmSync(join(WORK, 'pids', `vidzo-${i + 1}.pid`), { force: true });
    if (procs[i] === p) procs[i] = null;
    resolve({ code, signal });
  }));
  return p;
}

export const running = (i) => !!procs[i];
export const pid = (i) => procs[i] && procs[i].pid;

// One request straight to a port (an instance, or the balancer): lib.mjs's api() on a
// connection of its own (instances are killed and restarted), 10 s at most, a network
// error answered as status 0 with .error. opts as api's: body, token, headers, timeout.
export const call = (port, method, path, opts = {}) =>
  api(method, path, { base: `http://127.0.0.1:${port}`, fresh: true, soft: true, timeout: 10000, ...opts });

export async function waitReady(i, ms = 15000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (!procs[i]) throw new Error(`instance ${i + 1} exited while starting`);
    const r = await call(PORTS[i], 'GET', '/readyz', { timeout: 1000 });
    if (r.status === 200) return Date.now() - t0;
    await sleep(100);
  }
  throw new Error(`instance ${i + 1} not ready after ${ms} ms`);
}

// Until HAProxy routes to instance i again (its health check is "rise 2" x 250 ms).
export async function waitBalancerUp(i, ms = 5000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if ((await serverState(i)) === 'UP') return;
    await sleep(100);
  }
  throw new Error(`balancer never marked instance ${i + 1} UP`);
}

// HAProxy's csv line for server v<i+1> of a backend, split, through its stats socket
// (null when HAProxy does not answer or lacks it).
async function stat(i, backend) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(join(WORK, 'haproxy.sock'));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('error', () => resolve(null));
    s.on('end', () => {
      const line = out.split('\n').find((l) => l.startsWith(`${backend},v${i + 1},`));
      resolve(line ? line.split(',') : null);
    });
    s.write('show stat\n');
  });
}

// The balancer's status of instance i ("UP", "DOWN", ...; csv field 17).
export const serverState = async (i, backend = 'api') => (await stat(i, backend))?.[17] ?? '?';

// Current sessions on instance i (csv field 4, scur): where the balancer put a group of
// Socket.IO clients.
export const sessions = async (i, backend = 'sio') => Number((await stat(i, backend))?.[4] ?? 0);

// Signs in the admin run.sh created (through `port`, the balancer by default) and
// resolves its token reply {access_token, refresh_token, ...}; skips the story (t.skip)
// when there is no such account.
export async function adminSignin(t, port = LB_PORT) {
  const email = env.VZ_MULTI_ADMIN_EMAIL, password = env.VZ_MULTI_ADMIN_PASSWORD;
  if (!email) t.skip('no admin account (run.sh could not create one: vidzo admin create)');
  const s = await call(port, 'POST', '/v1/auth/signin', { body: { email, password } });
  if (s.status !== 200) throw new Error(`admin sign-in: ${s.status} ${s.text}`);
  return s.json.data;
}

// Resolves once a Socket.IO client is connected (8 s at most).
export const connected = (s) => new Promise((resolve, reject) => {
  if (s.connected) return resolve();
  const t = setTimeout(() => reject(new Error('connect timeout')), 8000);
  s.once('connect', () => { clearTimeout(t); resolve(); });
});

export async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// SIGTERM (drain) or SIGKILL; resolves the exit { code, signal }.
export async function stop(i, signal = 'SIGTERM', ms = 20000) {
  const p = procs[i];
  if (!p) return null;
  p.kill(signal);
  let timer;
  const res = await Promise.race([p.exitInfo,
    new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
  clearTimeout(timer);
  if (!res) { p.kill('SIGKILL'); return { code: null, signal: 'timeout' }; }
  return res;
}

export async function startAll(opts) {
  for (let i = 0; i < 3; i++) if (!procs[i]) start(i, opts);
  for (let i = 0; i < 3; i++) await waitReady(i);
  for (let i = 0; i < 3; i++) await waitBalancerUp(i);
}

export async function stopAll() {
  const res = [];
  for (let i = 0; i < 3; i++) res.push(await stop(i, 'SIGTERM'));
  return res;
}

// Continuous GETs through the balancer from `clients` keep-alive connections at about
// `rate` requests/s in total, until stop() is called. Counts every outcome.
export function load({ rate = 200, clients = 8, paths = ['/v1/categories', '/healthz'], base = LB_PORT } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const st = { sent: 0, ok: 0, non2xx: 0, errors: 0, codes: {}, errs: {}, maxMs: 0 };
  let stopping = false;
  const gap = (1000 * clients) / rate;
  const one = (path) => new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.get({ host: '127.0.0.1', port: base, path, agent, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => {
        st.maxMs = Math.max(st.maxMs, Date.now() - t0);
        if (res.statusCode >= 200 && res.statusCode < 300) st.ok++;
        else { st.non2xx++; st.codes[res.statusCode] = (st.codes[res.statusCode] || 0) + 1; }
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { st.errors++; st.errs[e.code || e.message] = (st.errs[e.code || e.message] || 0) + 1; resolve(); });
  });
  const worker = async (w) => {
    let n = w;
    while (!stopping) {
      const t0 = Date.now();
      st.sent++;
      await one(paths[n++ % paths.length]);
      const wait = gap - (Date.now() - t0);
      if (wait > 0) await sleep(wait);
    }
  };
  const workers = Array.from({ length: clients }, (_, w) => worker(w));
  const t0 = Date.now();
  return {
    stats: st,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      agent.destroy();
      st.seconds = (Date.now() - t0) / 1000;
      st.rate = Math.round(st.sent / st.seconds);
      return st;
    },
  };
}
