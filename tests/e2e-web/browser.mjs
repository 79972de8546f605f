// browser.mjs: headless Debian Chromium (/usr/bin/chromium) driven by npm playwright-core,
// no browser download. Each story gets a fresh context (its own storage: signed out) with
// helpers for what every page check does: no uncaught script error, axe-core without a
// serious or critical violation, a screenshot at desktop and 360 px width with no sideways
// scrolling.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { assert } from '../e2e/lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// skip(why): the story cannot run on this server (a part it needs is not built in); the
// runner says so and counts it as neither passed nor failed.
export function skip(why) { const e = new Error(why); e.skip = true; throw e; }

let browser;
export async function launch() {
  browser ??= await chromium.launch({
    executablePath: process.env.VZ_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  return browser;
}
export async function closeBrowser() { await browser?.close(); browser = undefined; }

// A page in a new context. errors collects uncaught exceptions and console errors other
// than failed loads (a 404 from an API the server does not have yet is the page's business).
export async function newPage({ width = 1280, height = 800 } = {}) {
  const b = await launch();
  const ctx = await b.newContext({ viewport: { width, height }, colorScheme: 'dark' });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.errors = errors;
  page.done = async () => {
    await ctx.close();
    assert.deepEqual(errors, [], `script errors on the page: ${errors.join('\n')}`);
  };
  return page;
}

// axe-core on the page as it is now: no serious or critical violation (WCAG 2.1 A/AA and
// best practices). Runtime.evaluate is not subject to the page's CSP, so no inline script.
export async function axe(page, label) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  })).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })));
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${label}: axe violations ${JSON.stringify(bad, null, 1)}`);
  return res;
}

// Screenshots at the current size and at 360 x 740 (full page); at 360 px nothing may be
// wider than the screen.
export async function shots(page, name) {
  const size = page.viewportSize();
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}-360.png`), fullPage: true });
  const over = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > w + 1 && getComputedStyle(el).position !== 'absolute';
    }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`);
  });
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= 360, `${name}: ${sw} px wide at a 360 px screen (${over.join(', ')})`);
  await page.setViewportSize(size);
}

/** Everything a page check does: axe, then screenshots. */
export async function check(page, name) {
  await axe(page, name);
  await shots(page, name);
}
