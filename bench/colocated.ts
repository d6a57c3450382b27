/**
 * `node --import tsx bench/colocated.ts [--duration 5] [--warmup 2] [--connections 8] [--parse-threads <n>] [--parse-thread-niceness <n>]`: the
 * co-located hub (`--role all`) over HTTPS with 8 keep-alive mTLS clients uploading the rhel7
 * ARF report while the workers consume, as issue 12 measured it. Run twice on the same machine:
 * "before", every role in one process with the ARF parse on its event loop (the layout until
 * roles became child processes; bench/single-process-hub.ts, PROXYHUB_PARSE_THREADS=0), and
 * "after", `proxyhub start --role all` as an operator runs it. Writes bench/results/colocated.*.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createTestPki } from '../tests/helpers/pki.ts';
import { startArfForeman, type ArfForeman } from './lib/arf-foreman.ts';
import { loadArfFixture } from './lib/arf-fixture.ts';
import { runUploads, type UploadResult } from './lib/arf-load.ts';
import { removeBenchTopology } from './lib/broker.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { machineBusyOver } from './lib/proc-stats.ts';
import { removePrefixKeys } from './lib/redis-keys.ts';
import { ANY_METRICS_PORT, freePort, settingsFromEnvironment, httpsAnswers200, track, waitReady, type ServerProcess } from './lib/servers.ts';
import { benchPrefix } from './lib/prefix.ts';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const HOST = 'bench-host.example.com';
const AMQP_URL = process.env.PROXYHUB_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Retry tiers the workers declare by default, for removing their queues afterwards. */
/** How long after the load the workers' deliveries are still counted. */
const AFTER_LOAD_SEC = 5;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 120_000, 300_000];
const log = createPhaseLog();

type Layout = 'before' | 'after' | 'mixed';

