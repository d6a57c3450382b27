/**
 * CPU-heavy parsing runs in parse threads: the ARF parse and large YAML reports leave the
 * caller's event loop free, errors cross the thread boundary with their catalog codes, a full
 * queue refuses at once, and a thread that dies is replaced.
 */
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import t from 'tap';
import { ProxyhubError } from '../../contracts/errors.ts';
import { createThreadPool } from '../../hub/threads/thread-pool.ts';
import { createYamlReader } from '../../hub/ingress/yaml-reader.ts';
import { createArfParser } from '../../workers/openscap/arf-parse-pool.ts';
import type { ProbeTask } from '../helpers/probe-thread.ts';

const ARF = readFileSync(new URL('../fixtures/arf/smart_proxy_openscap-rhel7-rht-ccp.xml.bz2', import.meta.url));
const context = { proxyName: 'proxy.test', proxyUrl: null };
const probeModule = new URL('../helpers/probe-thread.ts', import.meta.url);

/** A Puppet-like report of about `bytes` characters, all of it log lines. */
function bigYamlReport(bytes: number): string {
  const line = '  - level: notice\n    message: "applied catalog in 1.23 seconds, nothing to see here"\n    source: Puppet\n';
  return `---\nhost: big.example.com\ntime: '2024-01-01T00:00:00Z'\nlogs:\n${line.repeat(Math.ceil(bytes / line.length))}`;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code?: string | undefined; field?: string | undefined; proxyhub: boolean; retryable?: boolean | undefined }> {
  try {
    await promise;
  } catch (error) {
    const { code, field, retryable } = error as ProxyhubError;
    return { code, field, retryable, proxyhub: error instanceof ProxyhubError };
  }
  throw new Error('expected a rejection');
}

t.test('an ARF parse in a thread leaves the event loop free and reads the same', async (t) => {
  const threaded = createArfParser({ threads: 1, queueLimit: 4 });
  t.teardown(() => threaded.close());
  const inline = await createArfParser({ threads: 0, queueLimit: 0 }).parse(ARF, context);
  t.equal(await threaded.parse(ARF, context), inline, 'the same JSON as parsed inline'); // also starts the thread
  const before = performance.eventLoopUtilization();
  let ticks = 0;
  const ticker = setInterval(() => (ticks += 1), 5);
  for (let i = 0; i < 3; i += 1) await threaded.parse(ARF, context);
  clearInterval(ticker);
  const busy = performance.eventLoopUtilization(before).utilization;
  // Inline, the loop is busy for nearly all of it (about 0.9 here); the timer barely runs.
  t.ok(busy < 0.5, `event-loop utilisation while 3 reports parse: ${busy.toFixed(2)}`);
  t.ok(ticks >= 10, `a 5 ms timer kept running (${ticks} ticks)`);
});

t.test('ARF errors keep their catalog codes across the thread', async (t) => {
  const parser = createArfParser({ threads: 1, queueLimit: 4 });
  t.teardown(() => parser.close());
  t.match(await codeOf(parser.parse(Buffer.from('not bzip2 at all'), context)), { code: 'PROXYHUB_ARF_UNPARSEABLE', proxyhub: true, retryable: false });
  t.match(await codeOf(parser.parse(ARF, { ...context, maxReportBytes: 1024 })), { code: 'PROXYHUB_ARF_REPORT_TOO_LARGE', proxyhub: true, retryable: false });
});

t.test('large YAML reports parse in a thread, small ones inline, errors keep code and field', async (t) => {
  const reader = createYamlReader({ threads: 1, queueLimit: 0, yamlThresholdBytes: 64 * 1024 });
  t.teardown(() => reader.close());
  const report = await reader.read(bigYamlReport(300 * 1024));
  t.equal(report.host, 'big.example.com');
  t.ok(Array.isArray(report.logs) && report.logs.length > 2000, 'every log line');
  t.match(await codeOf(reader.read(`${bigYamlReport(100 * 1024)}  - [unclosed\n`)), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body', proxyhub: true });
  t.match(await codeOf(reader.read(bigYamlReport(100 * 1024).replace('host: big.example.com\n', ''))), { code: 'PROXYHUB_INPUT_INVALID', field: 'host' });
  t.match(await codeOf(reader.read('host: [unclosed\n')), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body' }, 'inline, the same');
});

t.test('the pool runs tasks off this thread, refuses past its queue, and replaces a dead thread', async (t) => {
  const pool = createThreadPool<ProbeTask, number>({ name: 'probe', module: probeModule, size: 1, queueLimit: 1 });
  t.teardown(() => pool.close());
  const first = await pool.run('thread-id');
  t.not(first, threadId, 'not the calling thread');
  const running = pool.run({ busyMs: 300 });
  const queued = pool.run('thread-id');
  t.match(await codeOf(pool.run('thread-id')), { code: 'PROXYHUB_PARSE_QUEUE_FULL', retryable: true }, 'one running, one waiting: the third is refused');
  t.equal(await running, first);
  t.equal(await queued, first, 'the queued task ran on the same thread');
  t.match(await codeOf(pool.run('catalog-error')), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body.logs', proxyhub: true });
  await t.rejects(pool.run('plain-error'), { name: 'RangeError', message: 'out of range' });
  t.match(await codeOf(pool.run('exit')), { code: 'PROXYHUB_INTERNAL', retryable: true }, 'a thread that ends fails its task as retryable');
  const replacement = await pool.run('thread-id');
  t.not(replacement, first, 'a new thread took over');
  t.equal(pool.pending, 0);
});

t.test('parse threads run the niceness asked below their process, and the process keeps its own', { skip: process.platform === 'linux' ? false : 'nice values are per thread on Linux only' }, async (t) => {
  const own = getPriority();
  const lowered = createThreadPool<ProbeTask, number>({ name: 'probe', module: probeModule, size: 1, queueLimit: 0, niceness: 7 });
  const plain = createThreadPool<ProbeTask, number>({ name: 'probe', module: probeModule, size: 1, queueLimit: 0 });
  t.teardown(() => Promise.all([lowered.close(), plain.close()]));
  t.equal(await lowered.run('nice'), Math.min(19, own + 7), 'the thread runs 7 steps nicer');
  t.equal(await plain.run('nice'), own, 'no niceness asked: the same priority as the process');
  t.equal(getPriority(), own, 'the calling thread is untouched');
});
