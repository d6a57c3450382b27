/**
 * Ingress fuzz: thousands of generated malformed requests against every client route of an
 * ingress-only hub. Each must get a 4xx, as problem+json wherever the hub itself answered; nothing
 * may be published; the process must still take a valid upload afterwards. The generator is
 * seeded (PROXYHUB_FUZZ_SEED to replay a run) and every body is checked against the contracts
 * before it is sent, so a 202 can only mean an ingress bug, never a lucky valid input.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import t from 'tap';
import { factsUploadSchema } from '../../contracts/events/facts-uploaded.ts';
import { uploadedReportSchema } from '../../contracts/events/report-uploaded.ts';
import { createTopology } from '../../contracts/topology.ts';
import { parseRubyYaml } from '../../hub/ingress/ruby-yaml.ts';
import { assertYamlFlowBounds } from '../../hub/ingress/input-shape.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { waitFor } from '../helpers/wait-for.ts';

const seed = Number(process.env.PROXYHUB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
t.comment(`fuzz seed ${seed} (replay with PROXYHUB_FUZZ_SEED=${seed})`);

const LIMIT = 16_384;
// mulberry32; one stream per category, so each category's inputs replay independently.
function rng(category: string) {
  let a = [...category].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16_777_619), seed ^ 2_166_136_261) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, chance: (p: number) => next() < p, pick: <T>(items: readonly T[]): T => items[int(items.length)] as T };
}
type Rng = ReturnType<typeof rng>;

type Target = 'facts' | 'ansible' | 'puppet' | 'any';
interface Probe {
  readonly what: string;
  readonly target: Target;
  /** The entity as the hub would read it; checked against the contracts before sending. */
  readonly body: Buffer;
  readonly fetch?: { readonly path: string; readonly method?: string; readonly headers: Record<string, string> };
  readonly raw?: { readonly bytes: Buffer; readonly halfClose?: boolean; readonly head?: boolean };
}

// ---- bodies ------------------------------------------------------------------------------------
const json = JSON.stringify;
const MARK = '\u0001'; // becomes a random invalid UTF-8 sequence when encoded
const BAD_UTF8 = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
const NOT_STRINGS = ['42', '-0', '1e999', 'null', 'true', '[]', '["a"]', '{}', '{"a":"b"}'];
const BLANK_STRINGS = ['""', '"   "', '"\\t\\n "', json('a'.repeat(256))];
const NOT_RECORDS = ['"x"', '1', 'null', 'false', '[]', '[{"a":1}]', '"{}"'];
const TOP_LEVEL = ['', ' ', '\n', '[]', '"x"', '0', 'null', 'true', '{}', '[{"name":"h.example.com","facts":{},"host":"h.example.com"}]'];
const FACTS_ROUTES = ['/api/hosts/facts', '/api/v2/hosts/facts'];
const UNKNOWN_ROUTES = ['/reports/chef', '/api/v2/hosts', '/api/hosts/fact', '/', '/api/v3/hosts/facts'];
const ANY_BAD: ReadonlyArray<readonly [string, string]> = [
  ['application/json', '{"name":42,"facts":"x","host":42}'],
  ['application/json', '{"host":"","name":"","facts":[]}'],
  ['application/x-yaml', 'host: ~\nname: 42\nfacts: x\n'],
  ['text/plain', 'name=h&facts=x'],
];

function encode(r: Rng, text: string): Buffer {
  return Buffer.concat(text.split(MARK).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from(r.pick(BAD_UTF8)), Buffer.from(part)])));
}

/** Object members that break the facts or ansible contract in exactly one named way. */
function badMembers(r: Rng, target: 'facts' | 'ansible'): string[] {
  const name = '"name":"host.example.com"';
  const facts = '"facts":{"os":"linux","_type":"puppet"}';
  if (target === 'ansible') {
    const rest = '"results":[{"task":{"name":"x"}}],"status":"changed"';
    if (r.chance(0.25)) return [rest];
    return r.chance(0.3) ? [`"${r.pick(['Host', 'HOST', 'host ', 'hostname', ' host'])}":"h.example.com"`, rest] : [`"host":${r.pick([...BLANK_STRINGS, ...NOT_STRINGS])}`, rest];
  }
  switch (r.int(5)) {
    case 0: return [facts];
    case 1: return [name];
    case 2: return [`"name":${r.pick([...BLANK_STRINGS, ...NOT_STRINGS])}`, facts];
    case 3: return [name, `"facts":${r.pick(NOT_RECORDS)}`];
    default: return [name, facts, `"${r.pick(['certname', 'type'])}":${r.pick(['""', json('a'.repeat(256)), ...NOT_STRINGS])}`];
  }
}

