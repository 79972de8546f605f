// media_support.mjs: the image corpus the media stories use, made here at run time (the
// vips CLI from libvips-tools for real encodings, bytes by hand for the hostile ones), and
// the upload steps every story repeats.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { api, assert, expectStatus, sleep } from '../lib.mjs';

let cached;
const crc32 = (buf) => {
  let c, crc = 0xffffffff;
  for (const b of buf) { c = (crc ^ b) & 0xff; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crc = (crc >>> 8) ^ c; }
  return (crc ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};
// A PNG whose header claims w x h: a decompression bomb's header (the pixels would be
// w*h*3 bytes) with one tiny deflate stream behind it.
export function pngHeaderOnly(w, h) {
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1 + w * 3))), chunk('IEND', Buffer.alloc(0))]);
}
// An EXIF APP1 segment: Orientation 6 (rotate 90 clockwise to view) and a GPS IFD with a
// latitude, to check that orientation is applied and GPS never reaches a variant.
function exifApp1() {
  const t = Buffer.alloc(80);
  t.write('II', 0); t.writeUInt16LE(42, 2); t.writeUInt32LE(8, 4);
  t.writeUInt16LE(2, 8); // IFD0: 2 entries
  t.writeUInt16LE(0x0112, 10); t.writeUInt16LE(3, 12); t.writeUInt32LE(1, 14); t.writeUInt16LE(6, 18);
  t.writeUInt16LE(0x8825, 22); t.writeUInt16LE(4, 24); t.writeUInt32LE(1, 26); t.writeUInt32LE(38, 30);
  t.writeUInt32LE(0, 34);
  t.writeUInt16LE(1, 38); // GPS IFD: latitude
  t.writeUInt16LE(2, 40); t.writeUInt16LE(5, 42); t.writeUInt32LE(3, 44); t.writeUInt32LE(56, 48);
  t.writeUInt32LE(0, 52);
  [48, 1, 51, 1, 7, 1].forEach((v, i) => t.writeUInt32LE(v, 56 + 4 * i));
  const body = Buffer.concat([Buffer.from('Exif\0\0'), t]);
  const len = Buffer.alloc(2); len.writeUInt16BE(body.length + 2);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), len, body]);
}

export function corpus() {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'vidzo-media-'));
  const vips = (...a) => execFileSync('vips', a, { stdio: 'pipe' });
  try {
    vips('gaussnoise', `${dir}/n.v`, '1600', '900');
    vips('jpegsave', `${dir}/n.v`, `${dir}/big.jpg`, '--Q', '80');
    vips('black', `${dir}/s.v`, '200', '100', '--bands', '3');
    vips('linear', `${dir}/s.v`, `${dir}/r.v`, '1', '200', '--uchar'); // a flat colour
    vips('jpegsave', `${dir}/r.v`, `${dir}/wide.jpg`);
    vips('pngsave', `${dir}/r.v`, `${dir}/small.png`);
    vips('webpsave', `${dir}/r.v`, `${dir}/small.webp`);
    const big = readFileSync(`${dir}/big.jpg`), wide = readFileSync(`${dir}/wide.jpg`);
    cached = {
      jpeg: big,
      png: readFileSync(`${dir}/small.png`),
      webp: readFileSync(`${dir}/small.webp`),
      // 200x100 with "rotate 90" and GPS in EXIF: upright it is 100x200
      exifJpeg: Buffer.concat([wide.subarray(0, 2), exifApp1(), wide.subarray(2)]),
      truncatedJpeg: big.subarray(0, Math.floor(big.length / 2)),
      pngBomb: pngHeaderOnly(20000, 20000),
      svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'),
      zip: Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 0)]),
      gif: Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(40, 1)]),
    };
  } finally { rmSync(dir, { recursive: true, force: true }); }
  return cached;
}

// POST /v1/uploads; the reply's data.
export async function newUpload(token, bytes, { purpose = 'product_image', type = 'image/jpeg', size, base } = {}) {
  const r = expectStatus(await api('POST', '/v1/uploads', { base, token, body: { purpose, content_type: type, size: size ?? bytes.length } }), 201);
  return r.json.data;
}

// PUTs to the URL the upload names (relative: the server's one-time URL; absolute: S3).
export async function putBytes(up, bytes, { base, type } = {}) {
  const url = up.upload.url.startsWith('/') ? base + up.upload.url : up.upload.url;
  const r = await fetch(url, { method: 'PUT', headers: { 'content-type': type ?? up.upload.headers['Content-Type'] }, body: bytes });
  return { status: r.status, text: await r.text() };
}

// Polls GET /v1/uploads/:id until it leaves processing.
export async function settled(token, id, { base, ms = 15000 } = {}) {
  const t0 = Date.now();
  for (;;) {
    const r = expectStatus(await api('GET', `/v1/uploads/${id}`, { base, token }), 200);
    if (r.json.data.status !== 'processing') return r.json.data;
    assert.ok(Date.now() - t0 < ms, `still processing after ${ms} ms`);
    await sleep(100);
  }
}

// The dimensions of a JPEG (SOF) or WebP (VP8/VP8L/VP8X) the server produced.
export function dims(b) {
  if (b[0] === 0xff && b[1] === 0xd8) {
    for (let i = 2; i < b.length;) {
      const m = b[i + 1], len = b.readUInt16BE(i + 2);
      if (m >= 0xc0 && m <= 0xc2) return { w: b.readUInt16BE(i + 7), h: b.readUInt16BE(i + 5) };
      i += 2 + len;
    }
  }
  if (b.subarray(0, 4).toString() === 'RIFF') {
    const k = b.subarray(12, 16).toString();
    if (k === 'VP8 ') return { w: b.readUInt16LE(26) & 0x3fff, h: b.readUInt16LE(28) & 0x3fff };
    if (k === 'VP8L') { const v = b.readUInt32LE(21); return { w: (v & 0x3fff) + 1, h: ((v >> 14) & 0x3fff) + 1 }; }
    if (k === 'VP8X') return { w: b.readUIntLE(24, 3) + 1, h: b.readUIntLE(27, 3) + 1 };
  }
  return null;
}
