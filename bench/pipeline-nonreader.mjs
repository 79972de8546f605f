// pipeline-nonreader.mjs: server memory while clients pipeline requests and never read
// the replies (issue 15, item 4). Each client sends ~63 KB of pipelined `GET <path>` at
// once and pauses its socket; after 2 s the server's RSS is read from /proc.
// usage: node bench/pipeline-nonreader.mjs PORT SERVER_PID [CLIENTS=20] [PATH=/metrics]
import net from 'node:net';
import { readFileSync } from 'node:fs';

const [port, pid, clients = '20', path = '/metrics'] = process.argv.slice(2);
if (!port || !pid) { console.error('usage: node bench/pipeline-nonreader.mjs PORT SERVER_PID [CLIENTS] [PATH]'); process.exit(2); }
const rssMb = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const req = `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;
const before = rssMb();
const socks = [];
for (let i = 0; i < Number(clients); i++) {
  const s = net.connect(Number(port), '127.0.0.1');
  s.pause();
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write(req.repeat(Math.floor(63000 / req.length)));
  socks.push(s);
}
await new Promise((r) => setTimeout(r, 2000));
const during = rssMb();
const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const answered = m.split('\n').filter((l) => l.startsWith(`vidzo_http_requests_total{route="${path}"`))
  .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
console.log(`${clients} non-reading clients: RSS ${before.toFixed(1)} MB before, ${during.toFixed(1)} MB during; ` +
  `${answered} replies made (${Math.floor(63000 / req.length) * Number(clients)} requests sent)`);
for (const s of socks) s.destroy();
