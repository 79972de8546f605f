// auth_support.mjs: what the auth stories and the fault walks share (no stories of its
// own): RFC 6238 codes computed the way an authenticator app does, and a fake Google
// whose JWKS the server reads from a file.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export default [];

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) for a base32 secret at time step `step`.
export function totp(secretB32, step) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, acc = 0;
  const bytes = [];
  for (const ch of secretB32.replace(/=+$/, '').toUpperCase()) {
    acc = (acc << 5) | alpha.indexOf(ch);
    bits += 5;
    if (bits >= 8) { bytes.push((acc >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', Buffer.from(bytes)).update(msg).digest();
  const off = mac[19] & 0xf;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 1000000).padStart(6, '0');
}
export const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// A fake Google: an ES256 key whose JWKS the server reads from a file.
export function fakeGoogle(dir) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'g1', alg: 'ES256', use: 'sig' };
  const path = join(dir, 'google-jwks.json');
  writeFileSync(path, JSON.stringify({ keys: [jwk] }));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const idToken = (claims) => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ES256', kid: 'g1', typ: 'JWT' })}.${b64({
      iss: 'https://accounts.google.com', aud: 'e2e-client', iat: now, exp: now + 600, ...claims })}`;
    const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  };
  return { path, idToken };
}
