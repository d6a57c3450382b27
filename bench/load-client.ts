/**
 * The load generator, run as its own process so that it never shares an event loop with the
 * server under test: `node --import tsx bench/load-client.ts '<json LoadSpec>'`. It runs an
 * unmeasured warm-up, then the measured run, and reports on stdout as JSON lines: `measuring`
 * when the measured run starts (the parent begins sampling CPU then), then `result`.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { LoadResult, LoadSpec } from './lib/load.ts';

/** The part of autocannon's result this benchmark reads (the package ships no types). */
interface AutocannonResult {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
  readonly latency: Readonly<Record<'p50' | 'p99' | 'average' | 'max', number>>;
  readonly requests: Readonly<Record<'average' | 'total', number>>;
}
interface AutocannonTracker extends PromiseLike<AutocannonResult> {
  once(event: 'start', listener: () => void): void;
}
type Autocannon = (options: Record<string, unknown>) => AutocannonTracker;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const send = (message: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

const request = {
  url: spec.url,
  method: spec.method ?? 'POST',
  headers: spec.headers ?? { 'content-type': 'application/json' },
  ...(spec.bodyFile === undefined ? {} : { body: readFileSync(spec.bodyFile) }),
  ...(spec.tls === undefined ? {} : { tlsOptions: { ca: readFileSync(spec.tls.caFile), cert: readFileSync(spec.tls.certFile), key: readFileSync(spec.tls.keyFile) } }),
  connections: spec.connections,
  pipelining: 1,
  ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
};

if (spec.warmupSec > 0) await autocannon({ ...request, duration: spec.warmupSec });

const tracker = autocannon({ ...request, duration: spec.durationSec });
let cpuAtStart = process.cpuUsage();
let startedAt = performance.now();
tracker.once('start', () => {
  cpuAtStart = process.cpuUsage();
  startedAt = performance.now();
  send({ event: 'measuring' });
});
const result = await tracker;
const cpu = process.cpuUsage(cpuAtStart);
const seconds = (performance.now() - startedAt) / 1000;

const accepted = result.statusCodeStats[String(spec.okStatus ?? 202)]?.count ?? 0;
const report: LoadResult = {
  durationSec: result.duration,
  accepted,
  acceptedPerSec: accepted / result.duration,
  requestsPerSec: result.requests.total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  maxMs: result.latency.max,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
};
send({ event: 'result', result: report });
