// run.mjs: loads every story file under tests/e2e/ (one folder per part of src: core/,
// auth/, users/, realtime/, ...) and runs the stories one by one, in path order.
// Usage: node run.mjs [filter]: only stories whose "<path> <name>" contains filter, the path
// relative to tests/e2e (e.g. realtime/realtime.mjs). Prints "ok"/"FAIL" per story and
// "N passed, N failed".
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stories, URL_BASE } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] || process.env.VZ_TEST_FILTER || '';
const walk = (dir) => readdirSync(join(here, dir), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? walk(`${dir}${e.name}/`) : [`${dir}${e.name}`]));
const files = walk('').filter((f) => f.endsWith('.mjs') && f !== 'lib.mjs' && f !== 'run.mjs').sort();
for (const f of files) {
  const mod = await import(pathToFileURL(join(here, f)).href);
  for (const s of mod.default || []) stories.push({ ...s, file: f });
  for (const s of stories) s.file ??= f;
}
let passed = 0, failed = 0;
const label = process.env.VZ_TEST_LABEL ? `${process.env.VZ_TEST_LABEL} ` : '';
for (const s of stories) {
  if (filter && !`${s.file} ${s.name}`.includes(filter)) continue;
  if (s.only && process.env[s.only] !== '1') continue; // stories that need an extra setup
  const t0 = Date.now();
  try {
    await Promise.race([
      s.fn({ url: URL_BASE }),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${s.timeout || 30000} ms`)), s.timeout || 30000)),
    ]);
    passed++;
    console.log(`ok   ${label}${s.file}: ${s.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${label}${s.file}: ${s.name}\n     ${(e && e.stack) || e}`.slice(0, 2000));
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
