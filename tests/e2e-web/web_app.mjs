// The web app as people use it, in a real browser: an anonymous visitor on home, a newcomer
// who signs up with the emailed code, edits the profile and picture, signs out and in,
// follows someone, searches; the 404 page; deep links served by the SPA fallback; the
// watch page's JavaScript budget. Every page: axe-core, screenshots, 360 px.
import { deflateSync } from 'node:zlib';
import { story, assert, api, lastCode, newUser, unique, URL_BASE, DATA_DIR } from '../e2e/lib.mjs';
import { check, newPage } from './browser.mjs';

const U = (p) => URL_BASE + p;

// A small valid PNG (w x h, one colour), built here so the test ships no binary file.
function png(w, h, [r, g, b]) {
  const crcT = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const x of buf) c = crcT[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array(h).fill(row)))), chunk('IEND', Buffer.alloc(0))]);
}

story('an anonymous visitor sees the home page: live now, upcoming, sign up', async () => {
  const page = await newPage();
  await page.goto(U('/'));
  await page.getByRole('heading', { name: 'Live now' }).waitFor();
  await page.getByRole('heading', { name: 'Upcoming' }).waitFor();
  assert.ok(await page.getByRole('link', { name: 'Sign in' }).isVisible());
  assert.ok(await page.getByRole('link', { name: 'Create an account' }).isVisible());
  assert.equal(await page.title(), 'VidZo');
  await check(page, 'home');
  // the light theme (a system setting) has to pass the contrast checks too
  await page.emulateMedia({ colorScheme: 'light' });
  await check(page, 'home-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  // keyboard: the first Tab reaches the skip link, which moves focus to the content
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.done();
});

story('an unknown app path shows the 404 page; deep links load through the SPA fallback', async () => {
  const page = await newPage();
  const r = await page.goto(U('/no/such/page'));
  assert.equal(r.status(), 200); // the server cannot know app routes: index.html, the app says 404
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await check(page, 'not-found');
  await page.getByRole('link', { name: 'Go to live streams' }).click();
  await page.getByRole('heading', { name: 'Live now' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/');
  // a profile that does not exist is the same 404 page
  await page.goto(U('/u/999999999'));
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.done();
});

story('a newcomer signs up with the emailed code, edits the profile and picture, signs out and in', async () => {
  const handle = unique('web').slice(0, 20);
  const email = `${handle}@e2e.test`, password = 'Sunny-day-2026';
  const page = await newPage();
  await page.goto(U('/'));
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await check(page, 'signup');
  // a bad password is refused with the server's message, next to the form
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Handle/).fill(handle);
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Password').evaluate((el) => el.removeAttribute('minlength')); // let the server say it
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('alert').waitFor();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByLabel('Code').waitFor();
  await check(page, 'signup-code');
  let code = null;
  for (let i = 0; i < 20 && !code; i++) { code = lastCode(email, 'verify_email'); if (!code) await page.waitForTimeout(100); }
  assert.ok(code, `no code in ${DATA_DIR}/outbox`);
  await page.getByLabel('Code').fill('000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('alert').waitFor(); // a wrong code is said, the form stays
  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('heading', { name: 'Your profile' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/settings');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();

  // profile: name and bio saved, shown on the public profile
  await page.getByLabel('Display name').fill('Web Tester');
  await page.getByLabel('Bio').fill('I test the web app.');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Profile saved.').waitFor();
  // picture: a PNG through the file input, the upload flow (POST /v1/uploads purpose avatar,
  // PUT the bytes, confirm, PATCH /v1/me {avatar_upload_id}), never the legacy PUT /v1/me/avatar;
  // "processing" shows until the variant exists. The profile reads are held back once so the
  // processing state is seen whatever the image job's speed.
  const calls = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/v1/')) calls.push(`${r.method()} ${u.pathname}`); });
  let release;
  const held = new Promise((res) => { release = res; });
  await page.route('**/v1/me', async (route) => {
    if (route.request().method() === 'GET') await held;
    await route.continue();
  });
  const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname === '/v1/me');
  await page.locator('#avatar').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(64, 64, [200, 60, 160]) });
  const pj = (await (await patched).json()).data;
  if (pj.avatar_url === null) {
    assert.equal(pj.avatar.status, 'processing');
    await page.getByText('Processing your picture…').waitFor();
    assert.equal(await page.locator('.avatar-row img.avatar').count(), 0, 'no picture while processing');
    await check(page, 'settings-avatar-processing');
  }
  release();
  await page.getByText('Avatar updated.').waitFor();
  await page.unroute('**/v1/me');
  await page.locator('.avatar-row img.avatar').waitFor();
  const src = await page.locator('.avatar-row img.avatar').getAttribute('src');
  assert.equal((await fetch(new URL(src, URL_BASE))).status, 200, `avatar ${src}`);
  const pub = (await api('GET', `/v1/users/${pj.id}`)).json.data;
  assert.equal(new URL(src, URL_BASE).pathname, new URL(pub.avatar_url, URL_BASE).pathname, 'the page shows the variant the profile names');
  assert.equal(pub.avatar.status, 'ready');
  for (const want of ['POST /v1/uploads', `PUT /v1/uploads/${pj.avatar.id}/content`, `POST /v1/uploads/${pj.avatar.id}/confirm`, 'PATCH /v1/me'])
    assert.ok(calls.includes(want), `${want} in ${calls.join(', ')}`);
  assert.ok(!calls.includes('PUT /v1/me/avatar'), 'the legacy avatar route is not used');
  await check(page, 'settings');
  // errors in words: not an image (the server reads the bytes at confirm), too large (said before sending)
  await page.locator('#avatar').setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('not a png at all') });
  await page.getByRole('alert').filter({ hasText: 'That file is not a JPEG, PNG or WebP picture.' }).waitFor();
  await check(page, 'settings-avatar-error');
  const n = calls.length;
  await page.locator('#avatar').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.alloc(5 * 1024 * 1024 + 1) });
  await page.getByRole('alert').filter({ hasText: 'Pick an image of 5 MB or less.' }).waitFor();
  assert.ok(!calls.slice(n).includes('POST /v1/uploads'), 'too large: nothing sent');
  // the picture stays the one set before the errors
  assert.equal(await page.locator('.avatar-row img.avatar').getAttribute('src'), src);

  await page.getByRole('link', { name: 'Web Tester' }).click();
  await page.getByRole('heading', { name: 'Web Tester' }).waitFor();
  await page.getByText('I test the web app.').waitFor();
  assert.ok(await page.getByText(`@${handle}`).isVisible());
  await check(page, 'profile');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('vidzo.session')), null);

  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await check(page, 'signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('wrong-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That email and password do not match.').waitFor();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Web Tester' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/');
  // a reload stays signed in
  await page.reload();
  await page.getByRole('link', { name: 'Web Tester' }).waitFor();
  await page.done();
}, { timeout: 90000 });

