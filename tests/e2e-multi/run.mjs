// run.mjs: the multi-instance stories (tests/e2e-multi/*_*.mjs, in name order) against
// three vidzo instances behind HAProxy. run.sh starts HAProxy and calls this from tests/.
// A story may call t.skip(reason) when what it needs is not on main yet: it prints
// "skip" and counts neither way. Ends with "N passed, N failed".
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as cluster from './cluster.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] || process.env.VZ_TEST_FILTER || '';
const files = readdirSync(here).filter((f) => /^[a-z]_.*\.mjs$/.test(f)).sort();
const stories = [];
for (const f of files) {
  const mod = await import(pathToFileURL(join(here, f)).href);
  for (const s of mod.default || []) stories.push({ ...s, file: f });
}
class Skip extends Error {}
let passed = 0, failed = 0, skipped = 0;
try {
  await cluster.startAll();
} catch (e) {
  console.log(`FAIL cluster start\n     ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
for (const s of stories) {
  if (filter && !new RegExp(filter).test(`${s.file} ${s.name}`)) continue;
  const t0 = Date.now();
  const t = { skip: (why) => { throw new Skip(why); }, log: (...a) => console.log('     ', ...a) };
  let timer;
  try {
    await cluster.startAll(); // each story starts from three ready instances
    await Promise.race([s.fn(t), new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out after ${s.timeout || 60000} ms`)), s.timeout || 60000);
    })]);
    passed++;
    console.log(`ok   ${s.file}: ${s.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    if (e instanceof Skip) { skipped++; console.log(`skip ${s.file}: ${s.name}: ${e.message}`); }
    else { failed++; console.log(`FAIL ${s.file}: ${s.name}\n     ${(e && e.stack) || e}`.slice(0, 2500)); }
  } finally { clearTimeout(timer); }
}
// A clean SIGTERM exit of every instance is itself checked.
const exits = await cluster.stopAll();
const bad = exits.filter((x) => x && x.code !== 0);
if (bad.length) { failed++; console.log(`FAIL final drain: ${JSON.stringify(exits)}`); }
else { passed++; console.log('ok   final drain: all instances exit 0 on SIGTERM'); }
// Under ASan/UBSan a report in any instance's log fails the run (a plain build has none).
const reports = readdirSync(cluster.WORK).filter((f) => /^vidzo-\d\.log$/.test(f))
  .filter((f) => /ERROR: (Address|Leak)Sanitizer|runtime error:/.test(readFileSync(join(cluster.WORK, f), 'utf8')));
if (reports.length) { failed++; console.log(`FAIL sanitizer report in ${reports.join(', ')} (keep them with VZ_KEEP=1)`); }
else { passed++; console.log('ok   no sanitizer report in the instances\' logs'); }
if (skipped) console.log(`(${skipped} skipped)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
