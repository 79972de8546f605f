// check.mjs: the contract checks that need no server, run once per test run (tests/run.sh):
// the binary's `vidzo openapi` / `vidzo asyncapi` have nothing to complain about (every
// listed row has op, summary and res; info.version follows the fingerprint), docs/*.yaml
// are exactly that output, Redocly's recommended rules find nothing in docs/openapi.yaml,
// and @asyncapi/parser validates docs/asyncapi.yaml without errors or warnings; the
// YAML reads back (js-yaml) as the --json form of the same document.
// Usage: node tests/contract/check.mjs <vidzo binary>. Prints ok/FAIL lines and
// "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import { isDeepStrictEqual } from 'node:util';
import yaml from 'js-yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.argv[2] || process.env.VZ_TEST_BIN || join(root, 'build/debug/vidzo');
let passed = 0, failed = 0;
const check = (name, problems) => {
  if (!problems.length) { passed++; console.log(`ok   contract: ${name}`); return; }
  failed++;
  console.log(`FAIL contract: ${name}\n     ${problems.slice(0, 40).join('\n     ')}`);
};

// The first lines where two texts part, for a message that says where, not only that.
function firstDiff(want, got) {
  const a = want.split('\n'), b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) return [`line ${i + 1}:`, `  docs:   ${a[i] ?? '(end)'}`, `  binary: ${b[i] ?? '(end)'}`];
  return [];
}

for (const kind of ['openapi', 'asyncapi']) {
  const r = spawnSync(bin, [kind, '--data-dir', '/tmp/vidzo-contract-check', '--log-level', 'error'], { encoding: 'utf8' });
  check(`vidzo ${kind} has every row's contract fields (exit ${r.status})`,
    r.status === 0 ? [] : (r.stderr.trim() || `exit ${r.status}`).split('\n'));
  const file = join(root, `docs/${kind}.yaml`);
  const docs = readFileSync(file, 'utf8');
  check(`docs/${kind}.yaml is the binary's output`,
    docs === r.stdout ? [] : ['differs: run `make contract` (FLAVOR=debug) and commit it', ...firstDiff(docs, r.stdout)]);
  // the YAML printer (src/lib/yaml.c) says what the JSON says, read by a real YAML parser
  const j = spawnSync(bin, [kind, '--json', '--data-dir', '/tmp/vidzo-contract-check', '--log-level', 'error'], { encoding: 'utf8' });
  let same;
  try { same = isDeepStrictEqual(yaml.load(r.stdout), JSON.parse(j.stdout)); } catch (e) { same = e.message; }
  check(`vidzo ${kind}: the YAML reads back as the --json document`, same === true ? [] : [String(same)]);
}

const lint = spawnSync(join(root, 'tests/node_modules/.bin/redocly'),
  ['lint', join(root, 'docs/openapi.yaml'), '--format=json', '--config', join(root, 'redocly.yaml')],
  { encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
let lintProblems;
try {
  const out = JSON.parse(lint.stdout);
  lintProblems = out.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? ''}`);
} catch {
  lintProblems = [`redocly did not answer in JSON (exit ${lint.status}): ${(lint.stdout + lint.stderr).slice(-600)}`];
}
check('Redocly recommended rules: no errors, no warnings (docs/openapi.yaml)', lintProblems);

const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(join(root, 'docs/asyncapi.yaml'), 'utf8'));
const bad = diagnostics.filter((d) => d.severity <= 1) // 0 error, 1 warning
  .map((d) => `${d.severity ? 'warning' : 'error'} ${d.code}: ${d.message} at ${d.path.join('.')}`);
check('@asyncapi/parser: valid, no errors, no warnings (docs/asyncapi.yaml)', document ? bad : ['not parsed', ...bad]);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
