/**
 * `npm run bench -- ingress`: how close the hub's facts ingress comes to what its two halves
 * allow on this machine. In one run, on one broker and queue type, with one payload and one load
 * generator: raw broker publishing (a), a no-op HTTP server (b), their combined limit (c), the
 * naive handler a user would otherwise write (d, AMQP 0-9-1) and the real `proxyhub start --role
 * ingress` (e).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology } from '../contracts/topology.ts';
import { declareBenchTopology, removeBenchTopology } from './lib/broker.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { buildFactsUpload, buildHubMessage } from './lib/payload.ts';
import { createPhaseLog, type PhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, readMemory, waitUntilIdle, watchProcesses, type WatchReport } from './lib/proc-stats.ts';
import { measureRawPublish } from './lib/raw-publish.ts';
import { measureRawPublishAmqp10 } from './lib/raw-publish-amqp10.ts';
import { writeResults } from './lib/report.ts';
import { measuredIngressSettings, startHubIngress, startNaiveIngress, startNoopServer, type ServerProcess } from './lib/servers.ts';
import type { BenchOptions, IngressBenchResults, ScenarioResult } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

// Issue 12's bars for the facts ingress at 50 connections: AMQP 0-9-1 ≥ 0.85 × limit, AMQP 1.0
// ≥ 0.7 × limit, p99 ≤ 10 ms, RSS ≤ 100 MiB under that load.
const TARGETS = {
  amqp091: { hubVsLimit: 0.85, p99Ms: 10, rssMiB: 100 },
  amqp10: { hubVsLimit: 0.7, p99Ms: 10, rssMiB: 100 },
} as const;
const MiB = 2 ** 20;
const FACTS_PATH = '/api/v2/hosts/facts';


function cpuOf(report: WatchReport, client: number | null): ScenarioResult['cpu'] {
  const server = report.cpuPercent.server ?? null;
  const broker = report.cpuPercent.broker ?? null;
  const accounted = (server ?? 0) + (broker ?? 0) + (client ?? 0);
  const unaccounted = report.machineBusyPercent * cpus().length - accounted;
  return { server, broker, client, machineBusy: report.machineBusyPercent, unaccounted };
}

async function scenarioRaw(options: BenchOptions, log: PhaseLog, brokerPid: number | null, name: 'raw' | 'raw-matched' | 'raw-paced', window: number, ratePerSec?: number): Promise<ScenarioResult> {
  const prefix = benchPrefix();
  const message = buildHubMessage(prefix, buildFactsUpload().upload);
  const pacing = ratePerSec === undefined ? '' : `, ${Math.round(ratePerSec)} due/s`;
  log(`${name}: publishing to ${prefix}.facts (quorum) over ${options.transport}, window ${window}${pacing}, ${options.warmupSec} s warm-up`);
  let watch: { stop(): WatchReport } | undefined;
  let removed = false;
  try {
    const measure = options.transport === 'amqp10' ? measureRawPublishAmqp10 : measureRawPublish;
    const raw = await measure({
      amqpUrl: options.amqpUrl,
      prefix,
      message,
      window,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      ...(ratePerSec === undefined ? {} : { ratePerSec }),
      onMeasuring: () => {
        log(`${name}: measuring for ${options.durationSec} s`);
        watch = watchProcesses(brokerPid === null ? {} : { broker: brokerPid });
      },
    });
    const report = watch?.stop();
    watch = undefined;
    const { factsQueued } = await removeBenchTopology(options.amqpUrl, prefix);
    removed = true;
    log(`${name}: ${Math.round(raw.confirmedPerSec)} msg/s confirmed; queue held ${factsQueued}; removed ${prefix}`);
    return {
      scenario: name,
      transport: options.transport,
      unit: 'msg/s',
      rate: raw.confirmedPerSec,
      p50Ms: raw.p50Ms,
      p99Ms: raw.p99Ms,
      rssPeakMiB: null,
      cpu: report === undefined ? null : cpuOf(report, raw.publisherCpuPercent),
      details: { window, confirmed: raw.confirmed, nacked: raw.nacked, returned: raw.returned, confirmedTotal: raw.confirmedTotal, factsQueued: factsQueued ?? -1, durationSec: raw.durationSec, ...(raw.dueBehind === undefined ? {} : { dueBehind: raw.dueBehind, dueWaitP99Ms: Number((raw.dueWaitP99Ms ?? 0).toFixed(1)) }) },
    };
  } finally {
    watch?.stop();
    if (!removed) await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
  }
}

/** Warm-up + measured autocannon run against `server`, sampling server, broker and client. */
async function loadServer(name: string, server: ServerProcess, options: BenchOptions, bodyFile: string, log: PhaseLog, brokerPid: number | null) {
  log(`${name}: ${options.warmupSec} s warm-up, ${options.connections} connections`);
  let watch: { stop(): WatchReport } | undefined;
  const spec = { url: `${server.url}${FACTS_PATH}`, bodyFile, connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec };
  const load = await runLoad(spec, () => {
    log(`${name}: measuring for ${options.durationSec} s`);
    watch = watchProcesses({ server: server.pid, ...(brokerPid === null ? {} : { broker: brokerPid }) });
  }).catch((error: unknown) => {
    watch?.stop(); // its timer would keep the benchmark alive
    throw error;
  });
  const report = watch?.stop() ?? null;
  const lifetimePeak = readMemory(server.pid, 'VmHWM');
  log(`${name}: ${Math.round(load.acceptedPerSec)} accepted/s, p99 ${load.p99Ms} ms, ${load.non2xx} non-2xx`);
  return { load, report, lifetimePeakMiB: lifetimePeak === null ? null : lifetimePeak / MiB };
}

