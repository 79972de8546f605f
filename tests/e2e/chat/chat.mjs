// chat.mjs: live chat (issue 19) as real socket.io-clients see it: anonymous viewers,
// sending with acks, normalisation and limits, history, replies and badges.
import { story, assert, api, expectStatus, expectError, newUser, sleep } from '../lib.mjs';
import { liveStream, sock, call, ok, refused, collect, until, closeAll } from './chat_support.mjs';

story('anonymous viewer: joins a public stream, receives chat, may not send', async () => {
  const { host, stream } = await liveStream();
  const anon = await sock(null);
  const h = await sock(host.token);
  try {
    const j = await ok(anon, 'chat:join', { stream_id: stream });
    assert.equal(j.stream_id, stream);
    assert.equal(j.live, true);
    assert.deepEqual(j.settings, { slow_mode_s: 0, followers_only_s: null, links: true, emote_only: false, rate_per_s: 1, burst: 3 });
    await ok(h, 'chat:join', { stream_id: stream });
    const seen = collect(anon, 'chat:message');
    const a = await ok(h, 'chat:send', { stream_id: stream, text: 'hello viewers' });
    assert.match(a.id, /^\d+$/);
    assert.ok(Math.abs(a.server_ts - Date.now()) < 5000);
    await until(() => seen.length === 1, 3000, 'the message');
    assert.equal(seen[0].id, a.id);
    assert.equal(seen[0].text, 'hello viewers');
    assert.equal(seen[0].author.handle, host.handle);
    assert.deepEqual(seen[0].author.badges, ['host']);
    const e = await refused(anon, 'chat:send', { stream_id: stream, text: 'me too' }, 'unauthenticated');
    assert.ok(e.message);
    await refused(anon, 'chat:react', { stream_id: stream, kind: 'heart' }, 'unauthenticated');
    // a bad token is still refused (not silently anonymous)
    await assert.rejects(sock('not.a.jwt'), /unauthorized/);
    // leaving: nothing more arrives
    await ok(anon, 'chat:leave', { stream_id: stream });
    await sleep(1000);
    await ok(h, 'chat:send', { stream_id: stream, text: 'after leave' });
    await sleep(300);
    assert.equal(seen.length, 1);
  } finally { closeAll(anon, h); }
});

story('send: ack after durable, text normalised, 500 characters, bad input answered', async () => {
  const { stream } = await liveStream();
  const u = await newUser('chat');
  const s = await sock(u.token);
  try {
    // not in the room yet: refused before anything else
    await refused(s, 'chat:send', { stream_id: stream, text: 'early' }, 'not_in_room');
    await ok(s, 'chat:join', { stream_id: stream });
    const got = collect(s, 'chat:message');
    // control characters go, bidi overrides go, e + combining acute becomes é, spaces collapse
    const a = await ok(s, 'chat:send', { stream_id: stream, text: '  cafe\u0301\u0007  \u202Eok\ttab\n' });
    await until(() => got.length === 1);
    assert.equal(got[0].text, 'caf\u00e9 ok tab');
    await sleep(1100);
    await refused(s, 'chat:send', { stream_id: stream, text: 'x'.repeat(501) }, 'too_long');
    await ok(s, 'chat:send', { stream_id: stream, text: '\u00e9'.repeat(500) }); // 500 characters, 1000 bytes
    await refused(s, 'chat:send', { stream_id: stream, text: '\u0007\u0008' }, 'invalid_argument');
    const bad = await call(s, 'chat:send', { stream_id: stream });
    assert.equal(bad.error.code, 'invalid_argument');
    assert.equal(bad.error.field, 'text');
    assert.equal((await call(s, 'chat:send', 'a string')).error.code, 'invalid_argument');
    assert.equal((await call(s, 'chat:send', { stream_id: stream, text: 'x', extra: 1 })).error.field, 'extra');
    await refused(s, 'chat:join', { stream_id: '999999999' }, 'not_found');
    // an unknown event is answered with an error when it asks for an ack, and breaks nothing
    assert.equal((await call(s, 'chat:nope', { a: 1 })).error.code, 'unknown_event');
    s.emit('chat:nope', { a: 1 });
    await sleep(1100);
    const b = await ok(s, 'chat:send', { stream_id: stream, text: 'still here', reply_to: a.id });
    await until(() => got.length === 3);
    assert.equal(got[2].reply_to.id, a.id);
    assert.equal(got[2].reply_to.text, 'caf\u00e9 ok tab');
    await refused(s, 'chat:send', { stream_id: stream, text: 'to nothing', reply_to: '12345' }, 'not_found');
    // history: newest first, durable (what was acked is there)
    const h = expectStatus(await api('GET', `/v1/streams/${stream}/chat?limit=2`), 200).json;
    assert.deepEqual(h.data.map((m) => m.id), [b.id, h.data[1].id]);
    assert.ok(h.next_cursor);
    const h2 = expectStatus(await api('GET', `/v1/streams/${stream}/chat?cursor=${h.next_cursor}`), 200).json;
    assert.deepEqual(h2.data.map((m) => m.id), [a.id]);
    const h3 = expectStatus(await api('GET', `/v1/streams/${stream}/chat?before=${b.id}&limit=5`), 200).json;
    assert.equal(h3.data.length, 2);
    expectError(await api('GET', `/v1/streams/${stream}/chat?before=abc`), 400, 'invalid_argument', 'before');
    expectError(await api('GET', `/v1/streams/${stream}/chat?limit=1000`), 400, 'invalid_argument', 'limit');
    expectError(await api('GET', '/v1/streams/999999999/chat'), 404, 'not_found');
    // replay: ordered by the session timeline
    const r = expectStatus(await api('GET', `/v1/streams/${stream}/chat?since_offset=0`), 200).json;
    assert.deepEqual(r.data.map((m) => m.id)[0], a.id);
    assert.ok(r.data.every((m) => typeof m.offset_ms === 'number' && m.offset_ms >= 0));
  } finally { closeAll(s); }
});