/** Extra members the contracts ignore, so they can be as hostile as they like. */
function junkMember(r: Rng): string {
  const key = r.pick(['"x"', '"__proto__"', '"constructor"', '"\\ud800"', `"k${MARK}"`, '""', json('k'.repeat(300))]);
  const depth = 1 + r.int(6000);
  const value = r.pick([
    () => '['.repeat(depth) + ']'.repeat(depth),
    () => '['.repeat(10_000 + r.int(5000)),
    () => '{"a":'.repeat(depth >> 2) + '1' + '}'.repeat(depth >> 2),
    () => r.pick(['1e999999', '-1e400', '9'.repeat(5000), `0.${'0'.repeat(3000)}1`, '123456789012345678901234567890']),
    () => r.pick(['"\\ud800"', '"\\udfff\\ud800"', '"a\\ud800b"', '"\\uDBFF"', '"\\u0000"', '{"constructor":{"prototype":{"x":1}}}']),
    () => `"x${MARK}y"`,
    () => `"${'s'.repeat(r.int(4000))}"`,
  ])();
  return `${key}:${value}`;
}

/** A JSON document (or not quite) that the target's contract refuses. */
function badJson(r: Rng, target: 'facts' | 'ansible'): string {
  if (r.chance(0.1)) return r.pick(TOP_LEVEL);
  let members = badMembers(r, target);
  // Duplicate keys: a valid value first, the bad one last (JSON.parse keeps the last).
  if (r.chance(0.25)) members = [...members.map((m) => m.replace(/^"(name|host|certname|type)":.*$/s, '"$1":"dup.example.com"').replace(/^"facts":.*$/s, '"facts":{}')), ...members];
  const text = `{${[...members, ...Array.from({ length: r.int(3) }, () => junkMember(r))].join(',')}}`;
  switch (r.int(12)) {
    case 0: return text.slice(0, r.int(text.length));
    case 1: return text + r.pick(['}', ',', ']', 'x', '{}', '\u0000', ' garbage', '//c', '\n{"name":"a"}', MARK]);
    case 2: return r.pick(['\uFEFF', '\uFEFF\uFEFF', MARK]) + text;
    case 3: return `)]}',\n${text}`;
    case 4: return text.replaceAll('"', "'");
    case 5: return text.replace(/}$/, ',}');
    case 6: return text.replace('{', '{/*c*/');
    case 7: return text.replace('"', `"${r.pick(['\n', '\u0000', '\t', '\u001f'])}`);
    case 8: return text.replace(/}$/, `,"n":${r.pick(['NaN', 'Infinity', 'undefined', '0x10', '01', '.5', '+1'])}}`);
    default: return text;
  }
}

const YAML_LINES = ['status: failed', 'kind: apply', 'time: 2024-05-01 10:00:00.123456 +00:00', 'configuration_version: 1714557600', 'logs:\n  - !ruby/object:Puppet::Util::Log\n    level: :notice\n    message: applied', 'metrics: {}', 'resource_statuses: {}', 'environment: production'];
const HOST_VALUES = ['~', 'null', '""', "''", '42', '3.5', '0x1F', '[a, b]', '{a: 1}', 'true', 'yes', 'off', '!ruby/object:Foo {}', '"   "', 'a'.repeat(256), '- a', '*undefined_alias', '&anchor'];
const garbage = (r: Rng): string => Array.from({ length: 1 + r.int(40) }, () => r.pick([...'!:<>{}[]%@`|\u0000\u00e9\u202e', 'Foo', '::'])).join('');
const laughs = (r: Rng): string => Array.from({ length: 9 }, (_, i) => `l${i}: &l${i} [${i === 0 ? '"lol"' : `*l${i - 1}`}${`, ${i === 0 ? '"lol"' : `*l${i - 1}`}`.repeat(8)}]`).join('\n') + (r.chance(0.5) ? '\nm: &m {<<: [*l8, *l8]}' : '');

