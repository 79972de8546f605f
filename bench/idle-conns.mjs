// idle-conns.mjs PORT N: opens N keep-alive connections, sends one GET /healthz on each,
// waits for every answer, then holds them idle and prints "ready N" until killed.
import net from 'node:net';
const [port, n] = [Number(process.argv[2]), Number(process.argv[3] || 10000)];
let ready = 0;
const socks = [];
function open(i) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.once('data', () => { ready++; resolve(); });
    s.on('error', reject);
    socks.push(s);
  });
}
for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => open(i + k)));
console.log(`ready ${ready}`);
setInterval(() => {}, 1 << 30);
