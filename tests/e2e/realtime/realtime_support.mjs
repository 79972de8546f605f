// realtime_support.mjs: helpers the realtime story files share (no stories here): HTTP
// long-polling calls, a raw WebSocket client over TCP for what client libraries never
// send, and a server of a story's own (other flags than the suite's, or restartable).
import net from 'node:net';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, assert, URL_BASE, sleep } from '../lib.mjs';
import { checkSocket } from '../../contract/validate.mjs';

export const EIO = '/socket.io/?EIO=4';

// A long-polling request (q: the query after EIO=4) and what it answered: { status, text }.
export async function get(q, { method = 'GET', raw, headers } = {}) {
  const r = await api(method, EIO + q, { raw, headers });
  return { status: r.status, text: r.text };
}
export const post = (q, body) => get(q, { method: 'POST', raw: body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
export async function open() {
  const r = await get('&transport=polling');
  assert.equal(r.status, 200);
  assert.equal(r.text[0], '0');
  return JSON.parse(r.text.slice(1));
}

// A raw WebSocket client over TCP: frames are masked unless told otherwise.
export function frame(op, payload, { mask = true, fin = true, rsv = 0 } = {}) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = p.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.from([0, 126, len >> 8, len & 255]) : (() => { const b = Buffer.alloc(10); b[1] = 127; b.writeBigUInt64BE(BigInt(len), 2); return b; })();
  head[0] = (fin ? 0x80 : 0) | rsv | op;
  if (!mask) return Buffer.concat([head, p]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.from(p.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([head, key, body]);
}
export function rawWs(query, base = URL_BASE) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0), upgraded = false;
    const frames = [], waiters = [];
    const ws = {
      frames, closed: false, status: 0,
      send: (op, p, o) => s.write(frame(op, p, o)),
      text: (t) => s.write(frame(1, t)),
      raw: (b) => s.write(b),
      end: () => s.destroy(),
      pause: () => s.pause(),
      resume: () => s.resume(),
      next: (ms = 3000) => new Promise((res, rej) => {
        if (frames.length) return res(frames.shift());
        if (ws.closed) return res(null);
        const t = setTimeout(() => rej(new Error('no frame')), ms);
        waiters.push((f) => { clearTimeout(t); res(f); });
      }),
      closedP: new Promise((res) => s.on('close', () => { ws.closed = true; res(); while (waiters.length) waiters.shift()(null); })),
    };
    s.on('error', () => {});
    s.on('connect', () => s.write(`GET ${EIO}${query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        const head = buf.subarray(0, i).toString();
        ws.status = Number(head.split(' ')[1]);
        buf = buf.subarray(i + 4);
        upgraded = true;
        if (ws.status !== 101) return resolve(ws);
        const want = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        if (!head.includes(want)) return reject(new Error('bad Sec-WebSocket-Accept'));
        resolve(ws);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 127, off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const f = { op: buf[0] & 15, data: buf.subarray(off, off + len) };
        f.text = f.data.toString();
        buf = buf.subarray(off + len);
        if (waiters.length) waiters.shift()(f); else frames.push(f);
      }
    });
  });
}
// Expects the server to close: a close frame with `code` (if given), then TCP close.
export async function expectClosed(ws, code) {
  let f;
  while ((f = await ws.next(3000))) {
    if (f.op === 8) { if (code) assert.equal(f.data.readUInt16BE(0), code); break; }
  }
  await Promise.race([ws.closedP, sleep(3000).then(() => { throw new Error('TCP not closed'); })]);
}

// A server of the story's own (VZ_TEST_BIN, or build/debug/vidzo) on 127.0.0.1:port:
// `vidzo serve --dev` plus extra flags (the suite's own server runs with --bench).
export function startOwn(port, dataDir, extra = []) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const bin = process.env.VZ_TEST_BIN || join(root, 'build', 'debug', 'vidzo');
  assert.ok(existsSync(bin), `no server binary at ${bin}`);
  return spawn(bin, ['serve', '--port', String(port), '--bind', '127.0.0.1', '--threads', '2', '--dev',
    '--data-dir', dataDir, '--log-level', 'warn', '--shutdown-timeout', '2', ...extra], { stdio: 'ignore' });
}
export async function waitUp(port) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/v1/health`)).ok) return; } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error('own server did not start');
}

// ---- socket.io-client helpers shared by the stories ---------------------------------
// The next `ev` on sock (its arguments, or the one argument), or a rejection after ms.
export function once(sock, ev, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} within ${ms} ms`)), ms);
    sock.once(ev, (...a) => { clearTimeout(t); resolve(a.length > 1 ? a : a[0]); });
  });
}
// Resolves with the socket once connected; a refused CONNECT rejects with its error.
// From then on every event the server emits to it is checked against docs/asyncapi.yaml
// (events the contract does not describe are let through); a mismatch fails at the
// next ack() on the socket.
export function connected(s, ms = 5000) {
  if (!s.__contract) {
    s.__contract = [];
    s.onAny((ev, ...args) => s.__contract.push(...checkSocket(s.nsp, ev, 'emitted', args[0])));
  }
  if (s.connected) return Promise.resolve(s);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no connect within ${ms} ms`)), ms);
    s.once('connect', () => { clearTimeout(t); resolve(s); });
    s.once('connect_error', (e) => { clearTimeout(t); reject(e); });
  });
}
// An emit that waits for the server's acknowledgement (5 s); the ack (and what the server
// emitted meanwhile) must keep the AsyncAPI contract (tests/contract/validate.mjs).
export async function ack(s, ...args) {
  const a = await s.timeout(5000).emitWithAck(...args);
  const problems = [...(s.__contract || []).splice(0), ...checkSocket(s.nsp, String(args[0]), 'ack', [a])];
  if (problems.length) assert.fail(`contract: ${problems.join('\n  ')}`);
  return a;
}