/** A Puppet report in YAML without a usable `host`, often not even YAML. */
function badYaml(r: Rng): string {
  const lines = Array.from({ length: r.int(5) }, () => r.pick(YAML_LINES));
  if (!r.chance(0.3)) lines.splice(r.int(lines.length + 1), 0, r.chance(0.2) ? `${r.pick(['Host', 'hostname', '"host "', 'HOST'])}: h.example.com` : `host: ${r.pick(HOST_VALUES)}`);
  const breakers = [
    () => `\t${r.pick(YAML_LINES)}`, () => 'message: "unterminated', () => "message: 'unterminated", () => 'metrics: [1, 2', () => 'metrics: {a: 1',
    () => 'x: *nope', () => laughs(r), () => '---\nstatus: second document', () => `deep: ${'['.repeat(1 + r.int(10_000))}`, () => `junk: a${MARK}b`,
    () => 'nul: a\u0000b', () => '? complex key\n: value', () => '%YAML 1.1', () => `x: !ruby/object:${garbage(r)} {}`, () => `long: ${'y'.repeat(r.int(12_000))}`,
    () => 'a:\n- b\n  - c', () => 'key: value: other', () => '- seq item in a map', () => '@reserved', () => '`backtick', () => `bin: !!binary ${garbage(r)}`,
  ];
  // Breakers go on lines of their own: the host line stays as generated, so it can never turn valid.
  for (let n = r.int(4); n > 0; n -= 1) lines.splice(r.int(lines.length + 1), 0, r.pick(breakers)());
  const header = r.pick(['', '---\n', '--- !ruby/object:Puppet::Transaction::Report\n', `--- !ruby/object:${garbage(r)}\n`, '--- !ruby/hash-with-ivars:X\n', '%YAML 1.1\n---\n', '%TAG !r! tag:ruby.yaml.org,2002:\n--- !r!object:X\n', '\uFEFF---\n', '--- !!python/object/apply:os.system\n']);
  return header + lines.join('\n') + '\n';
}

/** Would any reading the hub might apply accept this body? Then it must not be sent. */
function contractAccepts(target: Target, body: Buffer): boolean {
  const text = new TextDecoder().decode(body).replace(/^\uFEFF/, '');
  const schemas = target === 'facts' ? [factsUploadSchema] : target === 'any' ? [factsUploadSchema, uploadedReportSchema] : [uploadedReportSchema];
  // YAML is read as the ingress reads it: the flow pre-scan first. Without it, YAML nested
  // thousands deep can crash V8's regexp compiler inside the yaml package (a fuzz seed found it).
  const readYaml = (): unknown => {
    assertYamlFlowBounds(text);
    return parseRubyYaml(text);
  };
  const readings = target === 'facts' || target === 'ansible' ? [() => JSON.parse(text) as unknown] : [() => JSON.parse(text) as unknown, readYaml];
  return readings.some((read) => {
    try {
      const value = read();
      return schemas.some((schema) => schema.safeParse(value).success);
    } catch {
      return false;
    }
  });
}

// ---- requests ----------------------------------------------------------------------------------
const latin1 = (text: string): string => Buffer.from(text).toString('latin1'); // raw UTF-8 bytes in a request line

/** `contentLength` null: no Content-Length header (the head frames the body some other way, or lies). */
function raw(head: string, body: Buffer, contentLength: number | null = body.length): Buffer {
  const length = contentLength === null ? '' : `Content-Length: ${contentLength}\r\n`;
  return Buffer.concat([Buffer.from(`${head}${length}Connection: close\r\n\r\n`, 'latin1'), body]);
}

function fetchProbe(what: string, target: Target, path: string, contentType: string | undefined, body: Buffer, extra: Record<string, string> = {}): Probe {
  return { what, target, body, fetch: { path, headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...extra } } };
}

function routeFor(r: Rng, withUnknown = false): { path: string; target: Target; type: string } {
  const path = r.pick([...FACTS_ROUTES, ...FACTS_ROUTES, '/reports/ansible', '/reports/puppet', ...(withUnknown ? UNKNOWN_ROUTES : [])]);
  if (path.includes('facts') && !path.includes('v3')) return { path, target: 'facts', type: 'application/json' };
  if (path === '/reports/ansible') return { path, target: 'ansible', type: 'application/json' };
  return { path, target: path === '/reports/puppet' ? 'puppet' : 'any', type: 'application/x-yaml' };
}

