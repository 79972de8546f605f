// chat_live.mjs: what is broadcast on a clock: reactions (<= 4/s as totals), polls
// (one vote each, changeable, throttled results, final stored), viewer counts (<= 1/s,
// from presence; joins and leaves are not broadcast).
import { story, assert, api, expectStatus, newUser, sleep } from '../lib.mjs';
import { liveStream, sock, call, ok, refused, collect, until, closeAll } from './chat_support.mjs';

story('reactions: 300 hearts from 3 users reach viewers as at most 4 totals a second', async () => {
  const { host, stream } = await liveStream();
  const users = await Promise.all([1, 2, 3].map(() => newUser('rx')));
  const ss = await Promise.all(users.map((u) => sock(u.token)));
  const watcher = await sock(null);
  try {
    for (const s of [...ss, watcher]) await ok(s, 'chat:join', { stream_id: stream });
    const got = collect(watcher, 'chat:reactions');
    const t0 = Date.now();
    await Promise.all(ss.map(async (s) => {
      for (let i = 0; i < 100; i++) s.emit('chat:react', { stream_id: stream, kind: i % 10 ? 'heart' : 'fire' });
    }));
    await until(() => got.length && got[got.length - 1].totals.heart + got[got.length - 1].totals.fire === 300, 5000, 'all 300 counted');
    const secs = Math.max(1, (Date.now() - t0) / 1000);
    assert.ok(got.length <= Math.ceil(secs * 4) + 1, `${got.length} broadcasts in ${secs} s`);
    assert.equal(got[got.length - 1].totals.fire, 30);
    // the per-user cap: the event row's rate (600 a minute) answers rate_limited beyond it
    const u = ss[0];
    let limited = 0;
    const acks = [];
    for (let i = 0; i < 700; i++) acks.push(call(u, 'chat:react', { stream_id: stream, kind: 'wow' }).then((r) => { if (r.error?.code === 'rate_limited') limited++; }));
    await Promise.all(acks);
    assert.ok(limited >= 100, `limited ${limited}`);
    const bad = await call(ss[1], 'chat:react', { stream_id: stream, kind: 'poop' });
    assert.equal(bad.error.code, 'invalid_argument');
    assert.equal(bad.error.field, 'kind');
    // analytics gets the counts in the same transactions (analytics.h): messages and reactions
    const h = await sock(host.token);
    await ok(h, 'chat:join', { stream_id: stream });
    await ok(h, 'chat:send', { stream_id: stream, text: 'one' });
    await ok(h, 'chat:send', { stream_id: stream, text: 'two' });
    await sleep(600);
    const an = expectStatus(await api('GET', `/v1/streams/${stream}/analytics`, { token: host.token }), 200).json.data;
    assert.equal(an.chat_messages, 2);
    assert.ok(an.reactions >= 300, JSON.stringify(an));
    h.close();
    void host;
  } finally { closeAll(...ss, watcher); }
});

story('polls: 2-5 options, one vote per user (changeable), results throttled, final stored', async () => {
  const { host, stream } = await liveStream();
  const [a, b] = await Promise.all([newUser('va'), newUser('vb')]);
  const [h, sa, sb, anon] = await Promise.all([sock(host.token), sock(a.token), sock(b.token), sock(null)]);
  try {
    for (const s of [h, sa, sb, anon]) await ok(s, 'chat:join', { stream_id: stream });
    await refused(sa, 'chat:poll', { stream_id: stream, question: 'q?', options: ['x', 'y'], duration_s: 10 }, 'forbidden');
    assert.equal((await call(h, 'chat:poll', { stream_id: stream, question: 'q?', options: ['x'], duration_s: 10 })).error.field, 'options');
    assert.equal((await call(h, 'chat:poll', { stream_id: stream, question: 'q?', options: ['1', '2', '3', '4', '5', '6'], duration_s: 10 })).error.field, 'options');
    const polls = collect(anon, 'chat:poll_started'), results = collect(anon, 'chat:poll_results'), closed = collect(anon, 'chat:poll_closed');
    const p = await ok(h, 'chat:poll', { stream_id: stream, question: 'Which colour?', options: ['red', 'green', 'blue'], duration_s: 10 });
    await until(() => polls.length === 1);
    assert.deepEqual(polls[0].options, ['red', 'green', 'blue']);
    await refused(h, 'chat:poll', { stream_id: stream, question: 'another', options: ['x', 'y'], duration_s: 10 }, 'poll_open');
    await refused(anon, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 0 }, 'unauthenticated');
    await ok(sa, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 0 });
    await ok(sb, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 0 });
    await ok(sb, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 2 }); // changed
    await ok(sb, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 2 }); // same again: still one vote
    await refused(sa, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 3 }, 'invalid_argument');
    await until(() => results.length && results[results.length - 1].counts.join() === '1,0,1', 3000, 'results 1,0,1');
    assert.ok(results.length <= 4, `${results.length} result broadcasts for 4 votes in < 1 s`);
    const late = await sock(null);
    const j = await ok(late, 'chat:join', { stream_id: stream });
    assert.deepEqual(j.poll.counts, [1, 0, 1]);
    late.close();
    await ok(h, 'chat:poll_end', { stream_id: stream, poll_id: p.id });
    await until(() => closed.length === 1, 3000, 'chat:poll_closed');
    assert.deepEqual(closed[0].counts, [1, 0, 1]);
    assert.equal(closed[0].closed, true);
    await refused(sa, 'chat:vote', { stream_id: stream, poll_id: p.id, option: 1 }, 'poll_closed');
  } finally { closeAll(h, sa, sb, anon); }
});

story('viewer count: from presence, at most once a second, anonymous viewers counted', async () => {
  const { stream } = await liveStream();
  const first = await sock(null);
  try {
    await ok(first, 'chat:join', { stream_id: stream });
    const counts = collect(first, 'chat:viewers');
    const joins = collect(first, 'chat:join');
    const more = await Promise.all([1, 2, 3, 4].map(() => sock(null)));
    for (const s of more) await ok(s, 'chat:join', { stream_id: stream });
    await until(() => counts.length && counts[counts.length - 1].count === 5, 5000, 'count 5');
    const t0 = Date.now();
    closeAll(...more.slice(0, 2));
    await until(() => counts[counts.length - 1].count === 3, 5000, 'count 3');
    // never more than one update per second
    await sleep(1500);
    const n = counts.length;
    assert.ok(n <= 2 + Math.ceil((Date.now() - t0) / 1000) + 1, `${n} updates`);
    assert.equal(joins.length, 0, 'joins are not broadcast');
    closeAll(...more.slice(2));
  } finally { closeAll(first); }
});
