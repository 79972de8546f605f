// chat_moderation.mjs: moderation like Twitch, as every client of the room sees it.
import { story, assert, api, expectStatus, expectError, newUser, asAdmin, sleep } from '../lib.mjs';
import { liveStream, sock, call, ok, refused, collect, until, closeAll } from './chat_support.mjs';

async function room() {
  const { host, stream } = await liveStream();
  const mod = await newUser('mod'), viewer = await newUser('view');
  const [h, m, v, anon] = await Promise.all([sock(host.token), sock(mod.token), sock(viewer.token), sock(null)]);
  for (const s of [h, m, v, anon]) await ok(s, 'chat:join', { stream_id: stream });
  return { host, mod, viewer, stream, h, m, v, anon };
}

story('moderators: host appoints; only they moderate; badge; audited', async () => {
  const r = await room();
  try {
    await refused(r.m, 'chat:delete', { stream_id: r.stream, message_id: '1' }, 'forbidden');
    await refused(r.v, 'chat:moderator', { stream_id: r.stream, user_id: r.mod.id, on: true }, 'forbidden');
    const seen = collect(r.anon, 'chat:moderator_changed');
    await ok(r.h, 'chat:moderator', { stream_id: r.stream, user_id: r.mod.id, on: true });
    await until(() => seen.length === 1);
    assert.deepEqual(seen[0], { stream_id: r.stream, user_id: r.mod.id, on: true });
    // a moderator cannot appoint others
    await refused(r.m, 'chat:moderator', { stream_id: r.stream, user_id: r.viewer.id, on: true }, 'forbidden');
    const msgs = collect(r.anon, 'chat:message');
    await ok(r.m, 'chat:send', { stream_id: r.stream, text: 'mod here' });
    await until(() => msgs.length === 1);
    assert.deepEqual(msgs[0].author.badges, ['moderator']);
    const admin = await asAdmin();
    const audit = expectStatus(await api('GET', '/v1/admin/audit?limit=50', { token: admin.token }), 200).json.data;
    assert.ok(audit.some((a) => a.action === 'chat.mod' && a.target_id === r.mod.id), 'chat.mod audited');
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('delete a message: gone for everyone live and from history; clear chat', async () => {
  const r = await room();
  try {
    await ok(r.h, 'chat:moderator', { stream_id: r.stream, user_id: r.mod.id, on: true });
    const a = await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'delete me' });
    const b = await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'keep me' });
    const gone = [collect(r.anon, 'chat:deleted'), collect(r.v, 'chat:deleted'), collect(r.h, 'chat:deleted')];
    await ok(r.m, 'chat:delete', { stream_id: r.stream, message_id: a.id });
    await until(() => gone.every((g) => g.length === 1), 3000, 'chat:deleted everywhere');
    assert.equal(gone[0][0].id, a.id);
    await refused(r.m, 'chat:delete', { stream_id: r.stream, message_id: a.id }, 'not_found');
    const h = expectStatus(await api('GET', `/v1/streams/${r.stream}/chat`), 200).json.data;
    assert.deepEqual(h.map((m) => m.id), [b.id]);
    // pin, then clear: everything goes, the pin too
    const pins = collect(r.anon, 'chat:pinned');
    await ok(r.m, 'chat:pin', { stream_id: r.stream, message_id: b.id });
    await until(() => pins.length === 1);
    assert.equal(pins[0].pinned.id, b.id);
    assert.equal(pins[0].pinned.text, 'keep me');
    const late = await sock(null);
    assert.equal((await ok(late, 'chat:join', { stream_id: r.stream })).pinned.id, b.id);
    late.close();
    const cleared = collect(r.anon, 'chat:cleared');
    await refused(r.v, 'chat:clear', { stream_id: r.stream }, 'forbidden');
    await ok(r.h, 'chat:clear', { stream_id: r.stream });
    await until(() => cleared.length === 1);
    assert.equal(expectStatus(await api('GET', `/v1/streams/${r.stream}/chat`), 200).json.data.length, 0);
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('timeout: refused with timed_out until it expires, then allowed', async () => {
  const r = await room();
  try {
    const seen = collect(r.anon, 'chat:user_timed_out');
    const mine = collect(r.v, 'chat:user_timed_out');
    await ok(r.h, 'chat:timeout', { stream_id: r.stream, user_id: r.viewer.id, seconds: 2, reason: 'calm down' });
    await until(() => seen.length === 1 && mine.length >= 1);
    assert.equal(seen[0].user_id, r.viewer.id);
    const e = await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'hi' }, 'timed_out');
    assert.ok(e.retry_after >= 1 && e.retry_after <= 2);
    await refused(r.h, 'chat:timeout', { stream_id: r.stream, user_id: r.host.id, seconds: 2 }, 'invalid_argument');
    await refused(r.v, 'chat:timeout', { stream_id: r.stream, user_id: r.host.id, seconds: 2 }, 'forbidden');
    assert.equal((await call(r.h, 'chat:timeout', { stream_id: r.stream, user_id: r.viewer.id, seconds: 0 })).error.field, 'seconds');
    await sleep(2200);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'back' });
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('ban: sockets leave the room at once, join and send refused; unban restores', async () => {
  const r = await room();
  try {
    const other = await sock(r.viewer.token); // a second tab of the same user
    await ok(other, 'chat:join', { stream_id: r.stream });
    const told = collect(r.v, 'chat:user_banned');
    await ok(r.h, 'chat:ban', { stream_id: r.stream, user_id: r.viewer.id, reason: 'spam' });
    await until(() => told.length >= 1, 3000, 'the banned user is told');
    // out of the room: room events no longer reach either socket
    const after = [collect(r.v, 'chat:message'), collect(other, 'chat:message')];
    await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'after the ban' });
    await sleep(300);
    assert.deepEqual(after, [[], []]);
    await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'x' }, 'not_in_room');
    await refused(r.v, 'chat:join', { stream_id: r.stream }, 'banned');
    await ok(r.h, 'chat:unban', { stream_id: r.stream, user_id: r.viewer.id });
    await refused(r.h, 'chat:unban', { stream_id: r.stream, user_id: r.viewer.id }, 'not_found');
    await ok(r.v, 'chat:join', { stream_id: r.stream });
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'reformed' });
    other.close();
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('slow mode: one message per N seconds for viewers, not for moderators', async () => {
  const r = await room();
  try {
    const st = collect(r.anon, 'chat:settings_changed');
    await ok(r.h, 'chat:settings', { stream_id: r.stream, slow_mode_s: 2 });
    await until(() => st.length === 1);
    assert.equal(st[0].settings.slow_mode_s, 2);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'one' });
    const e = await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'two' }, 'slow_mode');
    assert.ok(e.retry_after >= 1 && e.retry_after <= 2, JSON.stringify(e));
    await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'host 1' });
    await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'host 2' });
    await sleep(1000);
    await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'still slow' }, 'slow_mode');
    await sleep(1100);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'two' });
    await ok(r.h, 'chat:settings', { stream_id: r.stream, slow_mode_s: 0 });
    assert.equal((await call(r.h, 'chat:settings', { stream_id: r.stream, slow_mode_s: -1 })).error.field, 'slow_mode_s');
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('followers-only with a minimum follow age; links filter', async () => {
  const r = await room();
  try {
    await ok(r.h, 'chat:settings', { stream_id: r.stream, followers_only_s: 2, links: false });
    await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'hi' }, 'followers_only');
    expectStatus(await api('POST', `/v1/users/${r.host.id}/follow`, { token: r.viewer.token }), 204);
    const e = await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'hi' }, 'followers_only');
    assert.ok(e.retry_after >= 1 && e.retry_after <= 2, JSON.stringify(e));
    await sleep(2100);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'a follower for 2 s' });
    for (const t of ['see https://x.io', 'www.spam', 'go to evil.com now', 'EVIL.COM']) {
      await sleep(1000);
      await refused(r.v, 'chat:send', { stream_id: r.stream, text: t }, 'links_blocked');
    }
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'no link. com on' });
    await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'host may: https://vidzo.example' });
    // emote-only: emoji and :emote: codes pass, words do not (moderators are exempt)
    await ok(r.h, 'chat:settings', { stream_id: r.stream, emote_only: true, links: true });
    await sleep(1000);
    await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'words' }, 'emote_only');
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: '\u{1F600} :kappa: \u{1F44D}\u{1F3FD}' });
    await sleep(1000);
    await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'host words' });
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('banned terms: channel and platform-wide, case, diacritics, look-alikes', async () => {
  const r = await room();
  const admin = await asAdmin();
  try {
    await ok(r.h, 'chat:term', { stream_id: r.stream, term: 'badword', on: true });
    await refused(r.v, 'chat:term', { stream_id: r.stream, term: 'other', on: true }, 'forbidden');
    assert.equal((await call(r.h, 'chat:term', { stream_id: r.stream, term: '!', on: true })).error.field, 'term');
    const variants = ['BADWORD', 'b\u00e0dw\u00f6rd', 'b a d w o r d', 'b4dw0rd', 'baaadword', 'b\u0430dword', '\uff42adword',
      'ba\u0301dword', 'so b.a.d.w.o.r.d!'];
    for (const t of variants) {
      await sleep(1000);
      await refused(r.v, 'chat:send', { stream_id: r.stream, text: JSON.parse(`"${t}"`) }, 'blocked_term');
    }
    await sleep(1000);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'a good word' });
    // platform-wide, by an admin over REST
    const t = expectStatus(await api('POST', '/v1/admin/chat/terms', { token: admin.token, body: { term: 'Sc\u00e4m' } }), 201).json.data;
    assert.equal(t.folded, 'scam');
    expectError(await api('POST', '/v1/admin/chat/terms', { token: r.viewer.token, body: { term: 'x' } }), 403, 'forbidden');
    expectError(await api('POST', '/v1/admin/chat/terms', { body: { term: 'xx' } }), 401, 'unauthenticated');
    expectError(await api('POST', '/v1/admin/chat/terms', { token: admin.token, body: {} }), 400, 'invalid_argument', 'term');
    await sleep(1000);
    await refused(r.v, 'chat:send', { stream_id: r.stream, text: 'free SCAM here' }, 'blocked_term');
    const list = expectStatus(await api('GET', '/v1/admin/chat/terms', { token: admin.token }), 200).json.data;
    const row = list.find((x) => x.folded === 'scam');
    assert.ok(row);
    expectStatus(await api('DELETE', `/v1/admin/chat/terms/${row.id}`, { token: admin.token }), 204);
    expectError(await api('DELETE', `/v1/admin/chat/terms/${row.id}`, { token: admin.token }), 404, 'not_found');
    await sleep(1000);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'free scam here' });
    // the channel's term removed: allowed again
    await ok(r.h, 'chat:term', { stream_id: r.stream, term: 'badword', on: false });
    await sleep(1000);
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'badword' });
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});

