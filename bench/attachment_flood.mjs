// attachment_flood.mjs URL PID [options]: memory a server holds for sockets that flood
// binary attachments without having joined a namespace (issue 15, item 5). Starts
// nothing: point it at a running server and give the server's PID; it prints the
// server's VmRSS (from /proc/PID/status) before, during and after.
//
// Each of N sockets opens a WebSocket to URL's /socket.io/, optionally sends a CONNECT
// (--connect TOKEN: a refused one, say, so the socket is still in no namespace), then a
// BINARY_EVENT header announcing A attachments and A-1 binary frames of SIZE bytes,
// holding back the last, so a server that buffers attachments keeps them. "during" is
// read once every socket has sent all it could (or been closed); then all close.
//
//   node bench/attachment_flood.mjs http://127.0.0.1:18121 "$(pgrep -nx vidzo)"
//   options: --sockets 100 --attachments 16 --size 999000 --connect TOKEN --hold 2000
// SIZE defaults to just under maxPayload (1e6): a larger frame is refused by its size.
// Uses `ws` from tests/node_modules (a dependency of engine.io-client).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const WebSocket = require('ws');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const [url, pid] = args;
if (!url || !/^\d+$/.test(pid || '')) {
  console.error('usage: node bench/attachment_flood.mjs URL PID [--sockets N] [--attachments A] [--size BYTES] [--connect TOKEN] [--hold MS]');
  process.exit(2);
}
const N = Number(opt('sockets', 100)), A = Number(opt('attachments', 16)), SIZE = Number(opt('size', 999000));
const TOKEN = opt('connect', null), HOLD = Number(opt('hold', 2000));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function mem() {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((st.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || 0);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;

const wsUrl = `${url.replace(/^http/, 'ws').replace(/\/$/, '')}/socket.io/?EIO=4&transport=websocket`;
const header = `45${A}-${JSON.stringify(['upload', ...Array.from({ length: A }, (_, i) => ({ _placeholder: true, num: i }))])}`;
const chunk = Buffer.alloc(SIZE, 0x5a);

// One flooding socket; resolves with what happened to it.
function flood() {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const r = { ws, sent: 0, closed: false, code: 0, connectReply: '' };
    let started = false;
    const done = () => resolve(r);
    ws.on('error', () => {});
    ws.on('close', (code) => { r.closed = true; r.code = code; done(); });
    const send = (data) => new Promise((res) => {
      if (ws.readyState !== WebSocket.OPEN) return res(false);
      ws.send(data, (err) => res(!err)); // called once written out: the server's reading paces us
    });
    const go = async () => {
      if (started) return;
      started = true;
      if (!(await send(header))) return done();
      for (let i = 0; i < A - 1; i++) {
        if (!(await send(chunk))) return done();
        r.sent++;
      }
      done(); // everything but the last attachment is out
    };
    ws.on('message', (data, isBinary) => {
      const t = isBinary ? '' : data.toString();
      if (t[0] === '0') { // the Engine.IO open packet
        if (TOKEN) ws.send(`40${JSON.stringify({ token: TOKEN })}`);
        else go();
      } else if (t.startsWith('40') || t.startsWith('44')) {
        r.connectReply = t.slice(0, 60);
        go();
      } else if (t === '2') ws.send('3'); // Engine.IO ping
    });
  });
}

const before = mem();
console.log(`server ${pid}: VmRSS before ${mb(before.rss)} (peak so far ${mb(before.hwm)})`);
console.log(`${N} sockets x (header announcing ${A} attachments + ${A - 1} x ${SIZE} B)${TOKEN ? `, after CONNECT {token:"${TOKEN}"}` : ', no CONNECT'} -> ${wsUrl}`);
const t0 = Date.now();
const results = await Promise.all(Array.from({ length: N }, flood));
await sleep(HOLD); // let the server read what is in flight
const during = mem();
const open = results.filter((x) => !x.closed && x.ws.readyState === WebSocket.OPEN).length;
const sentMB = results.reduce((s, x) => s + x.sent, 0) * SIZE / 1048576;
const codes = {};
for (const x of results) if (x.closed) codes[x.code] = (codes[x.code] || 0) + 1;
if (TOKEN) console.log(`CONNECT replies: ${[...new Set(results.map((x) => x.connectReply))].join(' | ')}`);
console.log(`flood done in ${Date.now() - t0} ms: ${sentMB.toFixed(0)} MB of attachments written; sockets still open ${open}, closed by the server ${N - open} (close codes ${JSON.stringify(codes)})`);
console.log(`VmRSS during ${mb(during.rss)} (+${mb(during.rss - before.rss)}), peak ${mb(during.hwm)}`);
for (const x of results) x.ws.terminate();
await sleep(HOLD);
const after = mem();
console.log(`VmRSS after closing ${mb(after.rss)} (+${mb(after.rss - before.rss)} over before)`);
console.log(`RESULT sockets=${N} rss_before_kb=${before.rss} rss_during_kb=${during.rss} rss_after_kb=${after.rss} peak_kb=${during.hwm} still_open=${open}`);
process.exit(0);
