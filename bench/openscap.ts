/**
 * `npm run bench -- openscap`: the OpenSCAP path with the largest shared ARF report, under one
 * throw-away prefix. (1) Ingress acceptance: `proxyhub start --role ingress` over HTTPS with
 * client certificates, mTLS clients uploading as fast as they are answered, nothing consuming
 * (the bench purges the queue every second instead). (2) Worker throughput and (3) memory: the
 * queue pre-filled through the same ingress, then one `--role worker:openscap` drains it into a
 * stand-in Foreman while its CPU time and resident set are read per report.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology } from '../contracts/topology.ts';
import { configSchema } from '../hub/config/schema.ts';
import { OPENSCAP_MAX_PREFETCH } from '../workers/openscap/openscap-feature.ts';
import { createTestPki } from '../tests/helpers/pki.ts';
import { startArfForeman, type ArfForeman } from './lib/arf-foreman.ts';
import { loadArfFixture, type ArfFixture } from './lib/arf-fixture.ts';
import { runUploads, type UploadSpec } from './lib/arf-load.ts';
import { bzip2CpuMsPerCopy } from './lib/bzip2-reference.ts';
import { consumerCount, queueDepth, removeBenchTopology, startPurging } from './lib/broker.ts';
import { machineInfo } from './lib/machine.ts';
import { writeOpenscapResults } from './lib/openscap-report.ts';
import { createPhaseLog, type PhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, waitUntilIdle, watchProcesses, type WatchReport } from './lib/proc-stats.ts';
import { countKeys, removePrefixKeys } from './lib/redis-keys.ts';
import { freePort, startHubIngressTls, startHubWorker, type ServerProcess } from './lib/servers.ts';
import type { OpenscapBenchResults, OpenscapIngressResult, OpenscapOptions, OpenscapWorkerResult, PhaseCpu } from './lib/types.ts';
import { watchDrain } from './lib/worker-drain.ts';
import { benchPrefix } from './lib/prefix.ts';

/** cpuPerReportVsBzip2: the worker's CPU per report ≤ this × `bzip2 -dc` on the same file (issue 12). */
const TARGETS = { uploadsPerSec: 200, p99Ms: 250, cpuPerReportVsBzip2: 1.5, rssGrowthMiB: 64 } as const;
/** `bzip2 -dc` copies timed before the drain and as many after it. */
const BZIP2_COPIES = 15;
/** smart_proxy_openscap on this machine with 8 clients (from the issue). */
const REFERENCE = { uploadsPerSec: 10, p99Ms: 1000, cpuMsPerReport: 165 } as const;
/** The host every upload comes from: its certificate's CN is the name Foreman files reports under. */
const HOST = 'bench-host.example.com';
const POLICY_ID = 1;
const MiB = 2 ** 20;
/** The worker runs with the operator's defaults (but --prefetch); these are the ones that shape this run. */
const WORKER_DEFAULTS = configSchema.parse({}).worker;
/**
 * Reports past the first prefetch wave before the worker's RSS baseline: the worker parses up to
 * `prefetch` reports at once and they finish close together, and by a few more the heap has
 * grown to its working size.
 */
const WARMUP_BEYOND_PREFETCH = 8;

function cpuOf(report: WatchReport | null | undefined): PhaseCpu | null {
  if (report === null || report === undefined) return null;
  const accounted = Object.values(report.cpuPercent).reduce((sum, v) => sum + v, 0);
  return { processes: report.cpuPercent, machineBusy: report.machineBusyPercent, unaccounted: report.machineBusyPercent * cpus().length - accounted };
}

interface Context {
  readonly options: OpenscapOptions;
  readonly prefetch: number;
  readonly warmupReports: number;
  readonly log: PhaseLog;
  readonly brokerPid: number | null;
  readonly workQueue: string;
  readonly upload: Omit<UploadSpec, 'url' | 'warmupSec' | 'durationSec'>;
}

const brokerOf = (context: Context): Record<string, number> => (context.brokerPid === null ? {} : { broker: context.brokerPid });

async function settle(context: Context): Promise<void> {
  if (context.brokerPid !== null) context.log(`broker idle again after ${(await waitUntilIdle(context.brokerPid)).toFixed(0)} s`);
}

