// The Node.js side of the presign figure: aws4 (the signer the peer stack would use)
// presigning the same PUT as `vidzo media bench --what presign`. Prints calls/s.
import aws4 from '../tests/node_modules/aws4/aws4.js';
const n = Number(process.argv[2] || 100000);
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
let bytes = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const r = aws4.sign({ service: 's3', region: 'eu-west-1', method: 'PUT', host: 'vidzo-bench.s3.eu-west-1.amazonaws.com',
    path: '/up-0123456789abcdef0123456789abcdef.bin?X-Amz-Expires=3600', signQuery: true,
    headers: { 'Content-Length': '559083', 'Content-Type': 'image/jpeg' } }, creds);
  bytes += r.path.length;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ what: 'presign-aws4-node', n, seconds: +s.toFixed(3), per_second: +(n / s).toFixed(1), out_bytes: bytes }));