story('a signed-in user finds someone by search and follows them; the count follows', async () => {
  const me = await newUser('wf'), them = await newUser('wt');
  await api('PATCH', '/v1/me', { token: them.token, body: { display_name: 'Followed Person' } });
  const page = await newPage();
  await page.goto(U('/signin'));
  await page.getByLabel('Email').fill(me.email);
  await page.getByLabel('Password').fill(me.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByLabel('Search streams and people').fill(them.handle);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'People' }).waitFor();
  await page.getByRole('link', { name: /Followed Person/ }).click();
  await page.getByRole('heading', { name: 'Followed Person' }).waitFor();
  assert.equal(await page.locator('#followers-count').textContent(), '0');
  await page.getByRole('button', { name: /^Follow/ }).click();
  await page.getByRole('button', { name: /^Following/ }).waitFor();
  assert.equal(await page.locator('#followers-count').textContent(), '1');
  const f = await api('GET', `/v1/users/${me.id}/following`, { token: me.token });
  assert.ok(f.json.data.some((u) => u.id === them.id), 'the follow reached the server');
  await check(page, 'profile-followed');
  // and back
  await page.getByRole('button', { name: /^Following/ }).click();
  await page.getByRole('button', { name: /^Follow\b/ }).waitFor();
  assert.equal(await page.locator('#followers-count').textContent(), '0');
  // the search page itself
  await page.goto(U(`/search?q=${encodeURIComponent(them.handle)}`));
  await page.getByRole('heading', { name: 'People' }).waitFor();
  await check(page, 'search');
  await page.done();
}, { timeout: 60000 });