/** Phase 1: uploads/s and latency of the ingress, with the queue purged every second. */
async function measureIngress(context: Context, ingress: ServerProcess): Promise<OpenscapIngressResult> {
  const { options, log } = context;
  log(`ingress: ${options.connections} mTLS clients, ${options.warmupSec} s warm-up; nothing consumes, the bench purges ${context.workQueue} every second`);
  const purger = await startPurging(options.amqpUrl, context.workQueue);
  let watch: { stop(): WatchReport } | undefined;
  try {
    const spec: UploadSpec = { ...context.upload, url: `${ingress.url}/compliance/arf/${POLICY_ID}`, warmupSec: options.warmupSec, durationSec: options.durationSec };
    const load = await runUploads(spec, {
      onMeasuring: (clientPid) => {
        log(`ingress: measuring for ${options.durationSec} s`);
        watch = watchProcesses({ ingress: ingress.pid, client: clientPid, ...brokerOf(context) });
      },
    });
    const report = watch?.stop() ?? null;
    watch = undefined;
    const rss = report?.peakRssBytes.ingress;
    const l = load.latency;
    log(`ingress: ${load.acceptedPerSec.toFixed(1)} accepted/s, p50 ${l.p50Ms.toFixed(0)} ms, p99 ${l.p99Ms.toFixed(0)} ms, max ${l.maxMs.toFixed(0)} ms; ${load.answered - load.accepted} non-202, ${load.errors} errors; ${load.connectionsOpened} connections`);
    if (load.firstRejection !== null) log(`ingress: first refusal: ${load.firstRejection}`);
    if (load.firstError !== null) log(`ingress: first error: ${load.firstError}`);
    const purged = await purger.stop();
    return { load, cpu: cpuOf(report), rssPeakMiB: rss === undefined ? null : rss / MiB, purged };
  } finally {
    watch?.stop();
    await purger.stop().catch(() => undefined);
  }
}

/** Phase 2 set-up: `reports` uploads through the ingress, left in the queue for the worker. */
async function prefill(context: Context, ingress: ServerProcess): Promise<number> {
  const { options, log } = context;
  log(`prefill: ${options.reports} uploads through the ingress into ${context.workQueue}`);
  const spec: UploadSpec = { ...context.upload, url: `${ingress.url}/compliance/arf/${POLICY_ID}`, warmupSec: 0, durationSec: 0, count: options.reports };
  const result = await runUploads(spec, { onProgress: (answered) => log(`prefill: ${answered}/${options.reports} answered`) });
  if (result.accepted !== options.reports) {
    throw new Error(`prefill: ${result.accepted} of ${options.reports} uploads accepted; first refusal ${result.firstRejection ?? '—'}, first error ${result.firstError ?? '—'}`);
  }
  const depth = await queueDepth(options.amqpUrl, context.workQueue);
  log(`prefill: ${result.accepted} accepted in ${result.durationSec.toFixed(1)} s; ${context.workQueue} holds ${depth}`);
  if (depth !== options.reports) throw new Error(`prefill: the work queue holds ${depth}, not ${options.reports}`);
  return depth;
}

/**
 * Waits until the worker has recorded every report as delivered (its last step before the ack):
 * Foreman answering is not the end of the worker's work, and stopping it earlier would send the
 * last reports back to the queue, unacknowledged.
 */
async function waitAllRecorded(context: Context, prefix: string): Promise<void> {
  const { options } = context;
  const pattern = `${createTopology(prefix).deliveredKey('openscap', '')}*`;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    if ((await countKeys(options.redisUrl, pattern)) >= options.reports) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  context.log('worker: not every report was recorded as delivered within 15 s; stopping it anyway');
}

