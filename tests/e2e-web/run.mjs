// run.mjs: the web app's browser stories (tests/e2e-web/*.mjs) against a running server
// (VZ_TEST_URL, with its DATA_DIR in VZ_TEST_DATA_DIR for the emailed codes) in headless
// Chromium. tests/run.sh runs it once (debug, SQLite). Usage: node run.mjs [filter].
// Screenshots of every page land in tests/e2e-web/screenshots/.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stories } from '../e2e/lib.mjs';
import { closeBrowser } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] || '';
for (const f of readdirSync(here).filter((f) => f.endsWith('.mjs') && !['run.mjs', 'browser.mjs'].includes(f)).sort()) {
  const before = stories.length;
  await import(pathToFileURL(join(here, f)).href);
  for (const s of stories.slice(before)) s.file = `e2e-web/${f}`;
}
let passed = 0, failed = 0;
for (const s of stories) {
  if (filter && !`${s.file} ${s.name}`.includes(filter)) continue;
  const t0 = Date.now();
  try {
    await Promise.race([s.fn(), new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${s.timeout || 60000} ms`)), s.timeout || 60000))]);
    passed++;
    console.log(`ok   ${s.file}: ${s.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    if (e && e.skip) { console.log(`skip ${s.file}: ${s.name}: ${e.message}`); continue; }
    failed++;
    console.log(`FAIL ${s.file}: ${s.name}\n     ${(e && e.stack) || e}`.slice(0, 3000));
  }
}
await closeBrowser();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