async function signIn(page, u) {
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

story('a creator plans a stream in the studio: RTMP URL and key to copy, rotate; a visitor finds it', async () => {
  const me = await newUser('ws');
  const page = await newPage();
  await page.goto(U('/studio'));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('next'), '/studio');
  await signIn(page, me);
  await page.getByRole('heading', { name: 'Creator studio' }).waitFor();
  await page.getByRole('heading', { name: 'New stream' }).waitFor();
  await check(page, 'studio');
  // an empty title is refused by the form itself (required), a long one by the server
  const title = `Web story ${unique('t')}`;
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Description').fill('A stream made by the browser story.');
  const tag = unique('tag').slice(0, 20).toLowerCase();
  await page.getByLabel(/^Tags/).fill(`webstory, ${tag}`);
  const when = new Date(Date.now() + 2 * 3600e3);
  const local = new Date(when.getTime() - when.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  await page.getByLabel(/^Scheduled start/).fill(local);
  await page.getByRole('button', { name: 'Schedule stream' }).click();
  await page.locator('#stream-status').waitFor();
  assert.equal(await page.locator('#stream-status').textContent(), 'scheduled');
  const id = new URL(page.url()).pathname.split('/').pop();
  // the encoder settings: the RTMP URL, and the key, hidden until asked, with copy buttons
  const url = await page.getByLabel('Server (RTMP URL)').inputValue();
  assert.match(url, /^rtmp:\/\/[^/]+:\d+\/live$/);
  const keyBox = page.getByLabel('Stream key');
  assert.equal(await keyBox.getAttribute('type'), 'password');
  const key = await keyBox.inputValue();
  assert.ok(key.length >= 16, 'a key is shown once, after creation');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.equal(await keyBox.getAttribute('type'), 'text');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy key' }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  await check(page, 'studio-stream');
  // rotate: a new key, the old one retired
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Rotate key' }).click();
  await page.waitForFunction((old) => document.querySelector('#rtmp-key')?.value && document.querySelector('#rtmp-key').value !== old, key);
  // the list of my streams names it
  await page.getByRole('link', { name: title }).waitFor();
  await page.done();

  // a signed-out visitor finds it under Upcoming and opens its page
  const anon = await newPage();
  await anon.goto(U('/'));
  await anon.getByRole('heading', { name: 'Upcoming' }).waitFor();
  await anon.getByRole('link', { name: new RegExp(title) }).first().click();
  await anon.getByRole('heading', { name: title }).waitFor();
  assert.equal(new URL(anon.url()).pathname, `/watch/${id}`);
  await anon.getByText(/^Starts /).waitFor();
  await anon.getByRole('link', { name: 'Sign in' }).first().waitFor();
  await check(anon, 'watch-scheduled');
  // search finds it by a tag
  await anon.getByLabel('Search streams and people').fill(tag);
  await anon.keyboard.press('Enter');
  await anon.getByRole('heading', { name: 'Streams' }).waitFor();
  await anon.locator('section[aria-labelledby="s-streams"]').getByRole('link', { name: new RegExp(title) }).first().waitFor();
  await anon.done();
}, { timeout: 90000 });

story('the watch page loads at most 150 KB of gzipped JavaScript', async () => {
  const page = await newPage();
  const js = new Set();
  page.on('request', (r) => { if (r.resourceType() === 'script') js.add(r.url()); });
  await page.goto(U('/watch/1'));
  await page.waitForLoadState('networkidle');
  let total = 0;
  const sizes = [];
  for (const u of js) {
    const r = await fetch(u, { headers: { 'accept-encoding': 'gzip' } });
    // fetch undoes the gzip: Content-Length is what went over the wire
    const n = Number(r.headers.get('content-length'));
    assert.equal(r.headers.get('content-encoding'), 'gzip', u);
    sizes.push(`${u.split('/').pop()} ${n}`);
    total += n;
  }
  console.log(`     watch page JS: ${(total / 1024).toFixed(1)} KB gzipped (${sizes.join(', ')})`);
  assert.ok(js.size >= 2, 'the watch chunk was loaded');
  assert.ok(total <= 150 * 1024, `watch page JS ${total} bytes gzipped`);
  await page.done();
});