/** Phases 2 and 3: one worker drains the queue into the stand-in Foreman. */
async function measureWorker(context: Context, prefix: string, dataDir: string, fixture: ArfFixture, queuedBefore: number | null, started: (worker: ServerProcess, foreman: ArfForeman) => void): Promise<OpenscapWorkerResult> {
  const { options, log } = context;
  // The yardstick, on an otherwise quiet machine just before and just after the drain.
  const bzip2Before = await bzip2CpuMsPerCopy(fixture.path, BZIP2_COPIES);
  log(`reference: bzip2 -dc ${fixture.name}.xml.bz2: ${bzip2Before.toFixed(1)} ms CPU per copy (${BZIP2_COPIES} copies)`);
  log('worker: starting the stand-in Foreman');
  const foreman = await startArfForeman(fixture.expected);
  log(`worker: starting proxyhub --role worker:openscap (prefetch ${context.prefetch}) against ${foreman.url}`);
  const settings = {
    ...(options.prefetch === null ? {} : { PROXYHUB_WORKER_PREFETCH: String(options.prefetch) }),
    ...(options.parseThreads === null ? {} : { PROXYHUB_PARSE_THREADS: String(options.parseThreads) }),
    PROXYHUB_FOREMAN_URL: foreman.url,
    PROXYHUB_DATA_DIR: dataDir,
    PROXYHUB_REDIS_URL: options.redisUrl,
    PROXYHUB_INGRESS_PORT: String(await freePort()),
    PROXYHUB_CONTROL_PORT: String(await freePort()),
  };
  // Watched from Foreman's side, listening before the worker can deliver anything.
  const drain = watchDrain({
    foreman,
    reports: options.reports,
    warmupReports: context.warmupReports,
    otherPids: { foreman: foreman.pid, ...brokerOf(context) },
    stallTimeoutMs: 60_000,
    onProgress: (delivered, rssMiB) => log(`worker: ${delivered}/${options.reports} delivered, RSS ${rssMiB.toFixed(0)} MiB`),
  });
  void drain.finished.catch(() => undefined); // awaited below; a failed start must not leave it unhandled
  let worker: ServerProcess;
  try {
    worker = await startHubWorker('worker:openscap', prefix, options.amqpUrl, settings, async () => (await consumerCount(options.amqpUrl, context.workQueue)) > 0);
  } catch (error) {
    await foreman.stop();
    throw error;
  }
  drain.started(worker.pid);
  started(worker, foreman);
  log(`worker: consuming ${context.workQueue}; timing the drain from now`);
  const result = await drain.finished.catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output().slice(-2000)}`);
  });
  await waitAllRecorded(context, prefix);
  const bzip2After = await bzip2CpuMsPerCopy(fixture.path, BZIP2_COPIES);
  const bzip2Reference = { copiesEach: BZIP2_COPIES, beforeCpuMs: bzip2Before, afterCpuMs: bzip2After, cpuMsPerCopy: (bzip2Before + bzip2After) / 2 };
  const { watch, ...measured } = result;
  log(
    `worker: ${measured.reportsPerSec.toFixed(1)} reports/s, ${measured.cpuMsPerReport.toFixed(0)} ms CPU per report (${measured.reportsPerCoreSec.toFixed(1)} reports/s per core); ` +
      `RSS ${measured.rssStartMiB.toFixed(0)} after ${measured.warmupReports} reports → peak ${measured.rssPeakMiB.toFixed(0)} MiB (+${measured.rssGrowthMiB.toFixed(0)})`,
  );
  log(`reference: bzip2 -dc ${bzip2Before.toFixed(1)} ms before, ${bzip2After.toFixed(1)} ms after; the worker used ${(measured.cpuMsPerReport / bzip2Reference.cpuMsPerCopy).toFixed(2)} × bzip2 -dc per report`);
  const wrong = foreman.wrong();
  if (wrong.length > 0) log(`worker: ${wrong.length} reports did not read as the fixture does; first: ${wrong[0]}`);
  return {
    drain: measured,
    cpu: cpuOf(watch),
    prefetch: context.prefetch,
    queuedBefore,
    xmlMiBMeasured: ((measured.reports - measured.warmupReports) * fixture.xmlBytes) / MiB,
    wrongReports: wrong,
    bzip2Reference,
  };
}

/** Stops what runs and deletes everything the run made: queues, exchanges, Redis keys, files. */
async function cleanUp(options: OpenscapOptions, log: PhaseLog, prefix: string, processes: ReadonlyArray<ServerProcess | undefined>, removeFiles: () => Promise<void>): Promise<OpenscapBenchResults['cleanup']> {
  for (const child of processes) await child?.stop();
  let queuesHeld: Record<string, number> = {};
  let redisKeysRemoved: number | null = null;
  try {
    const removed = await removeBenchTopology(options.amqpUrl, prefix, WORKER_DEFAULTS.retryDelaysMs);
    queuesHeld = { ...removed.workQueued, ...removed.rpcQueued };
    log(`cleanup: removed ${prefix}'s queues and exchanges`);
  } catch (error) {
    log(`cleanup: could not remove ${prefix}'s queues and exchanges: ${String(error)}`);
  }
  try {
    redisKeysRemoved = await removePrefixKeys(options.redisUrl, prefix);
    log(`cleanup: removed ${redisKeysRemoved} Redis keys ${prefix}:*`);
  } catch (error) {
    log(`cleanup: could not remove the Redis keys ${prefix}:*: ${String(error)}`);
  }
  await removeFiles();
  return { queuesHeld, redisKeysRemoved };
}

