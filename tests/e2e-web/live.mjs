// The story, end to end with the real ingest (nginx-rtmp + ffmpeg, supervised by a
// vidzo --rtmp of its own): a creator signs up (code from the outbox), creates a stream in
// the studio and starts ffmpeg on the RTMP URL and key the page shows; a second browser,
// signed out, finds the stream on the home page and watches it (currentTime advances); a
// third, signed in, chats (and votes in the host's poll, reacts, sees a deleted message
// vanish); the creator times that user out and the chat shows it; the stream ends and its
// replay plays. Ports: VZ_TEST_PORT + 20, 21.
// Skipped (said so in the log) on a server without the ingest edge; the chat half is
// skipped on a server without chat.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { story, assert, api, lastCode, newUser, sleep, unique, withServer } from '../e2e/lib.mjs';
import { check, newPage, skip } from './browser.mjs';

const WEB_ROOT = fileURLToPath(new URL('../../build/web', import.meta.url));
const BASE = Number(process.env.VZ_TEST_PORT || 18080) + 20;
const P = { rtmp: BASE, hls: BASE + 1 };

function encoder(url, key) {
  const child = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-f', 'flv', `${url}/${key}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.on('exit', r));
  return { stop: () => { child.kill('SIGKILL'); return exited; } };
}
const listening = (port) => new Promise((r) => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
  s.on('error', () => r(false));
});
async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { const v = await fn(); if (v) return v; await sleep(250); }
  throw new Error(`timed out waiting for ${what}`);
}
// the video plays: currentTime moves on by `by` seconds
async function plays(page, by = 1.5, ms = 25000) {
  await page.locator('#video').waitFor();
  const t0 = await until('the first frame', () => page.evaluate(() => { const v = document.querySelector('#video'); return v && v.readyState >= 2 && v.currentTime > 0 ? v.currentTime : 0; }), ms);
  await until('currentTime to advance', () => page.evaluate((t) => document.querySelector('#video').currentTime > t, t0 + by), ms);
  return t0;
}