function httpResult(scenario: 'noop' | 'naive' | 'hub', transport: ScenarioResult['transport'], load: LoadResult, report: WatchReport | null, extra: Record<string, number | string>): ScenarioResult {
  const rss = report?.peakRssBytes.server;
  return {
    scenario,
    transport,
    unit: 'req/s',
    rate: load.acceptedPerSec,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    rssPeakMiB: rss === undefined ? null : rss / MiB,
    cpu: report === null ? null : cpuOf(report, load.clientCpuPercent),
    details: {
      accepted: load.accepted,
      requestsPerSec: load.requestsPerSec,
      non2xx: load.non2xx,
      errors: load.errors,
      timeouts: load.timeouts,
      maxMs: load.maxMs,
      statusCodes: JSON.stringify(load.statusCodes),
      durationSec: load.durationSec,
      ...extra,
    },
  };
}

async function scenarioNoop(options: BenchOptions, bodyFile: string, log: PhaseLog, brokerPid: number | null): Promise<ScenarioResult> {
  log('noop: starting node:http no-op server');
  const server = await startNoopServer();
  try {
    const { load, report, lifetimePeakMiB } = await loadServer('noop', server, options, bodyFile, log, brokerPid);
    return httpResult('noop', null, load, report, { lifetimePeakRssMiB: lifetimePeakMiB ?? -1 });
  } finally {
    await server.stop();
  }
}

/**
 * An HTTP server that publishes to the broker under its own throw-away prefix: started by
 * `start`, loaded, stopped, and its topology removed (counting what the facts queue held).
 */
async function scenarioPublishing(name: 'naive' | 'hub', options: BenchOptions, bodyFile: string, log: PhaseLog, brokerPid: number | null, start: (prefix: string) => Promise<ServerProcess>): Promise<ScenarioResult> {
  const prefix = benchPrefix();
  let server: ServerProcess | undefined;
  let removed = false;
  try {
    server = await start(prefix);
    const { load, report, lifetimePeakMiB } = await loadServer(name, server, options, bodyFile, log, brokerPid);
    await server.stop();
    const { factsQueued } = await removeBenchTopology(options.amqpUrl, prefix);
    removed = true;
    log(`${name}: stopped; facts queue held ${factsQueued}; removed ${prefix}`);
    return httpResult(name, options.transport, load, report, { factsQueued: factsQueued ?? -1, lifetimePeakRssMiB: lifetimePeakMiB ?? -1 });
  } finally {
    await server?.stop();
    if (!removed) await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
  }
}

/**
 * What a user would otherwise write (bench/naive-ingress-server.ts): node:http, JSON.parse,
 * publish, 202 on the confirm. AMQP 0-9-1 only (it is written with amqplib).
 */
