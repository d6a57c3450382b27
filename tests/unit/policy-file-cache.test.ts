/**
 * The policy file caches: the ingress's in memory (one fetch for concurrent misses, only 200s kept,
 * bounded by bytes) and the openscap worker's on disk (one file per digest whatever its letter
 * case, bounded by bytes).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { policyFileDigestSchema, policyFileRequestSchema } from '../../contracts/rpc/policy-file.ts';
import { createPolicyFileAnswerer } from '../../workers/openscap/policy-files.ts';
import { looseModes, withUmask } from '../helpers/file-modes.ts';
import { PolicyFileCache, type PolicyFileAnswer } from '../../hub/ingress/policy-file-cache.ts';

const file = (text: string, status = 200): PolicyFileAnswer => ({ status, contentType: 'application/xml', body: Buffer.from(text) });

t.test('concurrent misses share one fetch; later hits fetch nothing', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  // The fetch stays outstanding until every caller has asked, whatever the timing.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fetch = async (): Promise<PolicyFileAnswer> => {
    fetches += 1;
    await released;
    return file('<xml/>');
  };
  const pending = Array.from({ length: 10 }, () => cache.get('a', fetch));
  release();
  const answers = await Promise.all(pending);
  t.equal(fetches, 1);
  t.ok(answers.every((a) => a.body.toString() === '<xml/>'));
  await cache.get('a', fetch);
  t.equal(fetches, 1, 'served from memory');
});

t.test('a refusal or a failure is not kept', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  t.equal((await cache.get('a', async () => (fetches++, file('no', 404)))).status, 404);
  t.equal((await cache.get('a', async () => (fetches++, file('yes')))).status, 200);
  t.equal(fetches, 2, 'the 404 was asked again');
  await t.rejects(cache.get('b', async () => Promise.reject(new Error('down'))));
  t.equal((await cache.get('b', async () => file('back'))).body.toString(), 'back', 'a failed fetch is retried by the next caller');
});

t.test('a file that is not what its name says is served but not kept', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  for (let i = 0; i < 2; i += 1) await cache.get('a', async () => (fetches++, { ...file('x'), cacheable: false }));
  t.equal(fetches, 2);
  t.equal(cache.bytes, 0);
});

t.test('bounded by bytes, least recently used out first', async (t) => {
  const cache = new PolicyFileCache(10);
  await cache.get('a', async () => file('aaaa'));
  await cache.get('b', async () => file('bbbb'));
  await cache.get('a', async () => file('XXXX')); // a hit: a becomes most recent
  await cache.get('c', async () => file('cccc')); // 12 bytes > 10: b (least recent) goes
  t.equal(cache.bytes, 8);
  t.equal((await cache.get('a', async () => file('new-a'))).body.toString(), 'aaaa', 'a kept');
  t.equal((await cache.get('b', async () => file('new-b'))).body.toString(), 'new-b', 'b was evicted');
  await cache.get('huge', async () => file('x'.repeat(11)));
  t.ok(cache.bytes <= 10, 'a file larger than the cache is served, not kept');
});

// ---- The digest names one file whatever its letter case, on both layers; the worker's disk copy is bounded.

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

t.test('the digest is canonical: any letter case parses to the lower-case sha256, nothing else parses', async (t) => {
  const digest = sha256('<xml/>');
  t.equal(policyFileDigestSchema.parse(digest.toUpperCase()), digest);
  t.equal(policyFileRequestSchema.parse({ kind: 'content', policyId: 1, digest: digest.toUpperCase(), deadline: 1 }).digest, digest);
  for (const bad of ['0123abcd', digest.slice(1), `${digest}0`, `${digest.slice(1)}g`, '../x', '']) t.notOk(policyFileDigestSchema.safeParse(bad).success, `refused: ${JSON.stringify(bad)}`);
});

/** The worker's answerer over a stand-in Foreman that serves `files` (`<kind>/<policyId>` → text). */
function answererFor(t: Test, files: Map<string, string>, options: { diskCacheBytes?: number; dataDir?: string } = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'proxyhub-policy-'));
  if (options.dataDir === undefined) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const calls: string[] = [];
  const foreman = {
    forward: async (call: { path: string }) => {
      calls.push(call.path);
      const key = /policies\/(\d+)\/(\w+)$/.exec(call.path);
      const text = files.get(`${key?.[2]}/${key?.[1]}`);
      return text === undefined
        ? { status: 404, contentType: 'application/json', location: undefined, body: Buffer.from('{}') }
        : { status: 200, contentType: 'application/xml', location: undefined, body: Buffer.from(text) };
    },
    post: async () => Promise.reject(new Error('unused')),
    close: async () => undefined,
  };
  const answer = createPolicyFileAnswerer({ foreman, dataDir, foremanTimeoutMs: 5000, logger: pino({ level: 'silent' }), ...(options.diskCacheBytes === undefined ? {} : { diskCacheBytes: options.diskCacheBytes }) });
  const ask = async (policyId: number, digest: string, kind = 'content'): Promise<string> => {
    const reply = await answer(Buffer.from(JSON.stringify({ kind, policyId, digest, deadline: Date.now() + 10_000 })));
    if (!('body' in reply)) throw new Error(`no file: ${JSON.stringify(reply)}`);
    return Buffer.from(reply.body, 'base64').toString('utf8');
  };
  const cachedFiles = (): string[] => {
    const root = join(dataDir, 'openscap');
    return existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort() : [];
  };
  return { ask, calls, cachedFiles, dataDir };
}