story('blocks: the blocked author is hidden for the blocker (history, join list); reports', async () => {
  const r = await room();
  try {
    expectStatus(await api('POST', `/v1/users/${r.mod.id}/block`, { token: r.viewer.token }), 204);
    // joining again picks the block up: the gateway hides the blocked author's messages
    const j = await ok(r.v, 'chat:join', { stream_id: r.stream });
    assert.ok(j.hidden_user_ids.includes(r.mod.id));
    const mine0 = collect(r.v, 'chat:message'), anons = collect(r.anon, 'chat:message'), mods = collect(r.m, 'chat:message');
    const a = await ok(r.m, 'chat:send', { stream_id: r.stream, text: 'from the blocked one' });
    const c = await ok(r.h, 'chat:send', { stream_id: r.stream, text: 'the host answers', reply_to: a.id });
    await until(() => anons.length === 2 && mine0.length >= 1 && mods.length === 2, 3000, 'deliveries');
    await sleep(200);
    assert.deepEqual(mine0.map((m) => m.id), [c.id], 'the blocker gets the reply, not the blocked author');
    assert.equal(anons[0].author_id, r.mod.id);
    // the blocked author does not see the blocker's messages either (blocks go both ways),
    // once it has joined again since the block
    const m2 = await ok(r.m, 'chat:join', { stream_id: r.stream });
    assert.ok(m2.hidden_user_ids.includes(r.viewer.id));
    await ok(r.v, 'chat:send', { stream_id: r.stream, text: 'from the blocker' });
    await until(() => anons.length === 3, 3000);
    await sleep(200);
    assert.equal(mods.length, 2);
    const mine = expectStatus(await api('GET', `/v1/streams/${r.stream}/chat`, { token: r.viewer.token }), 200).json.data;
    assert.ok(!mine.some((m) => m.id === a.id));
    const all = expectStatus(await api('GET', `/v1/streams/${r.stream}/chat`), 200).json.data;
    assert.ok(all.some((m) => m.id === a.id));
    const rep = await ok(r.v, 'chat:report', { stream_id: r.stream, message_id: a.id, reason: 'rude' });
    assert.equal(rep.reported, true);
    await refused(r.anon, 'chat:report', { stream_id: r.stream, message_id: a.id, reason: 'rude' }, 'unauthenticated');
    await refused(r.v, 'chat:report', { stream_id: r.stream, message_id: '1', reason: 'rude' }, 'not_found');
  } finally { closeAll(r.h, r.m, r.v, r.anon); }
});