/**
 * For requests where the hub reads only a prefix of the body. Cut short, a generated YAML report
 * can end inside a long `host` scalar and become valid; a JSON object cannot (its closing brace
 * goes first), and no prefix of these YAML documents has a string `host` either.
 */
function prefixSafeBody(r: Rng, target: Target): Buffer {
  return target === 'puppet' ? Buffer.from(`status: failed\nhost: ${r.pick(['~', '42', '[a, b]', '{}'])}\nlogs: []\n`) : bodyFor(r, target);
}

function bodyFor(r: Rng, target: Target): Buffer {
  if (target === 'facts' || target === 'ansible') return encode(r, badJson(r, target));
  return target === 'puppet' ? encode(r, badYaml(r)) : Buffer.from(r.pick(ANY_BAD)[1]);
}

const CONTENT_TYPES = ['text/plain', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=XyZ', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/json;charset=latin1', 'application/json; charset="', '', `application/${'x'.repeat(500)}`, `application/json; ${'p=v; '.repeat(100)}`, 'APPLICATION/JSON', 'application/jsonx', 'application/json-patch+json', 'application/*', '*/*', 'application', 'json', ';', 'application/json, text/plain', 'application/x-yaml', 'text/yaml', 'application/yaml; charset=binary', 'text/html', 'application/octet-stream'];

function contentTypeProbe(r: Rng): Probe {
  const { path, target } = routeFor(r, true);
  const doc = bodyFor(r, target);
  const body = r.pick([
    () => doc,
    () => Buffer.from(`\uFEFF${doc.toString()}`, 'utf16le'),
    () => Buffer.from(`--XyZ\r\nContent-Disposition: form-data; name="facts"\r\n\r\n${doc.toString()}\r\n--XyZ--\r\n`),
    () => Buffer.from(`name=h.example.com&host=h.example.com&facts=${encodeURIComponent(doc.toString())}`),
    () => Buffer.alloc(0),
  ])();
  const type = r.chance(0.08) ? undefined : r.pick(CONTENT_TYPES);
  return fetchProbe(`content-type ${json(type ?? '(absent)').slice(0, 60)}`, target, path, type, body);
}

const GZIP_BOMB = gzipSync(Buffer.alloc(8 << 20, ' ')); // 8 MiB of spaces in ~8 KiB, under the route limit

