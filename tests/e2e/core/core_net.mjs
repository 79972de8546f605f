// core_net.mjs: helpers shared by the core_* stories (no stories of its own): a raw
// HTTP/1.1 connection that reads responses one by one (keep-alive, pipelining), and a
// way to start a private server from VZ_TEST_BIN for stories that must stop or
// reconfigure it (timeouts, SIGTERM).
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URL_BASE, freePort } from '../lib.mjs';

export const BIN = process.env.VZ_TEST_BIN || 'build/debug/vidzo';
export default [];

// Parses every complete response at the front of buf. Returns [responses, rest].
export function parseResponses(buf, { headOnly = false } = {}) {
  const out = [];
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = buf.subarray(0, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      headers[k] = headers[k] ? `${headers[k]}, ${v}` : v;
    }
    const len = headOnly ? 0 : Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + len) break;
    const body = buf.subarray(end + 4, end + 4 + len);
    out.push({ status: Number(statusLine.split(' ')[1]), statusLine, headers, body, text: body.toString('utf8') });
    buf = buf.subarray(end + 4 + len);
  }
  return [out, buf];
}

// One TCP connection; `next()` resolves with the next response, in order.
export class RawConn {
  constructor(url = URL_BASE) {
    const u = new URL(url);
    this.sock = net.connect(Number(u.port), u.hostname);
    this.buf = Buffer.alloc(0);
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.closedAt = 0;
    this.ready = new Promise((res, rej) => { this.sock.once('connect', res); this.sock.once('error', rej); });
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      const [rs, rest] = parseResponses(this.buf, { headOnly: this.headOnly });
      this.buf = rest;
      for (const r of rs) this.queue.push(r);
      this.wake();
    });
    this.sock.on('close', () => { this.closed = true; this.closedAt = Date.now(); this.wake(); });
    this.sock.on('error', () => {});
  }
  wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
  async write(s) { await this.ready; this.sock.write(s); }
  // Next response, or null when the server closed first / ms passed.
  async next(ms = 3000) {
    const t0 = Date.now();
    while (!this.queue.length) {
      if (this.closed || Date.now() - t0 > ms) return null;
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
    return this.queue.shift();
  }
  // Resolves true when the server closes the socket within ms.
  async waitClose(ms = 3000) {
    const t0 = Date.now();
    while (!this.closed && Date.now() - t0 < ms) await new Promise((r) => { this.waiters.push(r); setTimeout(r, 50); });
    return this.closed;
  }
  end() { this.sock.destroy(); }
}

export const GET = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

// Starts `vidzo serve` on its own port and data dir; resolves once /healthz answers.
export async function startServer(flags = [], { port } = {}) {
  port ??= await freePort(); /* a guessed range once met other runs' servers */
  const dir = mkdtempSync(join(tmpdir(), 'vzcore-'));
  const args = ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '2', '--data-dir', dir,
    '--jwt-secret', 'test-secret-0123456789abcdef0123456789', ...flags];
  if (!flags.includes('--log-level')) args.push('--log-level', 'warn');
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = { child, port, dir, url: `http://127.0.0.1:${port}`, out: '', err: '', exit: null };
  child.stdout.on('data', (d) => { srv.out += d; });
  child.stderr.on('data', (d) => { srv.err += d; });
  srv.exited = new Promise((r) => child.on('exit', (code, sig) => { srv.exit = { code, sig, at: Date.now() }; r(srv.exit); }));
  for (let i = 0; i < 100; i++) {
    if (srv.exit) throw new Error(`server exited ${JSON.stringify(srv.exit)}: ${srv.err}`);
    try { const r = await fetch(srv.url + '/healthz'); if (r.ok) return srv; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('private server did not start: ' + srv.err);
}

export async function stopServer(srv) {
  if (srv.exit) return srv.exit;
  srv.child.kill('SIGTERM');
  const t = setTimeout(() => srv.child.kill('SIGKILL'), 15000);
  const e = await srv.exited;
  clearTimeout(t);
  return e;
}
