// core_cli.mjs: the command line refuses bad usage with a message naming the problem and
// exit code 2, before touching the network or the database.
import { spawnSync } from 'node:child_process';
import { story, assert } from '../lib.mjs';
import { BIN } from './core_net.mjs';

const run = (...args) => spawnSync(BIN, args, { encoding: 'utf8', timeout: 10000,
  env: { ...process.env, VIDZO_PORT: '', VIDZO_DB: '' } });

story('vidzo version prints the version and exits 0', async () => {
  const r = run('version');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^vidzo \S+/);
});

story('an unknown command exits 2 with a message', async () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.equal(run().status, 2, 'no command at all');
});

story('serve refuses unknown flags and bad values with exit 2', async () => {
  const cases = [
    [['--bogus'], /unknown flag '--bogus'/],
    [['--port', '0'], /--port: expected an integer from 1 to 65535, got '0'/],
    [['--port', 'abc'], /--port: expected an integer from 1 to 65535, got 'abc'/],
    [['--port=70000'], /--port/],
    [['--port', '80x'], /--port/],
    [['--port'], /--port needs a value/],
    [['--threads', '-1'], /--threads/],
    [['--max-body', '99999999999999999999999'], /--max-body/],
    [['--log-level', 'loud'], /--log-level: expected debug, info, warn or error/],
    [['--dev=maybe'], /--dev: expected true or false/],
    [['stray'], /unexpected argument 'stray'/],
    [['--bind', 'x'.repeat(100)], /--bind: value too long/],
  ];
  for (const [args, re] of cases) {
    const r = run('serve', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status} ${r.stderr}`);
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
  }
});

story('a bad setting in the environment is refused the same way', async () => {
  const r = spawnSync(BIN, ['serve'], { encoding: 'utf8', timeout: 10000, env: { ...process.env, VIDZO_PORT: 'nope' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /VIDZO_PORT: expected an integer/);
});

story('serve --help lists the settings and exits 0', async () => {
  const r = run('serve', '--help');
  assert.equal(r.status, 0);
  assert.match(r.stderr, /--port/);
  assert.match(r.stderr, /--header-timeout/);
});

// Issue 15: `vidzo routes` once created ./data (a secret, a database) wherever it ran.
story('vidzo routes lists without writing anything where it runs', async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, resolve } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'vz-routes-'));
  try {
    const r = spawnSync(resolve(BIN), ['routes'], { cwd: dir, encoding: 'utf8', timeout: 10000,
      env: { ...process.env, VIDZO_DB: '', VIDZO_DATA_DIR: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^POST \/v1\/auth\/signup/m);
    assert.deepEqual(readdirSync(dir), [], 'nothing written in the working directory');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

story('a service setting is a flag and a variable like the core ones (flags win)', async () => {
  const bad = run('serve', '--auth-ip-limit-scale', '0');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--auth-ip-limit-scale: expected an integer from 1 to 1000/);
  const env = spawnSync(BIN, ['serve'], { encoding: 'utf8', timeout: 10000,
    env: { ...process.env, VIDZO_PORT: '', VIDZO_DB: '', VIDZO_TOTP_OPTIONAL: 'perhaps' } });
  assert.equal(env.status, 2);
  assert.match(env.stderr, /VIDZO_TOTP_OPTIONAL: expected true or false/);
  const help = run('serve', '--help');
  assert.match(help.stderr, /--google-client-ids/);
});
