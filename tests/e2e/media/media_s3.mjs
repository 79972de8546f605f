// The S3 backend against a real S3-compatible server these stories start themselves
// (npm s3rver): our SigV4 signatures (presigned and header-signed) against the npm aws4
// package with fixed dates and keys; an upload through a presigned PUT read back by the
// official @aws-sdk/client-s3; the store going down (breaker, 503, nothing referenced);
// `vidzo media migrate --to s3`, resumable, with a multipart upload.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import aws4 from 'aws4';
import S3rver from 's3rver';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { api, assert, expectError, expectStatus, freePort, metric, newUser, withServer } from '../lib.mjs';
import { corpus, dims, newUpload, putBytes, settled } from './media_support.mjs';

const run = promisify(execFile);
const BUCKET = 'vidzo-test';
const BIN = process.env.VZ_TEST_BIN || 'build/debug/vidzo';

// vhost: s3rver routes <bucket>.s3.<serviceEndpoint> by the Host header (its vhost
// middleware), so with serviceEndpoint "localhost" the server is given the endpoint
// http://s3.localhost:<port> and --s3-path-style=false: every request it makes goes to
// vidzo-test.s3.localhost (libcurl resolves *.localhost to loopback itself, RFC 6761).
// The SDK keeps reading path-style from 127.0.0.1: the same objects.
async function withS3(fn, { vhost = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vidzo-s3rver-'));
  const port = await freePort();
  const srv = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir,
    ...(vhost ? { serviceEndpoint: 'localhost' } : {}) });
  await srv.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts only S3RVER/S3RVER; the SDK's default checksums corrupt streamed
  // uploads to it (REAL-PARTS.md), so they are asked for only when required
  const sdk = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const s3 = { endpoint, port, sdk, srv, dir, stopped: false,
    args: ['--media-backend', 's3', '--s3-endpoint', vhost ? `http://s3.localhost:${port}` : endpoint, '--s3-bucket', BUCKET,
      '--s3-access-key', 'S3RVER', '--s3-secret-key', 'S3RVER', '--job-workers', '1', ...(vhost ? ['--s3-path-style=false'] : [])],
    read: async (Key) => Buffer.from(await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body.transformToByteArray()) };
  try { await fn(s3); } finally {
    if (!s3.stopped) await srv.close();
    sdk.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

// A request to a *.localhost URL: Node's resolver does not know those names, so the
// connection goes to 127.0.0.1 while the Host header stays the URL's (what s3rver routes on).
function loopback(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const lookup = (h, o, cb) => (o && o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
    const req = http.request(url, { method, headers, lookup }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sign = async (args) => JSON.parse((await run(BIN, ['media', 'sign', '--log-level', 'error', ...args])).stdout);

export default [
  { name: 's3: SigV4 presigned and header-signed requests equal aws4 for fixed dates and keys, both addressings', fn: async () => {
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    for (const [pathStyle, endpoint, key] of [['true', 'http://127.0.0.1:9000', 'i-0123abcd-480.webp'],
      ['false', 'https://s3.eu-west-1.amazonaws.com', 'up-ffee.bin'], ['true', 'https://minio.example:8443', 'p-a.b-c.jpg']]) {
      for (const date of ['20261203T101500Z', '20270101T000000Z']) {
        const base = ['--s3-endpoint', endpoint, '--s3-bucket', BUCKET, '--s3-region', 'eu-west-1',
          '--s3-access-key', creds.accessKeyId, '--s3-secret-key', creds.secretAccessKey, `--s3-path-style=${pathStyle}`,
          '--key', key, '--date', date];
        const ours = await sign([...base, '--method', 'PUT', '--expires', '900', '--content-type', 'image/webp',
          '--content-length', '1234', '--payload', 'hello world']);
        const host = new URL(endpoint).host;
        const vhost = pathStyle === 'true' ? host : `${BUCKET}.${host}`;
        const path = pathStyle === 'true' ? `/${BUCKET}/${key}` : `/${key}`;
        assert.equal(ours.host, vhost);
        assert.equal(ours.path, path);
        // presigned PUT binding content-length and content-type
        const q = aws4.sign({ service: 's3', region: 'eu-west-1', method: 'PUT', host: vhost, signQuery: true,
          path: `${path}?X-Amz-Date=${date}&X-Amz-Expires=900`,
          headers: { 'Content-Length': '1234', 'Content-Type': 'image/webp' } }, creds);
        const theirs = new URL(`${new URL(endpoint).protocol}//${vhost}${q.path}`);
        const mine = new URL(ours.presigned);
        assert.equal(mine.origin + mine.pathname, theirs.origin + theirs.pathname);
        for (const k of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'])
          assert.equal(mine.searchParams.get(k), theirs.searchParams.get(k), `${k} (${endpoint})`);
        // header-signed PUT with a payload
        // (doNotModifyHeaders keeps aws4 from adding Content-Length, and with it aws4
        // reads no date from the headers: its clock is set by hand)
        const signer = new aws4.RequestSigner({ service: 's3', region: 'eu-west-1', method: 'PUT', host: vhost, path,
          body: 'hello world', doNotModifyHeaders: true, headers: { 'Content-Type': 'image/webp', 'X-Amz-Date': date,
            'X-Amz-Content-Sha256': createHash('sha256').update('hello world').digest('hex') } }, creds);
        signer.datetime = date;
        assert.equal(ours.authorization, signer.sign().headers.Authorization);
        assert.equal(ours.payload_sha256, createHash('sha256').update('hello world').digest('hex'));
      }
    }
  } },
  { name: 's3: presigned PUT, confirm, variants in the bucket read back by the AWS SDK; larger PUT and other type refused', timeout: 60000, fn: async () => {
    await withS3(async (s3) => {
      await withServer({ args: [...s3.args, '--media-cdn-url', 'https://cdn.example/m/'] }, async ({ url, dir }) => {
        const u = await newUser('ms3', { base: url, dataDir: dir });
        const { jpeg, exifJpeg } = corpus();
        const up = await newUpload(u.token, jpeg, { base: url });
        assert.ok(up.upload.url.startsWith(`${s3.endpoint}/${BUCKET}/up-`), up.upload.url);
        assert.match(up.upload.url, /X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost/);
        // A PUT larger than signed: AWS refuses it (content-length is a signed header);
        // s3rver does not check, so then the confirm must: the size differs, refused.
        const bad = await newUpload(u.token, jpeg, { base: url });
        const bigger = await fetch(bad.upload.url, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: Buffer.concat([jpeg, Buffer.alloc(100)]) });
        assert.ok([200, 403].includes(bigger.status), await bigger.text());
        if (bigger.status === 200) {
          expectError(await api('POST', `/v1/uploads/${bad.id}/confirm`, { base: url, token: u.token }), 400, 'invalid_argument', 'size');
          const s = expectStatus(await api('GET', `/v1/uploads/${bad.id}`, { base: url, token: u.token }), 200).json.data;
          assert.equal(s.status, 'failed');
          await assert.rejects(s3.read(new URL(bad.upload.url).pathname.split('/').pop())); // deleted
        }
        expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 409, 'upload_missing');
        assert.equal((await putBytes(up, jpeg)).status, 200);
        const other_user = await newUser('ms3o', { base: url, dataDir: dir });
        expectError(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: other_user.token }), 404);
        expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 202);
        const m = await settled(u.token, up.id, { base: url });
        assert.equal(m.status, 'ready', JSON.stringify(m));
        for (const size of ['1080', '480', '160']) {
          for (const fmt of ['webp', 'jpeg']) {
            const v = m.variants[size][fmt];
            assert.match(v, /^https:\/\/cdn\.example\/m\/i-[0-9a-f]{32}-\d+\.(webp|jpg)$/);
            const key = v.slice('https://cdn.example/m/'.length);
            const body = await s3.read(key); // the official SDK reads what we wrote
            assert.equal(dims(body).w, Number(size));
            const head = await s3.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
            assert.equal(head.ContentType, fmt === 'jpeg' ? 'image/jpeg' : 'image/webp');
            assert.equal(head.CacheControl, 'public, max-age=31536000, immutable');
          }
        }
        // the original (with whatever EXIF it had) is deleted from the bucket
        const orig = new URL(up.upload.url).pathname.split('/').pop();
        await assert.rejects(s3.read(orig));
        // EXIF through S3 too
        const e = await newUpload(u.token, exifJpeg, { base: url });
        await putBytes(e, exifJpeg);
        expectStatus(await api('POST', `/v1/uploads/${e.id}/confirm`, { base: url, token: u.token }), 202);
        const em = await settled(u.token, e.id, { base: url });
        const body = await s3.read(em.variants['160'].jpeg.split('/').pop());
        assert.deepEqual(dims(body), { w: 80, h: 160 });
        assert.ok(!body.includes(Buffer.from('Exif')));
      });
    });
  } },
  { name: 's3: the store down: confirm 503, the breaker opens, new uploads 503 with Retry-After, nothing referenced', timeout: 60000, fn: async () => {
    await withS3(async (s3) => {
      await withServer({ args: s3.args }, async ({ url, dir }) => {
        const u = await newUser('ms3d', { base: url, dataDir: dir });
        const { png } = corpus();
        const up = await newUpload(u.token, png, { type: 'image/png', base: url });
        assert.equal((await putBytes(up, png)).status, 200);
        await s3.srv.close();
        s3.stopped = true;
        let r;
        for (let i = 0; i < 4; i++) {
          r = await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token });
          expectError(r, 503, 'unavailable');
          assert.ok(r.headers.get('retry-after'));
        }
        assert.equal(await metric('vidzo_integration_breaker_state', { integration: 's3' }, { base: url }), 1);
        const ask = await api('POST', '/v1/uploads', { base: url, token: u.token, body: { purpose: 'avatar', content_type: 'image/png', size: 10 } });
        expectError(ask, 503, 'unavailable');
        assert.ok(Number(ask.headers.get('retry-after')) >= 1);
        // the upload stays pending: nothing half-done can be shown or claimed
        const s = expectStatus(await api('GET', `/v1/uploads/${up.id}`, { base: url, token: u.token }), 200).json.data;
        assert.equal(s.status, 'pending');
        assert.equal(s.variants, undefined);
      });
    });
  } },
  { name: 's3: the store down through the image job\'s last retry: failed (processing_failed), never ready, not claimable', timeout: 90000, fn: async () => {
    // The job must meet the store down: a first server confirms without job workers
    // (the job waits in the queue), then a second one on the same database works it
    // with s3rver stopped: 5 attempts (1+2+4+8 s of backoff), then a terminal state.
    await withS3(async (s3) => {
      const own = mkdtempSync(join(tmpdir(), 'vidzo-lastretry-'));
      const same = ['--db', `sqlite:${own}/vidzo.db`, '--data-dir', own];
      try {
        let u, up;
        await withServer({ args: [...s3.args, '--job-workers', '0', ...same] }, async ({ url }) => {
          u = await newUser('ms3r', { base: url, dataDir: own });
          const { png } = corpus();
          up = await newUpload(u.token, png, { type: 'image/png', purpose: 'avatar', base: url });
          assert.equal((await putBytes(up, png)).status, 200);
          const c = expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 202);
          assert.equal(c.json.data.status, 'processing');
        });
        await s3.srv.close();
        s3.stopped = true;
        await withServer({ args: [...s3.args, '--job-workers', '1', ...same] }, async ({ url, log }) => {
          const m = await settled(u.token, up.id, { base: url, ms: 60000 });
          assert.equal(m.status, 'failed', JSON.stringify(m));
          assert.equal(m.reason, 'processing_failed');
          assert.match(m.error, /upload it again/);
          assert.equal(m.variants, undefined);
          assert.match(log(), /media image given up after its last attempt/);
          // terminal: it stays failed, and no service can take it (409, not a silent success)
          expectError(await api('PATCH', '/v1/me', { base: url, token: u.token, body: { avatar_upload_id: up.id } }), 409,
            'media_not_usable', 'avatar_upload_id');
          const again = expectStatus(await api('GET', `/v1/uploads/${up.id}`, { base: url, token: u.token }), 200).json.data;
          assert.equal(again.status, 'failed');
          const me = expectStatus(await api('GET', '/v1/me', { base: url, token: u.token }), 200).json.data;
          assert.equal(me.avatar_url, null);
          assert.equal(me.avatar, undefined);
        });
      } finally { rmSync(own, { recursive: true, force: true }); }
    });
  } },
  { name: 's3: virtual-host addressing against a live s3rver: presigned PUT, confirm, variants, redirect, all by Host', timeout: 60000, fn: async () => {
    await withS3(async (s3) => {
      await withServer({ args: s3.args }, async ({ url, dir }) => {
        const u = await newUser('ms3v', { base: url, dataDir: dir });
        const { jpeg } = corpus();
        const up = await newUpload(u.token, jpeg, { base: url });
        const put = new URL(up.upload.url);
        assert.equal(put.host, `${BUCKET}.s3.localhost:${s3.port}`); // the bucket is in the host
        assert.match(put.pathname, /^\/up-[0-9a-f]+\.bin$/);
        const r = await loopback(up.upload.url, { method: 'PUT', body: jpeg,
          headers: { 'content-type': 'image/jpeg', 'content-length': jpeg.length } });
        assert.equal(r.status, 200, r.body.toString());
        // s3rver stored it in the bucket named by the Host: the SDK finds it path-style
        assert.deepEqual(await s3.read(put.pathname.slice(1)), jpeg);
        // the server's HEAD, ranged GET, the job's GET, PUTs and DELETE all go by Host too
        expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 202);
        const m = await settled(u.token, up.id, { base: url });
        assert.equal(m.status, 'ready', JSON.stringify(m));
        const v = new URL(m.variants['480'].webp);
        assert.equal(v.host, `${BUCKET}.s3.localhost:${s3.port}`);
        const got = await loopback(v.href);
        assert.equal(got.status, 200);
        assert.equal(dims(got.body).w, 480);
        assert.deepEqual(got.body, await s3.read(v.pathname.slice(1)));
        await assert.rejects(s3.read(put.pathname.slice(1))); // the original was deleted
        // GET /v1/media/:key on S3 redirects to the virtual-host URL
        const redirect = await fetch(`${url}/v1/media${v.pathname}`, { redirect: 'manual' });
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.get('location'), v.href);
      });
    }, { vhost: true });
  } },
  { name: 's3: vidzo media migrate --to s3 copies every object (multipart when large), resumes, and the SDK reads them', timeout: 90000, fn: async () => {
    await withS3(async (s3) => {
      await withServer({ args: ['--job-workers', '1'] }, async ({ url, dir }) => {
        const u = await newUser('mmig', { base: url, dataDir: dir });
        const { jpeg, png } = corpus();
        const av = expectStatus(await api('PUT', '/v1/me/avatar', { base: url, token: u.token, raw: png, headers: { 'content-type': 'image/png' } }), 200);
        const up = await newUpload(u.token, jpeg, { base: url });
        await putBytes(up, jpeg, { base: url });
        expectStatus(await api('POST', `/v1/uploads/${up.id}/confirm`, { base: url, token: u.token }), 202);
        const m = await settled(u.token, up.id, { base: url });
        // a recording-sized object: 9 MiB goes up in two parts
        const big = Buffer.alloc(9 * 1024 * 1024 + 5, 7);
        big.write('a large recording', 1000);
        writeFileSync(`${dir}/media/p-0123456789abcdef0123456789abcdef.mp4`, big);
        const common = ['--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'error', '--s3-endpoint', s3.endpoint,
          '--s3-bucket', BUCKET, '--s3-access-key', 'S3RVER', '--s3-secret-key', 'S3RVER'];
        const first = JSON.parse((await run(BIN, ['media', 'migrate', '--to', 's3', ...common])).stdout);
        assert.equal(first.failed, 0);
        assert.ok(first.copied >= 8, JSON.stringify(first)); // avatar + 6 variants + the recording
        const again = JSON.parse((await run(BIN, ['media', 'migrate', '--to', 's3', ...common])).stdout);
        assert.deepEqual([again.copied, again.skipped], [0, first.copied]);
        assert.deepEqual(await s3.read('p-0123456789abcdef0123456789abcdef.mp4'), big);
        assert.deepEqual(await s3.read(av.json.data.avatar_url.split('/').pop()), png);
        const key = m.variants['480'].webp.split('/').pop();
        assert.equal(dims(await s3.read(key)).w, 480);
        // a new file after the first run is the only one the next run copies
        writeFileSync(`${dir}/media/f-11111111111111111111111111111111.pdf`, Buffer.from('%PDF-1.4 invoice'));
        const third = JSON.parse((await run(BIN, ['media', 'migrate', '--to', 's3', ...common])).stdout);
        assert.equal(third.copied, 1);
        // the store down: exit 1, nothing recorded, the next run copies it
        writeFileSync(`${dir}/media/f-22222222222222222222222222222222.pdf`, Buffer.from('%PDF-1.4 second'));
        await s3.srv.close();
        s3.stopped = true;
        await assert.rejects(run(BIN, ['media', 'migrate', '--to', 's3', ...common]));
        await assert.rejects(run(BIN, ['media', 'migrate', ...common]), /--to s3/);
      });
    });
  } },
];
