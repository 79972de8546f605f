// The OpenAPI document names every route the server registers (vidzo routes), with its method.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { story, assert } from '../lib.mjs';

story('docs/openapi.yaml covers every registered route and method', async () => {
  const bin = process.env.VZ_TEST_BIN || 'build/debug/vidzo';
  const routes = execFileSync(bin, ['routes', '--data-dir', '/tmp/vidzo-routes-check', '--log-level', 'error'], { encoding: 'utf8' });
  const doc = readFileSync(new URL('../../../docs/openapi.yaml', import.meta.url), 'utf8');
  const missing = [];
  for (const line of routes.trim().split('\n')) {
    const [method, path, ...flags] = line.split(' ');
    if (flags.includes('prefix')) continue; // protocol endpoints (Socket.IO) are described in docs/
    const oapi = path.replace(/:(\w+)/g, '{$1}');
    const at = doc.indexOf(`\n  ${oapi}:\n`);
    if (at < 0) { missing.push(`${method} ${path}`); continue; }
    const next = doc.slice(at + 4).search(/\n {2}\/|\ncomponents:/);
    const block = doc.slice(at, next < 0 ? undefined : at + 4 + next);
    if (!block.includes(`\n    ${method.toLowerCase()}:`)) missing.push(`${method} ${path}`);
  }
  assert.deepEqual(missing, [], `routes missing from docs/openapi.yaml: ${missing.join(', ')}`);
});