t.test('worker: one file, asked for in upper, lower and mixed case, is fetched once and stored once', async (t) => {
  const text = '<ds:data-stream-collection/>';
  const { ask, calls, cachedFiles } = answererFor(t, new Map([['content/5', text]]));
  const digest = sha256(text);
  const mixed = [...digest].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  for (const variant of [digest.toUpperCase(), digest, mixed]) t.equal(await ask(5, variant), text);
  t.equal(calls.length, 1, 'one call to Foreman for three spellings');
  t.same(cachedFiles(), [`5_${digest}.xml`], 'one file on disk, under the lower-case digest');
});

t.test('worker: the disk copy is bounded by bytes, least recently used out first', async (t) => {
  const texts = ['a', 'b', 'c'].map((letter) => `<x>${letter.repeat(100)}</x>`); // 107 bytes each
  const files = new Map(texts.map((text, i) => [`content/${i + 1}`, text]));
  const { ask, calls, cachedFiles } = answererFor(t, files, { diskCacheBytes: 250 });
  const [a, b, c] = texts.map(sha256) as [string, string, string];
  await ask(1, a);
  await ask(2, b);
  await ask(1, a); // a hit: 1 becomes the most recently used
  t.equal(calls.length, 2);
  await ask(3, c); // 321 bytes > 250: 2 (least recent) goes
  t.same(cachedFiles(), [`1_${a}.xml`, `3_${c}.xml`].sort(), 'the least recently used file was removed from disk');
  await ask(1, a);
  t.equal(calls.length, 3, '1 still served from disk');
  await ask(2, b);
  t.equal(calls.length, 4, '2 fetched again');
  t.same(cachedFiles(), [`1_${a}.xml`, `2_${b}.xml`].sort(), 'and 3, now least recent, made room for it');
});

t.test('worker: a file larger than the whole bound is served, not stored', async (t) => {
  const text = `<x>${'z'.repeat(500)}</x>`;
  const { ask, calls, cachedFiles } = answererFor(t, new Map([['tailoring/9', text]]), { diskCacheBytes: 100 });
  t.equal(await ask(9, sha256(text), 'tailoring'), text);
  t.equal(await ask(9, sha256(text), 'tailoring'), text);
  t.equal(calls.length, 2);
  t.same(cachedFiles(), []);
});

t.test('worker: files cached by an earlier run count toward the bound, oldest out first', async (t) => {
  const texts = ['d', 'e', 'f'].map((letter) => `<x>${letter.repeat(100)}</x>`);
  const files = new Map(texts.map((text, i) => [`content/${i + 1}`, text]));
  const first = answererFor(t, files);
  const [d, e, f] = texts.map(sha256) as [string, string, string];
  await first.ask(1, d);
  await first.ask(2, e);
  // The last use survives a restart as the file's mtime: d was used an hour before e.
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(join(first.dataDir, 'openscap', 'content', '1', `1_${d}.xml`), hourAgo, hourAgo);
  // A restart: a new answerer over the same data directory, with a bound that holds two files.
  const second = answererFor(t, files, { diskCacheBytes: 250, dataDir: first.dataDir });
  await second.ask(3, f);
  t.same(second.cachedFiles(), [`2_${e}.xml`, `3_${f}.xml`].sort(), 'd, the oldest, made room');
  await second.ask(2, e);
  t.equal(second.calls.length, 1, 'e is served from what the earlier run stored');
});

t.test('worker: cached files are never world-readable, whatever the umask', async (t) => {
  for (const mask of [0o000, 0o022]) {
    const text = `<x>${mask}</x>`;
    const { ask, dataDir } = answererFor(t, new Map([['content/4', text]]));
    await withUmask(mask, () => ask(4, sha256(text)));
    t.same(looseModes(dataDir), [], `umask ${mask.toString(8).padStart(4, '0')}`);
  }
});