function oversizeProbe(r: Rng): Probe {
  const { path, target, type } = routeFor(r);
  const size = r.chance(0.2) ? LIMIT + 1 : LIMIT + 1 + r.int(3 * LIMIT);
  const pad = (n: number): Buffer => Buffer.from(target === 'puppet' ? `status: failed\npad: ${'x'.repeat(n)}\n` : `{"name":42,"host":42,"pad":"${'x'.repeat(n)}"}`);
  if (r.chance(0.55)) return fetchProbe(`oversize ${size} B`, target, path, type, pad(size));
  const body = prefixSafeBody(r, target);
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n`;
  switch (r.int(5)) {
    case 0: return { what: 'content-length above what is sent, then EOF', target, body, raw: { bytes: raw(head, body, body.length + 1 + r.int(LIMIT)), halfClose: true } };
    case 1: {
      const length = r.int(body.length); // the hub reads only this much; the rest is a second, broken request
      return { what: 'content-length below what is sent', target, body: body.subarray(0, length), raw: { bytes: raw(head, body, length) } };
    }
    case 2: return { what: 'content-length over the limit, small body', target, body, raw: { bytes: raw(head, body, r.pick([LIMIT + 1, 10 ** 9, 2 ** 53 + 1])) } };
    case 3: {
      const value = r.pick(['-1', 'abc', '1.5', '0x10', ' 12', '+12', '12, 12', '12, 13', '', '99999999999999999999999', '1'.repeat(400)]);
      // Exactly 12 bytes (padded with JSON/YAML whitespace), so where the value reads as 12 the request is complete.
      const twelve = Buffer.concat([body, Buffer.from(' '.repeat(12))]).subarray(0, 12);
      return { what: `content-length ${json(value).slice(0, 30)}`, target, body: twelve, raw: { bytes: raw(`${head}Content-Length: ${value}\r\n`, twelve, null) } };
    }
    default: {
      const big = pad(size);
      const chunks = [];
      for (let at = 0; at < big.length; at += 4096) chunks.push(`${Math.min(4096, big.length - at).toString(16)}\r\n${big.subarray(at, at + 4096).toString('latin1')}\r\n`);
      return { what: `chunked body of ${size} B`, target, body: big, raw: { bytes: raw(`${head}Transfer-Encoding: chunked\r\n`, Buffer.from(`${chunks.join('')}0\r\n\r\n`, 'latin1'), null) } };
    }
  }
}

function encodingProbe(r: Rng): Probe {
  const { path, target, type } = routeFor(r);
  const doc = r.chance(0.5) ? bodyFor(r, target) : prefixSafeBody(r, target);
  if (r.chance(0.5)) {
    const coding = r.pick(['gzip', 'x-gzip', 'deflate', 'br', 'compress', 'zstd', 'gzip, deflate', 'identity', 'gzip;q=1', 'aes128gcm', 'x'.repeat(300)]);
    const zipped = gzipSync(doc);
    const body = r.pick([
      () => Buffer.from(Array.from({ length: 1 + r.int(3000) }, () => r.int(256))),
      () => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256)))]),
      () => zipped,
      () => zipped.subarray(0, r.int(zipped.length)),
      () => deflateSync(doc),
      () => GZIP_BOMB,
    ])();
    return fetchProbe(`content-encoding ${coding.slice(0, 30)}`, target, path, type, body, { 'content-encoding': coding });
  }
  const data = prefixSafeBody(r, target).subarray(0, 2000).toString('latin1'); // some variants deliver only a prefix
  const size = (n: number): string => n.toString(16);
  const [what, te, chunked, halfClose] = r.pick<readonly [string, string, string, boolean]>([
    ['chunk size not hex', 'chunked', `zz\r\n${data}\r\n0\r\n\r\n`, false],
    ['chunk longer than declared', 'chunked', `${size(Math.max(1, data.length - 3))}\r\n${data}\r\n0\r\n\r\n`, false],
    ['chunk shorter than declared, then EOF', 'chunked', `${size(data.length + 50)}\r\n${data}\r\n`, true],
    ['chunk size overflow', 'chunked', `${'f'.repeat(20)}\r\n${data}\r\n0\r\n\r\n`, false],
    ['negative chunk size', 'chunked', `-5\r\n${data}\r\n0\r\n\r\n`, false],
    ['0x chunk size', 'chunked', `0x${size(data.length)}\r\n${data}\r\n0\r\n\r\n`, false],
    ['chunk extension garbage', 'chunked', `${size(data.length)};\u0000=${'e'.repeat(r.int(9000))}\r\n${data}\r\n0\r\n\r\n`, false],
    ['no CRLF after chunk data', 'chunked', `${size(data.length)}\r\n${data}0\r\n\r\n`, false],
    ['bare LF chunk lines', 'chunked', `${size(data.length)}\n${data}\n0\n\n`, false],
    ['no last chunk, then EOF', 'chunked', `${size(data.length)}\r\n${data}\r\n`, true],
    ['trailer without colon', 'chunked', `${size(data.length)}\r\n${data}\r\n0\r\nX-Bad\r\n\r\n`, false],
    ['well-formed chunks', r.pick(['chunked', 'Chunked', 'gzip, chunked']), `${size(data.length)}\r\n${data}\r\n0\r\n\r\n`, false],
    ['odd transfer-encoding', r.pick(['chunked, gzip', 'xchunked', 'identity', 'chunked, chunked', 'chunked\u0000']), `${size(data.length)}\r\n${data}\r\n0\r\n\r\n`, false],
    ['chunk size with spaces', 'chunked', ` ${size(data.length)} \r\n${data}\r\n0\r\n\r\n`, false],
  ]);
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nTransfer-Encoding: ${te}\r\n`;
  const length = r.chance(0.1) ? chunked.length : null; // sometimes Content-Length as well (request smuggling shape)
  return { what, target, body: Buffer.from(data, 'latin1'), raw: { bytes: raw(head, Buffer.from(chunked, 'latin1'), length), halfClose } };
}

