// validate.mjs: every answer the end-to-end stories see, checked against the contract
// (`vidzo openapi --json` of the binary under test, which tests/contract/check.mjs proves is
// docs/openapi.yaml). lib.mjs api() calls checkResponse() on each reply: a status the
// operation does not list, a body that misses a field the schema requires or has one it
// does not know (additionalProperties: false), a header the response promises and lacks,
// all fail the story that made the call. Socket.IO payloads and acks are checked against
// docs/asyncapi.yaml the same way (checkSocket). At exit, a report of the operations no
// story exercised.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import Ajv07 from 'ajv';
import addFormats from 'ajv-formats';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
let state; // { openapi, asyncapi, ops: [{ re, method, pointer, op }], ajv, seen: Map }

function load(kind) {
  const bin = process.env.VZ_TEST_BIN || join(root, 'build/debug/vidzo');
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, [kind, '--json', '--data-dir', '/tmp/vidzo-contract-check', '--log-level', 'error'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  try { return JSON.parse(r.stdout); } catch { return null; }
}

// A copy whose schemas require nothing: the answer to a request with fields= keeps only the
// named keys, so presence is not checked then (types and unknown keys still are).
function withoutRequired(v) {
  if (Array.isArray(v)) return v.map(withoutRequired);
  if (!v || typeof v !== 'object') return v;
  const o = {};
  for (const [k, x] of Object.entries(v)) if (!(k === 'required' && Array.isArray(x))) o[k] = withoutRequired(x);
  return o;
}

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function init() {
  if (state !== undefined) return state;
  state = null;
  if (process.env.VZ_CONTRACT === '0') return null;
  const openapi = load('openapi'), asyncapi = load('asyncapi');
  if (!openapi) { console.log('contract: no `vidzo openapi` output: responses are not checked'); return null; }
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(openapi, 'openapi.json');
  ajv.addSchema(withoutRequired(openapi), 'openapi-relaxed.json');
  // AsyncAPI 3.0 schemas are draft-07 (its default schema format)
  const ajv07 = new Ajv07({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv07);
  if (asyncapi) ajv07.addSchema(asyncapi, 'asyncapi.json');
  const ops = [];
  for (const [path, item] of Object.entries(openapi.paths)) {
    const re = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const [method, op] of Object.entries(item))
      ops.push({ re, method: method.toUpperCase(), op, pointer: `#/paths/${esc(path)}/${method}` });
  }
  state = { openapi, asyncapi, ops, ajv, ajv07, seen: new Map(), compiled: new Map() };
  process.on('exit', report);
  return state;
}

function validator(ajvInst, base, pointer, cacheKey = `${base}${pointer}`) {
  let v = state.compiled.get(cacheKey);
  if (!v) {
    v = ajvInst.compile({ $ref: `${base}${pointer}` });
    state.compiled.set(cacheKey, v);
  }
  return v;
}

const deref = (doc, o) => {
  for (let i = 0; o && o.$ref && i < 5; i++)
    o = o.$ref.slice(2).split('/').reduce((x, k) => x?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  return o;
};

const ajvText = (v) => v.errors.slice(0, 4).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`).join('; ');

// Problems of one exchange (empty when it keeps the contract). res: { status, headers, json, text }.
export function checkResponse(method, url, res) {
  const s = init();
  if (!s || !res || !res.status) return [];
  const u = new URL(url, 'http://x');
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const hit = s.ops.find((o) => o.method === m && o.re.test(u.pathname));
  if (!hit) return []; // a debug or test route, or a path nobody serves
  const id = hit.op.operationId;
  // a row still without its contract fields: check.mjs fails once naming it, rather than
  // every story of its service failing here on a body the contract cannot describe yet
  if (!id) return [];
  if (!s.seen.has(id)) s.seen.set(id, new Set());
  s.seen.get(id).add(res.status);
  const where = `${method} ${u.pathname} -> ${res.status} (${id})`;
  const code = String(res.status);
  const rkey = hit.op.responses[code] ? code : hit.op.responses[`${code[0]}XX`] ? `${code[0]}XX` : hit.op.responses.default ? 'default' : null;
  if (!rkey) return [`${where}: status ${res.status} is not in the contract (it lists ${Object.keys(hit.op.responses).join(', ')})`];
  const resp = deref(s.openapi, hit.op.responses[rkey]);
  const respPointer = hit.op.responses[rkey].$ref
    ? `#/components/responses/${hit.op.responses[rkey].$ref.split('/').pop()}`
    : `${hit.pointer}/responses/${esc(rkey)}`;
  const problems = [];
  for (const [name, h0] of Object.entries(resp.headers || {})) {
    const h = deref(s.openapi, h0);
    const value = res.headers.get(name);
    if (value == null) { if (h.required) problems.push(`${where}: header ${name} missing`); continue; }
    const hp = h0.$ref ? `#/components/headers/${h0.$ref.split('/').pop()}/schema` : `${respPointer}/headers/${esc(name)}/schema`;
    const v = validator(s.ajv, 'openapi.json', hp);
    if (!v(value)) problems.push(`${where}: header ${name}: ${ajvText(v)}`);
  }
  const noBody = method.toUpperCase() === 'HEAD' || res.status === 204 || res.status === 304;
  if (!resp.content) {
    if (!noBody && res.text) problems.push(`${where}: a body where the contract has none: ${res.text.slice(0, 100)}`);
    return problems;
  }
  if (noBody) return problems;
  const ct = (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  const media = Object.keys(resp.content).find((k) => {
    const base = k.split(';')[0].trim().toLowerCase();
    return base === ct || (base.endsWith('/*') && ct.startsWith(base.slice(0, -1)));
  });
  if (!media) return [...problems, `${where}: Content-Type ${ct || '(none)'}, the contract says ${Object.keys(resp.content).join(', ')}`];
  if (!media.startsWith('application/json')) return problems;
  if (res.json === undefined) return [...problems, `${where}: the body is not JSON: ${res.text.slice(0, 100)}`];
  const relaxed = u.searchParams.has('fields');
  const v = validator(s.ajv, relaxed ? 'openapi-relaxed.json' : 'openapi.json', `${respPointer}/content/${esc(media)}/schema`);
  if (!v(res.json)) problems.push(`${where}: body: ${ajvText(v)}: ${res.text.slice(0, 200)}`);
  return problems;
}

// A Socket.IO event the client sends (kind 'payload') or its ack (kind 'ack', args the ack's
// arguments), or an event the server emitted (kind 'emitted'), against docs/asyncapi.yaml.
// Events the contract does not describe (test-app ones) are not checked.
export function checkSocket(nsp, event, kind, value) {
  const s = init();
  if (!s || !s.asyncapi) return [];
  const ch = Object.entries(s.asyncapi.channels).find(([, c]) => c.address === nsp);
  if (!ch) return [];
  const key = event.replace(/[:/ ]/g, '_');
  const msgKey = kind === 'ack' ? `${key}_ack` : key;
  if (!ch[1].messages[msgKey]) return [];
  const [opId, op] = Object.entries(s.asyncapi.operations)
    .find(([, o]) => o.messages?.[0]?.$ref === `#/channels/${ch[0]}/messages/${key}`) || [];
  if (kind === 'emitted' && op?.action !== 'send') return []; // a client event's name, not a server emit
  if (opId && kind !== 'payload') {
    if (!s.seen.has(`socket:${opId}`)) s.seen.set(`socket:${opId}`, new Set());
    s.seen.get(`socket:${opId}`).add(kind);
  }
  const v = validator(s.ajv07, 'asyncapi.json', `#/channels/${esc(ch[0])}/messages/${esc(msgKey)}/payload`);
  return v(value) ? [] : [`socket ${nsp} ${event} ${kind}: ${ajvText(v)}: ${JSON.stringify(value).slice(0, 200)}`];
}

// The operations no story reached (run.sh shows the summary line).
function report() {
  const s = state;
  if (!s) return;
  const all = s.ops.map((o) => o.op.operationId);
  const socketOps = Object.keys(s.asyncapi?.operations || {}).map((k) => `socket:${k}`);
  const missing = [...all, ...socketOps].filter((id) => !s.seen.has(id));
  const total = all.length + socketOps.length;
  console.log(`contract coverage: ${total - missing.length} of ${total} operations exercised${missing.length ? `; not exercised: ${missing.join(', ')}` : ''}`);
}