story('creator goes live from the studio, a visitor watches, a viewer chats and is timed out, the replay plays', async () => {
  const args = ['--rtmp', '--rtmp-port', String(P.rtmp), '--hls-port', String(P.hls), '--rtmp-host', '127.0.0.1',
    '--stream-grace', '2', '--dev', '--web-root', WEB_ROOT];
  const help = await new Promise((r) => { const c = spawn(process.env.VZ_TEST_BIN, ['serve', '--help']); let o = ''; c.stdout.on('data', (d) => { o += d; }); c.stderr.on('data', (d) => { o += d; }); c.on('exit', () => r(o)); });
  if (!/--rtmp\b/.test(help)) skip('this server has no RTMP ingest (--rtmp)');
  await withServer({ args }, async ({ url, dir }) => {
    if (!(await until('the RTMP edge', () => listening(P.rtmp), 10000).catch(() => false))) skip('the RTMP edge did not start');
    const U = (p) => url + p;
    const t0 = Date.now();

    // 1. the creator signs up in the browser with the emailed code and opens the studio
    const handle = unique('cr').slice(0, 20), email = `${handle}@e2e.test`, password = 'Sunny-day-2026';
    const studio = await newPage();
    await studio.goto(U('/signup'));
    await studio.getByLabel('Email').fill(email);
    await studio.getByLabel(/^Handle/).fill(handle);
    await studio.getByLabel('Password').fill(password);
    await studio.getByRole('button', { name: 'Sign up' }).click();
    await studio.getByLabel('Code').waitFor();
    const code = await until('the code', () => lastCode(email, 'verify_email', { dataDir: dir }), 5000);
    await studio.getByLabel('Code').fill(code);
    await studio.getByRole('button', { name: 'Confirm' }).click();
    await studio.getByRole('heading', { name: 'Your profile' }).waitFor();
    await studio.getByLabel('Display name').fill('The Creator');
    await studio.getByRole('button', { name: 'Save' }).click();
    await studio.getByText('Profile saved.').waitFor();
    await studio.getByRole('link', { name: 'Studio' }).click();
    const title = `Live from the studio ${unique('s')}`;
    await studio.getByLabel('Title').fill(title);
    await studio.getByRole('button', { name: 'Create stream' }).click();
    await studio.locator('#stream-status').waitFor();
    const streamId = new URL(studio.url()).pathname.split('/').pop();
    const rtmpUrl = await studio.getByLabel('Server (RTMP URL)').inputValue();
    const key = await studio.getByLabel('Stream key').inputValue();
    assert.equal(rtmpUrl, `rtmp://127.0.0.1:${P.rtmp}/live`);

    // 2. ffmpeg on what the page shows; the studio turns live
    const enc = encoder(rtmpUrl, key);
    try {
      await until('the studio to say live', async () => (await studio.locator('#stream-status').textContent()) === 'live', 25000);
      await check(studio, 'studio-live');

      // 3. a signed-out visitor finds it on the home page and watches
      const anon = await newPage();
      await anon.goto(U('/'));
      await until('the stream under Live now', async () => {
        if (await anon.getByRole('link', { name: new RegExp(title) }).count()) return true;
        await anon.reload();
        return false;
      }, 20000);
      await check(anon, 'home-live');
      const firstFrameT0 = Date.now();
      await anon.getByRole('link', { name: new RegExp(title) }).first().click();
      await anon.getByRole('heading', { name: title }).waitFor();
      await plays(anon);
      console.log(`     first video frame ${Date.now() - firstFrameT0} ms after opening the watch page (live since ${Date.now() - t0} ms into the story)`);
      await check(anon, 'watch-live');
      // the player's delay behind live: shown on the page and sent with the heartbeat at its
      // first measurement; the host's analytics summarise it (delay_ms of current viewers)
      const shown = await until('the delay on the watch page', async () => {
        const m = /([\d.]+) s behind live/.exec((await anon.locator('#delay').textContent().catch(() => '')) || '');
        return m && Number(m[1]);
      }, 15000);
      const hostTok = await studio.evaluate(() => JSON.parse(localStorage.getItem('vidzo.session') || '{}').access);
      const dl = await until('the delay in the analytics', async () => {
        const a = (await api('GET', `/v1/streams/${streamId}/analytics`, { base: url, token: hostTok })).json?.data;
        return a?.delay?.viewers >= 1 && a.delay;
      }, 10000);
      assert.ok(dl.median_ms > 0 && dl.median_ms <= 120000 && dl.p90_ms >= dl.median_ms, JSON.stringify(dl));
      console.log(`     player delay: page ${shown} s, analytics median ${dl.median_ms} ms, p90 ${dl.p90_ms} ms`);

      // 4. a third person, signed in, chats (when the server has chat)
      const hasChat = (await api('GET', `/v1/streams/${streamId}/chat?limit=1`, { base: url })).status === 200;
      if (!hasChat) console.log('     skip chat: this server has no chat service');
      else {
        const fan = await newUser('fan', { base: url, dataDir: dir });
        await api('PATCH', '/v1/me', { base: url, token: fan.token, body: { display_name: 'Chatty Fan' } });
        const viewer = await newPage();
        await viewer.goto(U('/signin'));
        await viewer.getByLabel('Email').fill(fan.email);
        await viewer.getByLabel('Password').fill(fan.password);
        await viewer.getByRole('button', { name: 'Sign in' }).click();
        await viewer.getByRole('button', { name: 'Sign out' }).waitFor();
        await viewer.goto(U(`/watch/${streamId}`));
        await viewer.getByRole('button', { name: 'Chat', exact: true }).waitFor();
        await until('chat connected', async () => !(await viewer.getByRole('button', { name: 'Chat', exact: true }).isDisabled()), 10000);
        const sentAt = Date.now();
        await viewer.getByLabel('Send a message').fill('hello from the web story');
        await viewer.keyboard.press('Enter');
        await studio.getByText('hello from the web story').waitFor();
        console.log(`     first chat message on the host's page ${Date.now() - sentAt} ms after send`);
        await anon.getByText('hello from the web story').waitFor();
        await check(viewer, 'watch-chat');
        // the host pins it: everyone sees it above the chat
        await studio.getByRole('button', { name: 'Pin message from Chatty Fan' }).first().click();
        await anon.locator('.pinned', { hasText: 'hello from the web story' }).waitFor();
        // a poll from the studio: the viewer votes, the results come back
        await studio.getByLabel('Start a poll').fill('Best colour?');
        await studio.getByLabel('Options, one per line').fill('Red\nBlue');
        await studio.getByRole('button', { name: 'Start poll' }).click();
        await viewer.getByRole('group', { name: 'Best colour?' }).waitFor();
        await viewer.getByRole('button', { name: /^Blue/ }).click();
        await until('the vote in the results', async () => /Blue · 1/.test(await anon.locator('fieldset.poll').textContent()), 10000);
        // a reaction: counted and shown to everyone (throttled broadcast)
        await viewer.getByRole('button', { name: 'Heart' }).click();
        await until('the heart count', async () => /1/.test(await anon.getByRole('button', { name: 'Heart' }).textContent()), 10000);
        // a deleted message vanishes for everyone
        await viewer.getByLabel('Send a message').fill('this one goes away');
        await viewer.keyboard.press('Enter');
        await anon.getByText('this one goes away').waitFor();
        await studio.getByRole('button', { name: 'Delete message from Chatty Fan' }).last().click();
        await anon.getByText('this one goes away').waitFor({ state: 'detached' });
        await viewer.getByText('this one goes away').waitFor({ state: 'detached' });
        // 5. the creator times the viewer out from the studio's chat
        await studio.getByRole('button', { name: /Time out Chatty Fan/ }).click();
        await viewer.getByText('You were timed out by a moderator.').waitFor();
        await viewer.getByText(/You are timed out: you can chat again in \d+ s\./).waitFor();
        assert.ok(await viewer.getByLabel('Send a message').isDisabled(), 'the input waits out the time-out');
        await anon.getByText(/Chatty Fan was timed out/).waitFor();
        await viewer.done();
      }

      // 6. the creator ends the stream; the replay plays on the watch page
      studio.once('dialog', (d) => d.accept());
      await studio.getByRole('button', { name: 'End stream' }).click();
      await until('ended', async () => (await studio.locator('#stream-status').textContent()) === 'ended', 15000);
      await enc.stop();
      // the studio shows the ended stream's numbers
      await studio.getByRole('heading', { name: 'Analytics' }).waitFor();
      await studio.getByText('Unique viewers').waitFor();
      await studio.getByRole('complementary').getByText('ended').waitFor(); // the list beside it agrees
      await check(studio, 'studio-analytics');
      await until('the replay', async () => {
        const s = (await api('GET', `/v1/streams/${streamId}`, { base: url })).json?.data;
        return s?.replay?.status === 'ready' && s.replay.hls_url;
      }, 60000);
      // found under Replays on the home page
      await anon.goto(U('/'));
      await anon.locator('section[aria-labelledby="h-replays"]').getByRole('link', { name: new RegExp(title) }).first().click();
      assert.equal(new URL(anon.url()).pathname, `/watch/${streamId}`);
      await anon.getByText(/^Replay/).waitFor();
      await plays(anon, 1);
      await check(anon, 'watch-replay');
      await anon.done();
      await studio.done();
    } finally {
      await enc.stop();
    }
  });
}, { timeout: 240000 });