const PATHS = [
  '/api/v2/hosts/../hosts/facts', '/api/hosts/./facts', '/api/v2/hosts/%2e%2e/hosts/facts', '/api/hosts/%2E%2E/v2/hosts/facts', '//api/hosts/facts', '/api//hosts/facts',
  '/api/hosts/facts/', '/api/hosts/facts/.', '/api%2fhosts%2ffacts', '/reports/..%2fpuppet', '/reports/puppet%00', '/reports/puppet%2f', '/reports/%70uppet', '/reports/puppet;x=1',
  '/reports/PUPPET', '/reports/', '/reports', '/reports/puppet/extra', '/REPORTS/puppet', '/reports/ansible%20', '/reports/%ff', '/reports/%zz', '/reports/%', '/api/hosts/fa%zzcts',
  `/reports/${'p'.repeat(200)}`, '/api/hosts/facts?%00=%00', '/reports/ansible?json_body=%00', '/reports/ansible?json_body=true&json_body=false', '/reports/puppet?__proto__[x]=1',
  '/reports/ansible?constructor[prototype][x]=1', `/reports/ansible?${'a=1&'.repeat(1500)}`, '/api/hosts/facts\u0000', '/api/hosts/facts?q=\u0000', latin1('/api/hösts/facts'),
  latin1('/reports/püppet'), latin1('/api/hosts/facts?q=ü'), '/api/h%C3%B6sts/facts', '/reports/%E2%80%AE', `/${'a'.repeat(8192)}`, `/api/hosts/facts?${'q'.repeat(8192)}`,
  `/${'seg/'.repeat(2048)}`, `/reports/puppet${'/..'.repeat(2500)}`, `/${'x'.repeat(20_000)}`, 'http://127.0.0.1/api/hosts/facts', 'https://evil.example/reports/puppet', '*',
  'api/hosts/facts', '/api/hosts/facts#frag', '\\api\\hosts\\facts', '/healthz/../api/hosts/facts', '/%2e%2e/%2e%2e/etc/passwd', '/api/hosts/facts.json', ...UNKNOWN_ROUTES,
];
const METHODS = ['POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'post', 'FOO', 'CONNECT', 'PRI', 'M-SEARCH'];

function pathProbe(r: Rng): Probe {
  const [type, text] = r.pick(ANY_BAD);
  const method = r.pick(METHODS);
  const url = method === 'CONNECT' ? r.pick(['127.0.0.1:443', '/api/hosts/facts']) : r.pick(PATHS);
  const version = r.chance(0.85) ? 'HTTP/1.1' : r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 x']);
  const body = Buffer.from(text);
  const head = `${method} ${url} ${version}\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n`;
  return { what: `${method} ${json(url).slice(0, 80)} ${version}`, target: 'any', body, raw: { bytes: raw(head, body), head: method === 'HEAD' } };
}

function headerProbe(r: Rng): Probe {
  const [type, text] = r.pick(ANY_BAD);
  const body = Buffer.from(text);
  const route = r.pick([...FACTS_ROUTES, '/reports/puppet', '/reports/ansible', '/nowhere']);
  const flood = (n: number, size: number): string => Array.from({ length: n }, (_, i) => `X-F${i}: ${'v'.repeat(r.int(size))}\r\n`).join('');
  const [what, headers] = r.pick<readonly [string, () => string]>([
    ['hundreds of headers', () => flood(100 + r.int(1400), 20)],
    ['one huge value', () => `X-Big: ${'a'.repeat(8000 + r.int(64 * 1024))}\r\n`],
    ['huge content-type', () => `Content-Type: application/json; x=${'y'.repeat(r.int(20_000))}\r\n`],
    ['huge header name', () => `${'N'.repeat(r.int(20_000))}: v\r\n`],
    ['invalid name', () => `${r.pick(['X Foo', 'X(Foo)', 'X\u0000', 'X\u007f', '', 'X\u00fc', '"X"', 'X/Y', 'X@'])}: a\r\n`],
    ['invalid value', () => `X-V: ${r.pick(['a\u0000b', 'a\u007fb', '\u0001', 'a\rb', 'a\u000bb'])}\r\n`],
    ['obs-fold', () => 'X-Fold: a\r\n b\r\n'],
    ['bare LF', () => 'X-A: 1\nX-B: 2\r\n'],
    ['missing colon', () => 'XNoColon\r\n'],
    ['leading space', () => ' X-Lead: 1\r\n'],
    ['second Host', () => 'Host: other.example\r\n'],
    ['Host with garbage', () => `Host: ${r.pick(['a b', '', '[::1', 'x'.repeat(3000), '127.0.0.1:99999'])}\r\n`],
    ['expectation', () => `Expect: ${r.pick(['100-continue', 'garbage', '200-ok'])}\r\n`],
    ['conflicting content-type', () => 'Content-Type: text/plain\r\n'],
    ['upgrade', () => `Connection: Upgrade\r\nUpgrade: ${r.pick(['websocket', 'h2c', 'x'.repeat(100)])}\r\n`],
  ]);
  const host = what === 'Host with garbage' ? '' : r.chance(0.05) ? '' : 'Host: 127.0.0.1\r\n'; // sometimes no Host at all
  const head = `POST ${route} HTTP/1.1\r\n${host}Content-Type: ${type}\r\n${headers()}`;
  return { what, target: 'any', body, raw: { bytes: raw(head, body) } };
}

// ---- running and judging -----------------------------------------------------------------------
interface Answer { readonly outcome: string; readonly status: number | undefined; readonly type: string; readonly date: boolean; readonly body: string }

async function send(probe: Probe): Promise<Answer> {
  if (probe.raw) {
    const answer = await rawRequest(port, probe.raw.bytes, { halfClose: probe.raw.halfClose ?? false, head: probe.raw.head ?? false, timeoutMs: 10_000 });
    return { outcome: answer.error && answer.outcome !== 'response' ? `${answer.outcome} (${answer.error})` : answer.outcome, status: answer.status, type: answer.headers.get('content-type') ?? '', date: answer.headers.has('date'), body: answer.body.toString() };
  }
  const request = probe.fetch ?? { path: '/', headers: {} };
  try {
    const response = await fetch(`${base}${request.path}`, { method: request.method ?? 'POST', headers: request.headers, body: probe.body, signal: AbortSignal.timeout(10_000) });
    return { outcome: 'response', status: response.status, type: response.headers.get('content-type') ?? '', date: true, body: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { outcome: `fetch failed (${cause?.code ?? cause?.message ?? String(error)})`, status: undefined, type: '', date: false, body: '' };
  }
}

/**
 * `hub`: a problem+json 4xx. `parser`: fastify's clientErrorHandler answering a request Node's HTTP
 * parser refused (raw bytes, no Date, a fixed application/json body, then close). `node`: Node's
 * own body-less answers (400 without Host, 417 for an unknown Expect). Only raw requests, which
 * are sometimes not valid HTTP on purpose, may get the last two.
 */
function judge(probe: Probe, answer: Answer): { bucket: string } | { failure: string } {
  const status = answer.status;
  if (answer.outcome !== 'response' || status === undefined) return { failure: `no answer: ${answer.outcome}` };
  if (status < 400 || status > 499) return { failure: `status ${status} ${answer.body.slice(0, 200)}` };
  if (answer.type.startsWith('application/problem+json')) return { bucket: `${status} hub` };
  // (A HEAD request's answer is read without its body, whatever wrote it.)
  const clientErrorBody = probe.raw?.head === true || /^\{"error":"[^"]+","message":"[^"]+","statusCode":\d{3}\}$/.test(answer.body);
  if (probe.raw && !answer.date && answer.type === 'application/json' && clientErrorBody) return { bucket: `${status} parser` };
  if (probe.raw && answer.type === '' && answer.body === '' && (status === 400 || status === 417)) return { bucket: `${status} node` };
  return { failure: `status ${status} without problem+json (${answer.type || 'no content-type'}): ${answer.body.slice(0, 200)}` };
}

const overall = new Map<string, number>();
const count = (histogram: Map<string, number>, key: string): void => void histogram.set(key, (histogram.get(key) ?? 0) + 1);
const show = (bytes: Buffer): string => json(bytes.subarray(0, 240).toString('latin1')) + (bytes.length > 240 ? ` …(${bytes.length} B)` : '');

interface Category { readonly name: string; readonly probes: readonly Probe[]; readonly accepted: ReadonlySet<Probe> }

/**
 * Generating and checking thousands of bodies is seconds of CPU. It happens before the hub starts:
 * the hub shares this process's event loop, and a stall would trip its load shedding (503).
 */
function generate(name: string, total: number, make: (r: Rng) => Probe): Category {
  const r = rng(name);
  const probes = Array.from({ length: total }, () => make(r));
  return { name, probes, accepted: new Set(probes.filter((probe) => contractAccepts(probe.target, probe.body))) };
}

const categories = [
  generate('bad JSON bodies', 1600, (r) => {
    const { path, target } = r.pick([...FACTS_ROUTES.map((path) => ({ path, target: 'facts' as const })), { path: '/reports/ansible', target: 'ansible' as const }]);
    return fetchProbe('bad JSON', target, path, r.chance(0.8) ? 'application/json' : 'application/json; charset=utf-8', encode(r, badJson(r, target)));
  }),
  generate('bad YAML reports', 900, (r) => fetchProbe('bad YAML', 'puppet', '/reports/puppet', r.chance(0.8) ? 'application/x-yaml' : r.pick(['application/yaml', 'text/yaml', 'text/x-yaml', 'application/x-yaml; charset=utf-8']), encode(r, badYaml(r)))),
  generate('odd content types', 700, contentTypeProbe),
  generate('oversize and lying lengths', 450, oversizeProbe),
  generate('bad encodings', 500, encodingProbe),
  generate('path tricks', 700, pathProbe),
  generate('header floods', 350, headerProbe),
];

const prefix = usePrefix(t);
// A rate limit far above the fuzz's volume: a 429 is a 4xx, but the final valid upload must get 202.
// No utilisation-based shedding: the fuzz client shares the hub's event loop and keeps it busy by
// construction, which would measure the test. Delay-based shedding stays on: one request stalling
// the loop for a second is a finding.
const limits = { factsBodyBytes: LIMIT, reportBodyBytes: LIMIT, ratePerMinute: 1_000_000, maxEventLoopUtilization: 0 };
const config = testConfig(prefix, 'http://127.0.0.1:9', { limits });
const hub = await startHubFor(t, config, 'ingress');
const base = hub.ingressUrl ?? '';
const port = Number(new URL(base).port);
const topology = createTopology(prefix);

for (const { name, probes, accepted } of categories) {
  t.test(name, async (t) => {
    t.equal(accepted.size, 0, 'the generator made no body the contract accepts', { accepted: [...accepted].map((probe) => show(probe.body)) });
    const histogram = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let probe = probes[next++]; probe !== undefined; probe = probes[next++]) {
        if (accepted.has(probe)) continue; // never sent: it could be published
        const verdict = judge(probe, await send(probe));
        if ('bucket' in verdict) count(histogram, verdict.bucket);
        else failures.push(`${probe.what} → ${verdict.failure}\n    request: ${show(probe.raw?.bytes ?? Buffer.concat([Buffer.from(`${probe.fetch?.path} ${json(probe.fetch?.headers)} `), probe.body]))}`);
        count(histogram, 'sent');
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    for (const [key, n] of histogram) overall.set(key, (overall.get(key) ?? 0) + n);
    t.comment(`${name}: ${[...histogram].sort().map(([key, n]) => `${key}=${n}`).join(' ')}`);
    t.equal(histogram.get('sent'), probes.length, `${probes.length} requests sent`);
    // One example per kind of failure, so a systematic bug does not drown the rest.
    const kinds = new Map(failures.map((failure) => [failure.replace(/\n[^]*$/, '').replace(/"[^"]*"/, '<url>').slice(0, 120), failure]));
    t.equal(failures.length, 0, 'every answer is a 4xx, problem+json unless the HTTP parser refused the bytes', { examples: [...kinds.values()].slice(0, 25) });
  });
}
t.test('nothing was published; the process still takes a valid upload', async (t) => {
  t.comment(`all categories: ${[...overall].sort().map(([key, n]) => `${key}=${n}`).join(' ')}`);
  t.equal(await queueDepth(topology.workQueue('facts')), 0, 'facts queue empty');
  t.equal(await queueDepth(topology.workQueue('reports')), 0, 'reports queue empty');
  const good = await fetch(`${base}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "good.example.com", "facts": {"os": "linux"}}' });
  t.equal(good.status, 202, 'valid facts upload accepted');
  await waitFor(async () => (await queueDepth(topology.workQueue('facts'))) === 1, { what: 'the valid upload in the facts queue' });
  t.equal(await queueDepth(topology.workQueue('facts')), 1, 'exactly one event in the facts queue');
  t.equal(await queueDepth(topology.workQueue('reports')), 0, 'and none in the reports queue');
});