story('rate limit: burst 3 then rate_limited with retry_after; per-channel setting', async () => {
  const { host, stream } = await liveStream();
  const u = await newUser('chat');
  const s = await sock(u.token), h = await sock(host.token);
  try {
    await ok(s, 'chat:join', { stream_id: stream });
    await ok(h, 'chat:join', { stream_id: stream });
    for (let i = 0; i < 3; i++) await ok(s, 'chat:send', { stream_id: stream, text: `m${i}` });
    const e = await refused(s, 'chat:send', { stream_id: stream, text: 'm3' }, 'rate_limited');
    assert.ok(e.retry_after >= 1);
    await sleep(1100);
    await ok(s, 'chat:send', { stream_id: stream, text: 'm4' });
    // the host raises the channel's burst: 6 in a row pass
    await ok(h, 'chat:settings', { stream_id: stream, burst: 6, rate_per_s: 5 });
    await sleep(1300);
    for (let i = 0; i < 6; i++) await ok(s, 'chat:send', { stream_id: stream, text: `b${i}` });
    await refused(s, 'chat:send', { stream_id: stream, text: 'b6' }, 'rate_limited');
    // viewers may not change settings
    await refused(s, 'chat:settings', { stream_id: stream, burst: 50 }, 'forbidden');
  } finally { closeAll(s, h); }
});