/** A facts load beside the ARF uploads (the `mixed` run): the ingress must not make hosts' facts wait on ARF parsing. */
interface FactsResult {
  readonly accepted: number;
  readonly nonAccepted: number;
  readonly acceptedPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface LayoutResult {
  readonly layout: Layout;
  readonly description: string;
  readonly accepted: number;
  readonly refused503: number;
  readonly otherAnswers: number;
  readonly errors: number;
  readonly acceptedPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly reportsDeliveredToForeman: number;
  /** Reports Foreman got in the AFTER_LOAD_SEC after the load stopped: the workers' pace once the ingress is idle. */
  readonly reportsDeliveredAfterLoad: number;
  readonly firstRefusal: string | null;
  readonly loadAverageBefore: number;
  readonly facts?: FactsResult;
}

const DESCRIPTIONS: Record<Layout, string> = {
  before: 'one process, ARF parse on its event loop (startHub, PROXYHUB_PARSE_THREADS=0)',
  after: '`proxyhub start --role all`: one child process per role, ARF parse in parse threads',
  mixed: 'the same, with as many clients uploading facts beside the ARF clients',
};

function spawnLayout(layout: Layout, env: NodeJS.ProcessEnv): ChildProcess {
  const nodeFlags = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { proxyhub?: { nodeFlags?: string[] } }).proxyhub?.nodeFlags ?? [];
  const args = layout === 'before' ? ['--import', 'tsx', 'bench/single-process-hub.ts', 'all'] : ['bin/proxyhub.mjs', 'start', '--role', 'all'];
  return spawn(process.execPath, [...nodeFlags, ...args], { cwd: REPO_ROOT, env: { ...env, ...(layout === 'before' ? { PROXYHUB_PARSE_THREADS: '0' } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function measure(layout: Layout, foreman: ArfForeman, spec: ColocatedOptions, files: { ca: string; cert: string; key: string; host: { cert: string; key: string }; body: string; factsBody: string; dir: string }): Promise<LayoutResult> {
  const prefix = benchPrefix();
  const port = await freePort();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PROXYHUB_')));
  const env = {
    ...inherited,
    PROXYHUB_PREFIX: prefix, PROXYHUB_AMQP_URL: AMQP_URL, PROXYHUB_REDIS_URL: REDIS_URL, PROXYHUB_LOG_LEVEL: 'warn',
    PROXYHUB_RATE_LIMIT_PER_MINUTE: '0', PROXYHUB_DEV_OPEN_CONTROL: '1', PROXYHUB_FOREMAN_URL: foreman.url,
    PROXYHUB_TLS_CERT: files.cert, PROXYHUB_TLS_KEY: files.key, PROXYHUB_TLS_CA: files.ca,
    PROXYHUB_INGRESS_PORT: String(port), PROXYHUB_CONTROL_PORT: String(await freePort()), PROXYHUB_DATA_DIR: join(files.dir, `data-${layout}`),
    ...ANY_METRICS_PORT,
    ...(spec.parseThreads === undefined ? {} : { PROXYHUB_PARSE_THREADS: String(spec.parseThreads) }),
    ...(spec.parseThreadNiceness === undefined ? {} : { PROXYHUB_PARSE_THREAD_NICENESS: String(spec.parseThreadNiceness) }),
    ...(spec.workerNiceness === undefined ? {} : { PROXYHUB_WORKER_NICENESS: String(spec.workerNiceness) }),
    ...settingsFromEnvironment(),
  };
  const loadAverageBefore = loadavg()[0] ?? 0;
  log(`${layout}: ${DESCRIPTIONS[layout]} under prefix ${prefix}; load average ${loadAverageBefore.toFixed(2)}`);
  const child = spawnLayout(layout, env);
  const hub: ServerProcess = track(child, `https://127.0.0.1:${port}`);
  const deliveredBefore = foreman.delivered();
  try {
    const ca = readFileSync(files.ca);
    await waitReady(hub, child, `${hub.url}/healthz answering 200`, () => httpsAnswers200(`${hub.url}/healthz`, ca), 90_000);
    const client = { caFile: files.ca, certFile: files.host.cert, keyFile: files.host.key, ...spec };
    const factsLoad = layout === 'mixed' ? runUploads({ url: `${hub.url}/api/v2/hosts/facts`, bodyFile: files.factsBody, headers: { 'content-type': 'application/json' }, ...client }) : undefined;
    const load: UploadResult = await runUploads({ url: `${hub.url}/compliance/arf/1`, bodyFile: files.body, ...client });
    const factsRun = await factsLoad;
    const facts: FactsResult | undefined = factsRun && {
      accepted: factsRun.accepted, nonAccepted: factsRun.answered - factsRun.accepted + factsRun.errors, acceptedPerSec: factsRun.acceptedPerSec,
      p50Ms: factsRun.latency.p50Ms, p99Ms: factsRun.latency.p99Ms, maxMs: factsRun.latency.maxMs,
    };
    const deliveredDuringLoad = foreman.delivered() - deliveredBefore;
    await delay(AFTER_LOAD_SEC * 1000);
    const refused503 = load.statusCodes['503'] ?? 0;
    const result: LayoutResult = {
      layout, description: DESCRIPTIONS[layout], accepted: load.accepted, refused503, otherAnswers: load.answered - load.accepted - refused503, errors: load.errors,
      acceptedPerSec: load.acceptedPerSec, p50Ms: load.latency.p50Ms, p99Ms: load.latency.p99Ms, maxMs: load.latency.maxMs,
      reportsDeliveredToForeman: deliveredDuringLoad, reportsDeliveredAfterLoad: foreman.delivered() - deliveredBefore - deliveredDuringLoad, firstRefusal: load.firstRejection, loadAverageBefore, ...(facts ? { facts } : {}),
    };
    log(`${layout}: ${result.accepted} × 202, ${refused503} × 503, ${result.otherAnswers} other, ${result.errors} errors in ${spec.durationSec} s; p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms; ${result.reportsDeliveredToForeman} reports reached Foreman meanwhile, ${result.reportsDeliveredAfterLoad} in the ${AFTER_LOAD_SEC} s after`);
    if (facts) log(`${layout}: facts beside them: ${facts.accepted} × 202 (${facts.acceptedPerSec.toFixed(0)}/s), ${facts.nonAccepted} other answers or errors; p50 ${facts.p50Ms.toFixed(0)} ms, p99 ${facts.p99Ms.toFixed(0)} ms`);
    return result;
  } finally {
    await hub.stop();
    await removeBenchTopology(AMQP_URL, prefix, RETRY_DELAYS_MS).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    await removePrefixKeys(REDIS_URL, prefix).catch((error: unknown) => log(`cleanup: ${String(error)}`));
  }
}

function markdown(results: readonly LayoutResult[], settings: Record<string, unknown>, busyBefore: number): string {
  const rows = results.map((r) => `| ${r.layout} | ${r.description} | ${r.accepted} | ${r.refused503} | ${r.otherAnswers + r.errors} | ${r.acceptedPerSec.toFixed(1)} | ${r.p50Ms.toFixed(0)} | ${r.p99Ms.toFixed(0)} | ${r.reportsDeliveredToForeman} / ${r.reportsDeliveredAfterLoad} | ${r.loadAverageBefore.toFixed(2)} |`);
  return [
    '# Co-located hub under ARF uploads (issue 12)',
    '',
    `${String(settings.connections)} keep-alive mTLS clients upload ${String(settings.fixture)} for ${String(settings.durationSec)} s (after ${String(settings.warmupSec)} s warm-up) to the ingress of a \`--role all\` hub whose workers consume meanwhile. Machine ${busyBefore.toFixed(0)} % busy before the run (a shared machine: figures are indicative).`,
    '',
    `| layout | what runs | 202 | 503 | other/errors | 202/s | p50 ms | p99 ms | reports at Foreman during the load / in the ${AFTER_LOAD_SEC} s after | load avg before |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    `Reports at Foreman: what the openscap worker delivered while the clients uploaded, and in the ${AFTER_LOAD_SEC} s after they stopped. Workers of deferred work run below the ingress's CPU priority (\`PROXYHUB_WORKER_NICENESS\`, ${typeof settings.workerNiceness === 'number' ? String(settings.workerNiceness) : 'its default'} here): under the load they yield the CPU to the answers, and the uploads wait in their queue until it is free.`,
    '',
    ...factsTable(results),
    'Produced by `node --import tsx bench/colocated.ts`.',
    '',
  ].join('\n');
}

function factsTable(results: readonly LayoutResult[]): string[] {
  const rows = results.flatMap((r) => (r.facts ? [`| ${r.layout} | ${r.facts.accepted} | ${r.facts.nonAccepted} | ${r.facts.acceptedPerSec.toFixed(1)} | ${r.facts.p50Ms.toFixed(0)} | ${r.facts.p99Ms.toFixed(0)} | ${r.facts.maxMs.toFixed(0)} |`] : []));
  if (rows.length === 0) return [];
  return [
    'Facts uploaded beside the ARF uploads (the same number of mTLS clients, `POST /api/v2/hosts/facts`), in the `mixed` run; targets as for ARF: 0 non-202, ≥ 200/s, p99 ≤ 250 ms:',
    '',
    '| layout | facts 202 | other/errors | 202/s | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ];
}

/**
 * parseThreads, parseThreadNiceness, workerNiceness: PROXYHUB_PARSE_THREADS,
 * PROXYHUB_PARSE_THREAD_NICENESS and PROXYHUB_WORKER_NICENESS of the hubs (their defaults when not given).
 */
interface ColocatedOptions {
  readonly connections: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly parseThreads?: number | undefined;
  readonly parseThreadNiceness?: number | undefined;
  readonly workerNiceness?: number | undefined;
}

export async function runColocatedBench(options: ColocatedOptions): Promise<void> {
  const fixture = loadArfFixture();
  const machine = await machineInfo(AMQP_URL);
  const busyBefore = await machineBusyOver(1000);
  log(`colocated benchmark: ${fixture.name} (${fixture.bzip2.length} B); ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s; machine ${busyBefore.toFixed(0)} % busy`);
  const pki = createTestPki();
  const dir = await mkdtemp(join(tmpdir(), 'proxyhub-bench-colocated-'));
  const foreman = await startArfForeman(fixture.expected);
  const results: LayoutResult[] = [];
  try {
    const body = join(dir, `${fixture.name}.xml.bz2`);
    await writeFile(body, fixture.bzip2);
    const factsBody = join(dir, 'facts.json');
    await writeFile(factsBody, JSON.stringify({ name: HOST, facts: { operatingsystem: 'RedHat', operatingsystemrelease: '9.4', uptime_seconds: '123456', 'networking::ip': '192.0.2.10' } }));
    const files = { ca: pki.caCert, cert: pki.server.cert, key: pki.server.key, host: pki.client(HOST), body, factsBody, dir };
    for (const layout of ['before', 'after', 'mixed'] as const) results.push(await measure(layout, foreman, options, files));
  } finally {
    await foreman.stop();
    await rm(dir, { recursive: true, force: true });
    pki.remove();
  }
  const settings = { ...options, fixture: `${fixture.name}.xml.bz2`, fixtureBytes: fixture.bzip2.length };
  const text = markdown(results, settings, busyBefore);
  await writeFile(join(RESULTS, 'colocated.json'), `${JSON.stringify({ benchmark: 'colocated', date: new Date().toISOString(), machine, machineBusyBeforePercent: busyBefore, settings, results }, null, 2)}\n`);
  await writeFile(join(RESULTS, 'colocated.md'), text);
  process.stdout.write(`\n${text}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { connections: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' }, duration: { type: 'string', default: '5' }, 'parse-threads': { type: 'string' }, 'parse-thread-niceness': { type: 'string' }, 'worker-niceness': { type: 'string' } } });
  const optionalNumber = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  await runColocatedBench({
    connections: Number(values.connections), warmupSec: Number(values.warmup), durationSec: Number(values.duration),
    parseThreads: optionalNumber(values['parse-threads']), parseThreadNiceness: optionalNumber(values['parse-thread-niceness']), workerNiceness: optionalNumber(values['worker-niceness']),
  });
}
