// bench/chat-send.mjs: the chat path end to end under a large room (issue 19): SENDERS (100)
// signed-in users send chat:send at RATE msgs/s in total for SECONDS through the real
// pipeline (checks, token bucket, group-commit writer, broadcast after the commit); one
// listener socket of the room measures send -> receive (p50/p99) and checks every
// acknowledged message arrived once and in each sender's order; the history route must
// then hold every acknowledged message. The room's other members are sioload's viewers
// (bench/chat-10k.sh). Server CPU per 100k deliveries from /proc/PID/stat and
// vidzo_realtime_messages_delivered_total. Prints one RESULT line.
// usage: node bench/chat-send.mjs PORT DATA_DIR SERVER_PID [RATE] [SECONDS] [VIEWERS] [SENDERS]
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const require = createRequire(new URL('../tests/package.json', import.meta.url));
const { io } = require('socket.io-client');
const [port, dataDir, pid, rate = '100', secs = '20', viewers = '10000', senders = '100'] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
process.env.VZ_TEST_URL = base;
const { newUser, api, sleep } = await import('../tests/e2e/lib.mjs');
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const delivered = async () => Number((await (await fetch(`${base}/metrics`)).text()).match(/^vidzo_realtime_messages_delivered_total (\d+)/m)[1]);
const sock = (token) => new Promise((res, rej) => {
  const s = io(base + '/', { forceNew: true, reconnection: false, transports: ['websocket'], ...(token ? { auth: { token } } : {}) });
  s.on('connect', () => res(s)); s.on('connect_error', rej);
});
const ok = async (s, ev, arg) => { const r = await s.timeout(10000).emitWithAck(ev, arg); if (!r.data) throw new Error(`${ev}: ${JSON.stringify(r)}`); return r.data; };

if (process.env.CHAT_BENCH_SETUP) {
  // phase 1: a host, a live stream and the senders; writes them for phase 2
  const host = await newUser('bhost', { base, dataDir });
  const st = (await api('POST', '/v1/streams', { token: host.token, body: { title: 'bench' } })).json.data;
  await api('POST', `/v1/test/streams/${st.id}/live`, { token: host.token });
  const h = await sock(host.token);
  await ok(h, 'chat:join', { stream_id: st.id });
  await ok(h, 'chat:settings', { stream_id: st.id, rate_per_s: 20, burst: 50 });
  h.close();
  const us = [];
  for (let i = 0; i < Number(senders); i++) us.push(await newUser(`bs${i}`, { base, dataDir }));
  writeFileSync(process.env.CHAT_BENCH_SETUP, JSON.stringify({ stream: st.id, tokens: us.map((u) => u.token) }));
  console.log(st.id);
  process.exit(0);
}
const setup = JSON.parse(readFileSync(process.env.CHAT_BENCH_STATE, 'utf8'));
const stream = setup.stream;
const listener = await sock(null);
const j = await ok(listener, 'chat:join', { stream_id: stream });
// wait for the viewers (presence across loops, ~1 s old)
let seen = j.viewers;
listener.on('chat:viewers', (v) => { seen = v.count; });
for (let t0 = Date.now(); seen < Number(viewers) && Date.now() - t0 < 120000;) await sleep(200);
const ss = await Promise.all(setup.tokens.map((t) => sock(t)));
for (const s of ss) await ok(s, 'chat:join', { stream_id: stream });
const sentAt = new Map(), lat = [], ackLat = [], got = new Map(), order = new Map();
let dup = 0, outOfOrder = 0, errors = 0;
const acked = [];
listener.on('chat:message', (m) => {
  const now = process.hrtime.bigint();
  if (got.has(m.text)) { dup++; return; }
  got.set(m.text, now);
  const [sn, seq] = m.text.split('.').map(Number);
  if ((order.get(sn) ?? -1) > seq) outOfOrder++;
  order.set(sn, seq);
  const t = sentAt.get(m.text);
  if (t) lat.push(Number(now - t) / 1e6);
});
const c0 = cpu(), d0 = await delivered(), t0 = Date.now();
const n = Number(rate) * Number(secs), gapMs = 1000 / Number(rate);
const pending = [];
for (let k = 0; k < n; k++) {
  const due = t0 + k * gapMs;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
  const si = k % ss.length, text = `${si}.${Math.floor(k / ss.length)}.bench`;
  const t = process.hrtime.bigint();
  sentAt.set(text, t);
  pending.push(ss[si].timeout(10000).emitWithAck('chat:send', { stream_id: stream, text }).then((r) => {
    if (r.data) { acked.push({ id: r.data.id, text }); ackLat.push(Number(process.hrtime.bigint() - t) / 1e6); } else errors++;
  }, () => errors++));
}
await Promise.all(pending);
const sendSecs = (Date.now() - t0) / 1000;
for (let w = Date.now(); acked.some((a) => !got.has(a.text)) && Date.now() - w < 10000;) await sleep(50);
const c1 = cpu(), d1 = await delivered();
const missing = acked.filter((a) => !got.has(a.text)).length;
// history complete: every acknowledged id stored
const ids = new Set();
let cursor = '';
for (;;) {
  const r = (await api('GET', `/v1/streams/${stream}/chat?limit=100${cursor}`)).json;
  r.data.forEach((m) => ids.add(m.id));
  if (!r.next_cursor) break;
  cursor = `&cursor=${r.next_cursor}`;
}
const notStored = acked.filter((a) => !ids.has(a.id)).length;
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1) : 'na'; };
const deliveries = d1 - d0;
console.log(`RESULT viewers=${seen} sent=${n} acked=${acked.length} errors=${errors} send_s=${sendSecs.toFixed(1)} ` +
  `missing=${missing} duplicate=${dup} out_of_order=${outOfOrder} not_in_history=${notStored} ` +
  `lat_p50_ms=${pct(lat, 0.5)} lat_p99_ms=${pct(lat, 0.99)} lat_max_ms=${pct(lat, 1)} ack_p50_ms=${pct(ackLat, 0.5)} ack_p99_ms=${pct(ackLat, 0.99)} ` +
  `deliveries=${deliveries} deliveries_per_s=${Math.round(deliveries / sendSecs)} server_cpu_s=${(c1 - c0).toFixed(2)} ` +
  `cpu_ms_per_100k=${deliveries ? ((c1 - c0) * 1000 * 100000 / deliveries).toFixed(0) : 'na'}`);
[listener, ...ss].forEach((s) => s.close());
process.exit(0);