story('recovery: a viewer whose connection drops gets the messages it missed, once, in order', async () => {
  const { host, stream } = await liveStream();
  const { io } = await import('socket.io-client');
  const { URL_BASE } = await import('../lib.mjs');
  const v = io(URL_BASE + '/', { forceNew: true, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const h = await sock(host.token);
  try {
    await until(() => v.connected, 5000, 'connect');
    await ok(v, 'chat:join', { stream_id: stream });
    await ok(h, 'chat:join', { stream_id: stream });
    const got = collect(v, 'chat:message');
    await ok(h, 'chat:send', { stream_id: stream, text: 'before' });
    await until(() => got.length === 1);
    v.io.engine.close(); // transport close: the client reconnects with its pid and offset
    await ok(h, 'chat:send', { stream_id: stream, text: 'while away 1' });
    await ok(h, 'chat:send', { stream_id: stream, text: 'while away 2' });
    await until(() => v.connected && got.length === 3, 5000, 'the missed messages');
    assert.equal(v.recovered, true);
    assert.deepEqual(got.map((m) => m.text), ['before', 'while away 1', 'while away 2']);
    // still in the room: live messages keep coming
    await sleep(1100);
    await ok(h, 'chat:send', { stream_id: stream, text: 'after' });
    await until(() => got.length === 4);
  } finally { closeAll(v, h); }
});

story('order: messages sent back to back without waiting arrive and are stored in send order', async () => {
  const { host, stream } = await liveStream();
  const h = await sock(host.token), v = await sock(null);
  try {
    await ok(h, 'chat:join', { stream_id: stream });
    await ok(v, 'chat:join', { stream_id: stream });
    await ok(h, 'chat:settings', { stream_id: stream, rate_per_s: 20, burst: 50 });
    const got = collect(v, 'chat:message');
    const acks = await Promise.all(Array.from({ length: 30 }, (_, i) => call(h, 'chat:send', { stream_id: stream, text: `n${i}` })));
    assert.ok(acks.every((a) => a.data), JSON.stringify(acks.find((a) => !a.data)));
    await until(() => got.length === 30);
    assert.deepEqual(got.map((m) => m.text), Array.from({ length: 30 }, (_, i) => `n${i}`));
    const hist = expectStatus(await api('GET', `/v1/streams/${stream}/chat?limit=30`), 200).json.data;
    assert.deepEqual(hist.map((m) => m.text).reverse(), got.map((m) => m.text));
    assert.deepEqual(got.map((m) => m.id), acks.map((a) => a.data.id));
    // sends wait per socket, one in flight (SIO_SERIAL); beyond 32 waiting: busy, never reordered
    await sleep(2600); // the bucket refills (50 at 20/s)
    got.length = 0;
    const burst = await Promise.all(Array.from({ length: 45 }, (_, i) => call(h, 'chat:send', { stream_id: stream, text: `b${i}` })));
    const okd = burst.map((a, i) => (a.data ? `b${i}` : null)).filter(Boolean);
    assert.ok(burst.every((a) => a.data || a.error.code === 'busy'), JSON.stringify(burst.find((a) => a.error && a.error.code !== 'busy')));
    assert.ok(okd.length >= 33 && okd.length < 45, `${okd.length} accepted`);
    await until(() => got.length === okd.length);
    assert.deepEqual(got.map((m) => m.text), okd);
  } finally { closeAll(h, v); }
});

// top_buyer (issue 19): the host's best 3 buyers by net paid spend (orders.h's ranking).
// An unpaid order counts nothing; a purchase shows at the next message (the paid order
// drops the host's cached ranking); the host never wears it; another seller's buyer does not.
story('badges: top_buyer for the host\'s three best paying buyers, from the next message after paying', async () => {
  const { newSeller, newProduct, checkout, paySandbox } = await import('../market/market_lib.mjs');
  const host = await newSeller('tbh');
  const st = expectStatus(await api('POST', '/v1/streams', { token: host.token, body: { title: 'shop live', visibility: 'public' } }), 201).json.data;
  expectStatus(await api('POST', `/v1/test/streams/${st.id}/live`, { token: host.token }), 200);
  const other = await newSeller('tbo');
  const buyers = [];
  for (let i = 0; i < 5; i++) buyers.push(await newUser('tbb'));
  const buy = async (seller, u, price, pay = true) => {
    const p = await newProduct(seller, { price, stock: 5 });
    const c = expectStatus(await checkout(u, [{ variant_id: p.variants[0].id, quantity: 1 }]), 201).json.data;
    if (pay) await paySandbox(u, c.checkout_id);
  };
  const socks = [];
  try {
    const h = await sock(host.token);
    socks.push(h);
    await ok(h, 'chat:join', { stream_id: st.id });
    const seen = collect(h, 'chat:message');
    const say = async (u, text) => {
      const s = u.s || (u.s = await sock(u.token));
      if (!socks.includes(s)) { socks.push(s); await ok(s, 'chat:join', { stream_id: st.id }); }
      const a = await ok(s, 'chat:send', { stream_id: st.id, text });
      await until(() => seen.some((m) => m.id === a.id), 3000, text);
      return seen.find((m) => m.id === a.id).author.badges;
    };
    const [a, b, c, d, e] = buyers;
    // before anyone paid: no badge (and the empty ranking is now cached)
    assert.deepEqual(await say(a, 'hi before buying'), []);
    await buy(host, a, 4000);
    assert.deepEqual(await say(a, 'bought!'), ['top_buyer']); // the cached ranking was dropped
    await buy(host, b, 3000);
    await buy(host, c, 2000);
    await buy(host, d, 1000);                 // fourth: not in the top 3
    await buy(host, e, 9000, false);          // unpaid: counts nothing
    await buy(other, d, 50000);               // a big buyer of another seller only
    for (const [u, want] of [[b, ['top_buyer']], [c, ['top_buyer']], [d, []], [e, []]])
      assert.deepEqual(await say(u, `hello from ${u.handle}`), want, u.handle);
    assert.deepEqual(await say(host, 'thanks all'), ['host', 'seller']);
    // the badge is stored with the message: history shows it as sent
    const hist = expectStatus(await api('GET', `/v1/streams/${st.id}/chat`, { token: host.token }), 200).json.data;
    assert.ok(hist.some((m) => m.author.handle === a.handle && m.author.badges.includes('top_buyer')));
  } finally { closeAll(...socks); }
});