function scenarioNaive(options: BenchOptions, bodyFile: string, log: PhaseLog, brokerPid: number | null): Promise<ScenarioResult> {
  return scenarioPublishing('naive', options, bodyFile, log, brokerPid, async (prefix) => {
    log(`naive: starting the naive node:http + amqplib ingress under prefix ${prefix}`);
    await declareBenchTopology(options.amqpUrl, prefix);
    return startNaiveIngress(options.amqpUrl, createTopology(prefix).eventsExchange);
  });
}

function scenarioHub(options: BenchOptions, bodyFile: string, log: PhaseLog, brokerPid: number | null): Promise<ScenarioResult> {
  return scenarioPublishing('hub', options, bodyFile, log, brokerPid, (prefix) => {
    log(`hub: starting proxyhub --role ingress under prefix ${prefix}`);
    return startHubIngress(prefix, options.amqpUrl, measuredIngressSettings(options.transport));
  });
}

export async function runIngressBench(options: BenchOptions): Promise<void> {
  const log = createPhaseLog();
  log(`ingress benchmark: transport ${options.transport}, ${options.warmupSec} s warm-up + ${options.durationSec} s per scenario`);
  measuredIngressSettings(options.transport); // a BENCH_HUB_SETTINGS that clashes is refused now, not after the other scenarios
  const machine = await machineInfo(options.amqpUrl);
  const brokerPid = findBrokerPid();
  const busyBefore = await machineBusyOver(1000);
  if (busyBefore > 10) log(`warning: the machine is already ${busyBefore.toFixed(0)} % busy; the figures will be disturbed`);
  if (brokerPid === null) log('broker process not found on this machine; its CPU is not reported');
  const { json } = buildFactsUpload();
  const workDir = await mkdtemp(join(tmpdir(), 'proxyhub-bench-'));
  const bodyFile = join(workDir, 'facts.json');
  await writeFile(bodyFile, json);
  try {
    const settle = async (): Promise<void> => {
      if (brokerPid !== null) log(`broker idle again after ${(await waitUntilIdle(brokerPid)).toFixed(0)} s`);
    };
    const raw = await scenarioRaw(options, log, brokerPid, 'raw', options.rawWindow);
    await settle();
    const rawMatched = await scenarioRaw(options, log, brokerPid, 'raw-matched', options.connections);
    await settle();
    const noop = await scenarioNoop(options, bodyFile, log, brokerPid);
    await settle();
    const limitRate = 1 / (1 / raw.rate + 1 / noop.rate);
    // The p99 bar is the 0-9-1 ingress's, at the rate of its throughput bar.
    const paced = options.transport === 'amqp091' ? await scenarioRaw(options, log, brokerPid, 'raw-paced', options.connections, limitRate * TARGETS.amqp091.hubVsLimit) : undefined;
    if (paced !== undefined) await settle();
    const naive = options.transport === 'amqp091' ? await scenarioNaive(options, bodyFile, log, brokerPid) : undefined;
    if (naive !== undefined) await settle();
    const hub = await scenarioHub(options, bodyFile, log, brokerPid);
    const limit: ScenarioResult = {
      scenario: 'limit',
      transport: options.transport,
      unit: 'req/s',
      rate: limitRate,
      p50Ms: null,
      p99Ms: null,
      rssPeakMiB: null,
      cpu: null,
      details: { formula: '1/(1/raw + 1/noop)' },
    };
    const results: IngressBenchResults = {
      benchmark: 'ingress',
      date: new Date().toISOString(),
      machine,
      settings: { ...options, amqpUrl: options.amqpUrl.replace(/\/\/[^@/]*@/, '//***@'), payloadBytes: json.length, messageBytes: buildHubMessage(benchPrefix(), buildFactsUpload().upload).body.length },
      scenarios: [raw, rawMatched, noop, limit, ...(paced === undefined ? [] : [paced]), ...(naive === undefined ? [] : [naive]), hub],
      targets: TARGETS[options.transport],
      machineBusyBeforePercent: busyBefore,
    };
    const { markdown, files } = await writeResults(results);
    log(`wrote ${files.join(', ')}`);
    process.stdout.write(`\n${markdown}`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
