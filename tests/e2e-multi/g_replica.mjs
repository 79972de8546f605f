// g_replica: with --replica, read-only routes (categories) read from a streaming replica
// and fall back to the primary when it is gone. Proof of routing: with replay paused on
// the replica, a category just written through the primary is 404 on the instance that
// reads the replica and 200 on one that does not; resumed, it appears. Then the replica
// is stopped: after at most one 503 per worker connection (HAProxy's retry-on 503 hides
// those for GETs), reads succeed from the primary.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as c from './cluster.mjs';

const sh = (file, args) => new Promise((resolve, reject) => {
  execFile(file, args, { timeout: 60000 }, (err, stdout, stderr) =>
    (err ? reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout.trim())));
});
const replicaSh = (cmd) => sh(join(process.env.VZ_MULTI_ROOT, 'tests/support/postgres-replica.sh'), [cmd]);
const onReplica = (sql) => {
  const u = new URL(process.env.VZ_MULTI_REPLICA_URL);
  return sh('psql', ['-X', '-q', '-tA', '-h', u.hostname, '-p', u.port, '-U', 'postgres', '-d', u.pathname.slice(1), '-c', sql]);
};

export default [{
  name: 'reads go to the replica (--replica) and fall back to the primary when it stops',
  timeout: 60000,
  async fn(t) {
    const replica = process.env.VZ_MULTI_REPLICA_URL;
    if (!replica) t.skip(process.env.VZ_MULTI_REPLICA_WHY || 'no replica (tests/support/postgres-replica.sh did not start)');
    const email = process.env.VZ_MULTI_ADMIN_EMAIL, password = process.env.VZ_MULTI_ADMIN_PASSWORD;
    if (!email) t.skip('no admin account to write categories');
    const R = 0, P = 1; // instance 1 reads the replica, instance 2 only the primary
    assert.deepEqual(await c.stop(R, 'SIGTERM'), { code: 0, signal: null });
    c.start(R, { extra: ['--replica', replica] });
    try {
      await c.waitReady(R);
      const s = await c.call(c.PORTS[R], 'POST', '/v1/auth/signin', { body: { email, password } });
      assert.equal(s.status, 200, s.text);
      const token = s.json.data.access_token;
      const create = async (name) => {
        const r = await c.call(c.PORTS[R], 'POST', '/v1/categories', { body: { name, kind: 'both' }, token });
        assert.equal(r.status, 201, r.text); // writes and the read-your-write go to the primary
        return r.json.data.id;
      };
      // 1. replication lag as a reader sees it: write, then poll the replica-backed read
      const lags = [];
      for (let k = 0; k < 5; k++) {
        const id = await create(`replica lag ${Date.now()} ${k}`);
        const t0 = process.hrtime.bigint();
        while ((await c.call(c.PORTS[R], 'GET', `/v1/categories/${id}`)).status !== 200) {
          if (Number(process.hrtime.bigint() - t0) > 5e9) throw new Error('replica never caught up');
        }
        lags.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      // 2. routing proof: replay paused, the replica-backed instance cannot see a new row
      await onReplica('SELECT pg_wal_replay_pause()');
      let hidden, onPrimary;
      try {
        const id = await create(`replica paused ${Date.now()}`);
        hidden = (await c.call(c.PORTS[R], 'GET', `/v1/categories/${id}`)).status;
        onPrimary = (await c.call(c.PORTS[P], 'GET', `/v1/categories/${id}`)).status;
        await onReplica('SELECT pg_wal_replay_resume()');
        // until replay passes the primary's WAL insert position, which holds this commit
        // even while it waits in the WAL buffers (synchronous_commit=off: postgres-replica.sh)
        await replicaSh('wait');
        assert.equal((await c.call(c.PORTS[R], 'GET', `/v1/categories/${id}`)).status, 200, 'visible after replay resumes');
      } finally { await onReplica('SELECT pg_wal_replay_resume()').catch(() => {}); }
      assert.equal(hidden, 404, 'the read went to the paused replica');
      assert.equal(onPrimary, 200, 'the primary has it');
      // 3. replica stops: reads fall back to the primary
      const id = await create(`replica stop ${Date.now()}`);
      await replicaSh('wait');
      await replicaSh('stop');
      const seq = [];
      for (let k = 0; k < 40; k++) seq.push((await c.call(c.PORTS[R], 'GET', `/v1/categories/${id}`)).status);
      const fails = seq.filter((x) => x !== 200).length;
      t.log(`replica: read-after-write lag ${lags.map((x) => x.toFixed(1)).join(', ')} ms; paused replay: replica-backed read ${hidden}, primary ${onPrimary}; replica stopped: ${fails} of 40 reads failed ${JSON.stringify(seq.filter((x) => x !== 200))} before falling back`);
      assert.ok(seq.slice(-20).every((x) => x === 200), `reads fall back to the primary: ${seq.join(',')}`);
      assert.ok(fails <= 8, `at most one failure per worker connection: ${fails}`);
    } finally {
      await replicaSh('start').catch(() => {});
      await c.stop(R, 'SIGTERM');
      c.start(R);
      await c.waitReady(R);
    }
  },
}];
