// The contract says exactly what the validator enforces (issue 21, "Bad input"): for every
// declared field of every operation (body fields, nested ones, query parameters) a value
// just inside each bound the contract states is not refused by the validator, and a value
// just outside is a 400 naming that field. The bounds are read from the binary's own
// contract (vidzo openapi --json), so a schema that drifts from the field tables fails
// here. On a server of its own: the inside values really are written.
import { execFileSync, spawnSync } from 'node:child_process';
import { story, assert, api, newUser, withServer } from '../lib.mjs';

// The validator's own messages for a broken bound (router.c): a 400 with one of these and
// the field's name means the bound was enforced; anything else (a handler's rule, 404, 2xx)
// means the value passed the declared checks.
const BOUND = / must be (\d+ to \d+ characters|from -?\d+ to -?\d+|one of \S+|an id|an integer|a string|an http\(s\) URL)$| must have \d+ to \d+ items$/;

function spec() {
  const r = spawnSync(process.env.VZ_TEST_BIN, ['openapi', '--json', '--data-dir', '/tmp/vidzo-contract-check', '--log-level', 'error'], { encoding: 'utf8' });
  return JSON.parse(r.stdout);
}

const deref = (doc, o) => (o && o.$ref ? o.$ref.slice(2).split('/').reduce((x, k) => x[k], doc) : o);
const types = (s) => [].concat(s.type || []);

// A string of n characters the field's format accepts where it can.
function str(s, n) {
  if (n < 0) return null;
  if (s.format === 'email') return n >= 5 ? `${'a'.repeat(n - 4)}@b.c` : 'a'.repeat(n);
  if (s.format === 'uri') return n >= 7 ? `http://${'a'.repeat(n - 7)}` : 'h'.repeat(n);
  return 'a'.repeat(n);
}

// A value the validator takes for schema s (used for the fields not under test).
function valid(doc, s0) {
  const s = deref(doc, s0);
  if (s.enum) return s.enum.find((v) => v !== null);
  const t = types(s);
  if (s.properties) {
    const o = {};
    for (const k of s.required || []) o[k] = valid(doc, s.properties[k]);
    return o;
  }
  if (t.includes('array')) return [];
  if (s.pattern === '^0*[1-9][0-9]*$') return '1';
  if (t.includes('string')) return str(s, Math.max(s.minLength || 1, s.format === 'email' ? 10 : s.format === 'uri' ? 16 : 1));
  if (t.includes('integer') || t.includes('number')) return s.minimum ?? 0;
  if (t.includes('boolean')) return true;
  return {};
}

// [{ label, value, inside }] for one field's bounds. Integers are BigInt (2^53 - 1 + 1 must
// stay exact on the wire).
function cases(doc, s0) {
  const s = deref(doc, s0), t = types(s), out = [];
  if (s.enum) {
    const choices = s.enum.filter((v) => v !== null);
    out.push({ label: `first choice ${choices[0]}`, value: choices[0], inside: true });
    out.push({ label: `last choice ${choices.at(-1)}`, value: choices.at(-1), inside: true });
    out.push({ label: 'not a choice', value: `${choices[0]}-not-a-choice`, inside: false });
    return out;
  }
  if (s.pattern === '^0*[1-9][0-9]*$') { // an id
    out.push({ label: 'id 1', value: '1', inside: true }, { label: 'id 0', value: '0', inside: false });
    out.push({ label: `${s.maxLength} digits`, value: '1'.padStart(s.maxLength, '0'), inside: true });
    out.push({ label: `${s.maxLength + 1} digits`, value: '1'.padStart(s.maxLength + 1, '0'), inside: false });
    return out;
  }
  if (t.includes('string')) {
    // a URL's pattern asks for the scheme: its shortest is "http://"
    const min = s.format === 'uri' ? Math.max(s.minLength || 0, 7) : s.minLength || 0, max = s.maxLength;
    out.push({ label: `${min} characters`, value: str(s, min), inside: true });
    if (s.minLength) out.push({ label: `${min - 1} characters`, value: str(s, min - 1), inside: false });
    if (max !== undefined) {
      out.push({ label: `${max} characters`, value: str(s, max), inside: true });
      out.push({ label: `${max + 1} characters`, value: str(s, max + 1), inside: false });
    }
    return out.filter((c) => c.value !== null);
  }
  if ((t.includes('integer') || t.includes('number')) && s.minimum !== undefined) {
    out.push({ label: `${s.minimum}`, value: BigInt(s.minimum), inside: true });
    out.push({ label: `${s.minimum - 1}`, value: BigInt(s.minimum) - 1n, inside: false });
    if (s.maximum !== undefined) {
      out.push({ label: `${s.maximum}`, value: BigInt(s.maximum), inside: true });
      out.push({ label: `${s.maximum}+1`, value: BigInt(s.maximum) + 1n, inside: false });
    }
    return out;
  }
  if (t.includes('array') && s.maxItems !== undefined) {
    const item = valid(doc, s.items || {});
    out.push({ label: `${s.maxItems} items`, value: Array(s.maxItems).fill(item), inside: true });
    out.push({ label: `${s.maxItems + 1} items`, value: Array(s.maxItems + 1).fill(item), inside: false });
    if (s.minItems) out.push({ label: `${s.minItems - 1} items`, value: Array(s.minItems - 1).fill(item), inside: false });
  }
  return out;
}