export async function runOpenscapBench(options: OpenscapOptions): Promise<void> {
  const log = createPhaseLog();
  // What the worker will use: the setting (given or default), capped by the openscap feature.
  const prefetch = Math.min(options.prefetch ?? WORKER_DEFAULTS.prefetch, OPENSCAP_MAX_PREFETCH);
  const warmupReports = prefetch + WARMUP_BEYOND_PREFETCH;
  if (options.reports < warmupReports * 2) throw new Error(`--reports must be at least ${warmupReports * 2}: twice the ${warmupReports} reports before the RSS baseline (prefetch ${prefetch} + ${WARMUP_BEYOND_PREFETCH})`);
  const fixture = loadArfFixture();
  log(`openscap benchmark: ${fixture.name} (${fixture.bzip2.length} B bzip2, ${fixture.xmlBytes} B XML); ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s; worker drains ${options.reports} reports`);
  const machine = await machineInfo(options.amqpUrl);
  const brokerPid = findBrokerPid();
  const busyBefore = await machineBusyOver(1000);
  if (busyBefore > 10) log(`warning: the machine is already ${busyBefore.toFixed(0)} % busy; the figures will be disturbed`);
  if (brokerPid === null) log('broker process not found on this machine; its CPU is not reported');

  log('pki: a throw-away CA, server certificate and host certificate (openssl)');
  const pki = createTestPki();
  const prefix = benchPrefix();
  let workDir: string | undefined;
  let ingress: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  let foreman: ServerProcess | undefined;
  let phases: { ingress: OpenscapIngressResult; worker: OpenscapWorkerResult } | undefined;
  let cleanup: OpenscapBenchResults['cleanup'] | undefined;
  try {
    workDir = await mkdtemp(join(tmpdir(), 'proxyhub-bench-openscap-'));
    const host = pki.client(HOST);
    const bodyFile = join(workDir, `${fixture.name}.xml.bz2`);
    await writeFile(bodyFile, fixture.bzip2);
    const upload = { caFile: pki.caCert, certFile: host.cert, keyFile: host.key, bodyFile, connections: options.connections };
    const context: Context = { options, prefetch, warmupReports, log, brokerPid, workQueue: createTopology(prefix).workQueue('openscap'), upload };

    log(`ingress: starting proxyhub --role ingress over HTTPS under prefix ${prefix}`);
    ingress = await startHubIngressTls(prefix, options.amqpUrl, { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert }, { PROXYHUB_CONTROL_PORT: String(await freePort()) });
    const ingressResult = await measureIngress(context, ingress);
    await settle(context);
    const queuedBefore = await prefill(context, ingress);
    await ingress.stop();
    log('ingress: stopped; the queue stays for the worker');
    await settle(context);
    const workerResult = await measureWorker(context, prefix, join(workDir, 'data'), fixture, queuedBefore, (w, f) => {
      worker = w;
      foreman = f;
    });
    phases = { ingress: ingressResult, worker: workerResult };
  } finally {
    const dir = workDir;
    cleanup = await cleanUp(options, log, prefix, [ingress, worker, foreman], async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      pki.remove();
    });
  }
  const { redisUrl: _redisUrl, prefetch: _prefetch, ...settings } = options;
  const results: OpenscapBenchResults = {
    benchmark: 'openscap',
    date: new Date().toISOString(),
    machine,
    settings: { ...settings, amqpUrl: options.amqpUrl.replace(/\/\/[^@/]*@/, '//***@'), fixture: `${fixture.name}.xml.bz2`, fixtureBytes: fixture.bzip2.length, xmlBytes: fixture.xmlBytes, prefetch, warmupReports },
    ingress: phases.ingress,
    worker: phases.worker,
    reference: REFERENCE,
    targets: TARGETS,
    cleanup,
    machineBusyBeforePercent: busyBefore,
  };
  const { markdown, files } = await writeOpenscapResults(results);
  log(`wrote ${files.join(', ')}`);
  process.stdout.write(`\n${markdown}`);
  if (phases.worker.wrongReports.length > 0) throw new Error(`${phases.worker.wrongReports.length} reports reached Foreman with the wrong content; first: ${phases.worker.wrongReports[0]}`);
}
