// issue 15 (item 5): before a namespace CONNECT succeeds, a client makes the server hold
// nothing large. A binary packet for a namespace the socket is not in is refused at its
// header, before its attachments (up to 16 x 1 MB) are read and copied; and until a
// CONNECT is accepted, an Engine.IO message or polling POST is at most 16 KB (1009 /
// 413), not maxPayload. A connected socket still sends up to maxPayload.
import { story, assert, URL_BASE, sleep, newUser, metric } from '../lib.mjs';
import { get, post, open, frame, rawWs } from './realtime_support.mjs';

const BIN_HEADER = (nsp, n) => {
  const ph = Array.from({ length: n }, (_, i) => ({ _placeholder: true, num: i }));
  return `45${n}-${nsp === '/' ? '' : `${nsp},`}${JSON.stringify(['upload', ...ph])}`;
};
let user;
const theUser = async () => (user ??= await newUser('att'));

// A raw WebSocket past the Engine.IO open packet; `connect`: a CONNECT payload for "/".
async function session(connect) {
  const ws = await rawWs('&transport=websocket');
  assert.equal(ws.status, 101);
  assert.equal((await ws.next()).text[0], '0');
  if (connect) {
    ws.text(`40${JSON.stringify(connect)}`);
    ws.reply = (await ws.next()).text;
  }
  return ws;
}

// Resolves with the close code if the server closes within ms, else null.
async function closeCode(ws, ms = 1500) {
  const f = await Promise.race([
    (async () => { let x; while ((x = await ws.next(ms + 500).catch(() => null)) && x.op !== 8); return x; })(),
    sleep(ms).then(() => null),
  ]);
  return f ? f.data.readUInt16BE(0) : null;
}

story('a binary event before any CONNECT is refused at its header, before its attachments', async () => {
  // no CONNECT at all, and a CONNECT the auth check refused: the socket is in no namespace
  for (const connect of [null, { token: 'forged.access.token' }]) {
    const ws = await session(connect);
    if (connect) assert.match(ws.reply, /^44\{"message":"unauthorized"\}$/);
    ws.text(BIN_HEADER('/', 16));
    assert.equal(await closeCode(ws), 1008, `closed at the header (${connect ? 'refused CONNECT' : 'no CONNECT'})`);
    ws.end();
  }
});

story('a connected socket\'s binary event for a namespace it is not in is refused at its header', async () => {
  const ws = await session({ token: (await theUser()).token });
  assert.match(ws.reply, /^40\{"sid":/);
  ws.text(BIN_HEADER('/elsewhere', 2));
  assert.equal(await closeCode(ws), 1008);
  ws.end();
});

story('before a CONNECT is accepted a message is at most 16 KB; after it, up to maxPayload', async () => {
  // WebSocket: 20 KB before CONNECT is over the pre-CONNECT bound (1009, "too big"),
  // not read whole and then refused as a packet for no namespace (1008)
  let ws = await session(null);
  ws.text(`42${JSON.stringify(['x', 'y'.repeat(20000)])}`);
  assert.equal(await closeCode(ws), 1009);
  ws.end();
  // a binary frame announcing 1 MB (an attachment) before CONNECT: refused from its
  // header, not waited for (only its first 2 KB are sent)
  ws = await session({ token: 'nope' });
  ws.raw(frame(2, Buffer.alloc(1 << 20, 7)).subarray(0, 2048));
  assert.equal(await closeCode(ws), 1009);
  ws.end();
  // once in "/", 200 KB is an ordinary message: no close, the session answers after it
  ws = await session({ token: (await theUser()).token });
  assert.match(ws.reply, /^40\{"sid":/);
  ws.text(`42${JSON.stringify(['nobody-listens', 'y'.repeat(200000)])}`);
  ws.text('40/nope,{}');
  assert.equal((await ws.next()).text, '44/nope,{"message":"Invalid namespace"}');
  ws.end();
  // long-polling: a 20 KB POST before CONNECT gets Engine.IO's 413 and the session ends
  const { sid } = await open();
  const q = `&transport=polling&sid=${sid}`;
  assert.equal((await post(q, `42${JSON.stringify(['x', 'y'.repeat(20000)])}`)).status, 413);
  assert.equal((await get(q)).status, 400);
});

story('30 sockets announcing 16 MB of attachments each, without a CONNECT, cost the server little', async () => {
  // each sends a binary-event header announcing 16 attachments and then 15 x 1 MB (999 kB): the
  // server used to copy them all and hold them waiting for the 16th (450 MB here)
  const rss = async () => (await metric('process_resident_memory_bytes')) ?? 0;
  const before = await rss();
  const N = 30, chunk = Buffer.alloc(999000, 0x5a); // each under maxPayload (1e6)
  const socks = await Promise.all(Array.from({ length: N }, () => session(null)));
  let closed = 0;
  await Promise.all(socks.map(async (ws) => {
    ws.text(BIN_HEADER('/', 16));
    for (let i = 0; i < 15 && !ws.closed; i++) { ws.send(2, chunk); await sleep(1); }
    // closed by the server (the close frame itself may be lost to the TCP reset that
    // closing with unread input causes)
    if (await Promise.race([ws.closedP.then(() => true), sleep(3000).then(() => false)])) closed++;
  }));
  const grew = (await rss()) - before;
  socks.forEach((ws) => ws.end());
  assert.equal(closed, N, 'every flooding socket was closed at its header');
  assert.ok(grew < 32 << 20, `RSS grew by ${(grew / 1048576).toFixed(1)} MB`);
}, { timeout: 60000 });