// JSON text with BigInt numbers written exactly.
const json = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `@@${x}@@` : x)).replace(/"@@(-?\d+)@@"/g, '$1');

// Every field of a body schema, nested ones with their path: [{ path, set(body, v), schema }].
function bodyFields(doc, s0, prefix = '', build = (v) => v) {
  const s = deref(doc, s0), out = [];
  for (const [k, p0] of Object.entries(s.properties || {})) {
    const p = deref(doc, p0), path = prefix ? `${prefix}.${k}` : k;
    const base = () => valid(doc, s);
    out.push({ path, schema: p, body: (v) => build({ ...base(), [k]: v }) });
    if (types(p).includes('array') && p.items) {
      const it = deref(doc, p.items);
      if (it.properties)
        out.push(...bodyFields(doc, it, `${path}[0]`, (o) => build({ ...base(), [k]: [o] })));
    }
  }
  return out;
}

story('every declared field: just inside each bound passes the validator, just outside is a 400 naming it', async () => {
  const doc = spec();
  await withServer({ args: ['--dev'], env: { VIDZO_TOTP_OPTIONAL: '1', VIDZO_AUTH_IP_LIMIT_SCALE: '100' } }, async ({ url, dir }) => {
    execFileSync(process.env.VZ_TEST_BIN, ['admin', 'create', '--email', 'bounds-admin@e2e.test', '--password', 'Admin-pass-123456',
      '--db', `sqlite:${dir}/vidzo.db`, '--data-dir', dir, '--log-level', 'error'], { env: { ...process.env, VIDZO_PASSWORD_COST_FAST: '1' } });
    const signin = await api('POST', '/v1/auth/signin', { base: url, body: { email: 'bounds-admin@e2e.test', password: 'Admin-pass-123456' } });
    const admin = signin.json.data.access_token;
    const failures = [];
    let probes = 0, fields = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const body = op.requestBody?.content?.['application/json']?.schema;
        const params = (op.parameters || []).map((p) => deref(doc, p)).filter((p) => p.in === 'query');
        if (!body && !params.length) continue;
        const concrete = path.replace(/\{(\w+)\}/g, (_, n) => {
          const p = (op.parameters || []).map((x) => deref(doc, x)).find((x) => x.in === 'path' && x.name === n);
          return p?.schema?.enum ? p.schema.enum[0] : p?.schema?.minLength ? 'abcde.png' : '1';
        });
        // a fresh caller per operation: per-user limits count each one's probes alone
        let token;
        const who = async () => {
          if (!op.security?.length) return undefined;
          if (op['x-roles']) return admin;
          return (await newUser('bd', { base: url, dataDir: dir })).token;
        };
        token = await who();
        const send = async (q, payload) => {
          for (let i = 0; ; i++) {
            const r = await api(method.toUpperCase(), concrete + q, {
              base: url, token, raw: payload, headers: payload ? { 'content-type': 'application/json' } : {},
              contract: true,
            });
            if (r.status !== 429 || i === 3) return r;
            token = await who(); // a per-user limit: another user
          }
        };
        const targets = [
          ...(body ? bodyFields(doc, body).map((f) => ({ ...f, send: (v) => send('', json(f.body(v))) })) : []),
          ...params.map((p) => ({
            path: p.name, schema: p.schema,
            send: (v) => {
              const q = new URLSearchParams();
              for (const o of params) if (o.required && o.name !== p.name) q.set(o.name, String(valid(doc, o.schema)));
              q.set(p.name, String(v));
              return send(`?${q}`, body ? json(valid(doc, body)) : undefined);
            },
          })),
        ];
        for (const f of targets) {
          const cs = cases(doc, f.schema);
          if (cs.length) fields++;
          for (const c of cs) {
            probes++;
            const r = await f.send(c.value);
            const e = r.json?.error;
            const refused = r.status === 400 && e?.field === f.path && BOUND.test(e.message);
            if (c.inside && refused) failures.push(`${method.toUpperCase()} ${path} ${f.path} = ${c.label}: refused (${e.message})`);
            if (!c.inside && !(r.status === 400 && e?.field === f.path))
              failures.push(`${method.toUpperCase()} ${path} ${f.path} = ${c.label}: ${r.status} ${r.text.slice(0, 120)}`);
          }
        }
      }
    }
    console.log(`     bounds: ${fields} fields, ${probes} probes`);
    assert.ok(fields > 40, `only ${fields} fields with bounds found`);
    assert.deepEqual(failures, []);
  });
}, { timeout: 120000 });
