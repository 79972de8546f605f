// Minimal runner for the auth/users e2e files until tests/e2e/lib.mjs lands:
//   VZ_TEST_URL=http://127.0.0.1:8080 VZ_DATA_DIR=./data node tests/e2e/run-local.mjs auth users
const url = process.env.VZ_TEST_URL || 'http://127.0.0.1:8080';
let passed = 0, failed = 0;
for (const name of process.argv.slice(2)) {
  const tests = (await import(`./${name}.mjs`)).default;
  for (const t of tests) {
    try { await t.fn({ url }); passed++; console.log(`ok   ${name}: ${t.name}`); }
    catch (e) { failed++; console.log(`FAIL ${name}: ${t.name}\n  ${e.message}`); }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
