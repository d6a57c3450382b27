/**
 * `npm run bench -- overload`: the co-located hub (`proxyhub start --role all`, mTLS, the facts
 * worker delivering to a stand-in Foreman meanwhile) driven past its capacity, over both
 * transports. One timeline per run (bench/overload-client.ts):
 *   warm-up  closed loop, --connections (50) clients;
 *   peak     the same, measured: the capacity every other figure is compared with;
 *   overload 2 × peak for --overload (30) s, open loop (arrivals at a fixed rate) or closed loop
 *            (--clients (1024) clients, each paced so that together they offer 2 × peak);
 *   recovery the peak load again: how soon does the hub accept at its peak rate?
 * A last run without load shedding (PROXYHUB_MAX_INFLIGHT_REQUESTS=0, PROXYHUB_MAX_EVENT_LOOP_DELAY_MS=0)
 * shows what the same open-loop overload does to a hub that takes everything it is sent.
 * Writes bench/results/overload.{md,json} and one overload-<transport>-<load>.svg per run.
 */
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestPki } from '../tests/helpers/pki.ts';
import type { OverloadClientResult, OverloadClientSpec, OverloadPhase, PhaseResult } from './overload-client.ts';
import { removeBenchTopology } from './lib/broker.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, roleChildrenOf } from './lib/proc-stats.ts';
import { cpuPercentBetween, sampleCpuTimeline } from './lib/cpu-timeline.ts';
import { loopStatsBetween, loopTraceEnvironment, readLoopTrace, type LoopStats } from './lib/loop-trace-report.ts';
import { removePrefixKeys } from './lib/redis-keys.ts';
import { freePort, settingsFromEnvironment, startHubTls, startStaticTlsServer, startTestForeman, type ServerProcess } from './lib/servers.ts';
import { renderTimeline } from './lib/svg-timeline.ts';
import type { Transport } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const HOST = 'bench-host.example.com';
/** The PKI files of a run: the hub's certificate and key, the CA, and the bench host's own. */
interface BenchFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly host: { readonly cert: string; readonly key: string };
}
const FACTS_BODY = JSON.stringify({ name: HOST, facts: { operatingsystem: 'RedHat', operatingsystemrelease: '9.4', uptime_seconds: '123456', 'networking::ip': '192.0.2.10' } });
const REDIS_URL = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Retry tiers the workers declare by default, for removing their queues afterwards. */
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 120_000, 300_000];
const BUCKET_MS = 250;
/** The issue's bars: goodput share of the peak, refusal latency, time back to the peak. */
const TARGETS = { goodputShare: 0.9, refusalMaxMs: 50, recoverySec: 2 } as const;
const log = createPhaseLog();

export interface OverloadOptions {
  readonly amqpUrl: string;
  readonly transports: readonly Transport[];
  /** Which overloads to run (the shedding-off run comes with `open`). */
  readonly loads: readonly Load[];
  /** PROXYHUB_INGRESS_PROCESSES of the shedding runs, each a set of runs (the shedding-off run uses the first). */
  readonly ingressProcesses: readonly number[];
  readonly connections: number;
  readonly clients: number;
  readonly warmupSec: number;
  readonly peakSec: number;
  readonly overloadSec: number;
  readonly recoverySec: number;
}

export type Load = 'open' | 'closed';

interface RunResult {
  readonly transport: Transport;
  readonly load: Load;
  readonly shedding: boolean;
  readonly ingressProcesses: number;
  readonly peak: PhaseResult;
  readonly overload: PhaseResult;
  readonly recovery: PhaseResult;
  readonly goodputShare: number;
  /** Seconds from the end of the overload until two buckets in a row reach 90 % of the peak; null: never. */
  readonly recoverySec: number | null;
  readonly timeline: OverloadClientResult;
  /** Shedding spells the hub logged, by the signal that started them. */
  readonly spells: Readonly<Record<string, number>>;
  /** % of one core each process used in the peak and in the overload phase. */
  readonly cpu: { readonly peak: Readonly<Record<string, number>>; readonly overload: Readonly<Record<string, number>> };
  /** The ingress's event loop in the peak and in the overload phase (bench/lib/loop-trace.mjs). */
  readonly loop: { readonly peak: LoopStats | null; readonly overload: LoopStats | null };
}

/** The processes whose CPU the report splits by phase: each role's child, the broker, Foreman's stand-in. */
function processesOf(supervisorPid: number, foremanPid: number): Record<string, number> {
  const broker = findBrokerPid();
  return { ...roleChildrenOf(supervisorPid), ...(broker === null ? {} : { broker }), foreman: foremanPid };
}

/** The load generator's facts uploads to `url` as the bench host, over mTLS, through `phases`. */
function clientSpec(url: URL, files: BenchFiles, phases: readonly OverloadPhase[]): OverloadClientSpec {
  return { host: url.hostname, port: Number(url.port), caFile: files.ca, certFile: files.host.cert, keyFile: files.host.key, path: '/api/v2/hosts/facts', body: FACTS_BODY, bucketMs: BUCKET_MS, phases };
}

/** Runs the load generator in its own process; resolves with its result line. */
function runClient(spec: OverloadClientSpec, timeoutMs: number, onStart: (pid: number) => void): Promise<OverloadClientResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/overload-client.ts', JSON.stringify(spec)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], timeout: timeoutMs });
  onStart(child.pid ?? 0);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as OverloadClientResult);
      else reject(new Error(`the load generator ended with ${code ?? signal}`));
    });
  });
}

/** Counts the hub's `shedding load` warnings by reason (its log is one merged JSON stream). */
function sheddingSpells(output: string): Record<string, number> {
  const spells: Record<string, number> = {};
  for (const line of output.split('\n')) {
    if (!line.includes('shedding load')) continue;
    try {
      const logged = (JSON.parse(line) as { reason?: unknown }).reason;
      const reason = typeof logged === 'string' ? logged : 'unknown';
      spells[reason] = (spells[reason] ?? 0) + 1;
    } catch {
      // not a log line of ours
    }
  }
  return spells;
}

function phases(options: OverloadOptions, load: Load): OverloadPhase[] {
  const steady = (name: string, seconds: number): OverloadPhase => ({ name, kind: 'closed', durationMs: seconds * 1000, connections: options.connections });
  return [
    steady('warm-up', options.warmupSec),
    steady('peak', options.peakSec),
    { name: 'overload', kind: load, durationMs: options.overloadSec * 1000, connections: options.clients, rate: { ofPhase: 'peak', factor: 2 } },
    steady('recovery', options.recoverySec),
  ];
}

function recoveryTime(result: OverloadClientResult, peakPerSec: number): number | null {
  const recovery = result.phases.find((p) => p.name === 'recovery');
  if (!recovery) return null;
  const first = Math.ceil(recovery.startMs / result.bucketMs);
  const perSec = (i: number): number => ((result.buckets[i]?.[0] ?? 0) * 1000) / result.bucketMs;
  for (let i = first; i + 1 < result.buckets.length; i += 1) {
    if ((perSec(i) + perSec(i + 1)) / 2 >= TARGETS.goodputShare * peakPerSec) return Math.max(0, (i * result.bucketMs - recovery.startMs) / 1000);
  }
  return null;
}

async function measure(options: OverloadOptions, run: RunSpec, foreman: ServerProcess, files: BenchFiles): Promise<RunResult> {
  const { transport, load, shedding, ingressProcesses } = run;
  const prefix = benchPrefix();
  const label = runLabel(run);
  let hub: ServerProcess | undefined;
  const loopTraceFile = join(tmpdir(), `proxyhub-bench-loop-${prefix}.jsonl`);
  try {
    log(`${label}: starting proxyhub --role all (TLS) under prefix ${prefix}`);
    hub = await startHubTls('all', prefix, options.amqpUrl, files, {
      PROXYHUB_TRANSPORT: transport,
      PROXYHUB_FOREMAN_URL: foreman.url,
      PROXYHUB_REDIS_URL: REDIS_URL,
      PROXYHUB_CONTROL_PORT: String(await freePort()),
      PROXYHUB_DATA_DIR: join(tmpdir(), `proxyhub-bench-overload-${prefix}`),
      // Anonymous uploads stay refused: every request carries the host's certificate.
      PROXYHUB_DEV_ANONYMOUS_UPLOADS: '0',
      PROXYHUB_INGRESS_PROCESSES: String(ingressProcesses),
      ...(shedding ? {} : { PROXYHUB_MAX_INFLIGHT_REQUESTS: '0', PROXYHUB_MAX_EVENT_LOOP_DELAY_MS: '0' }),
      ...loopTraceEnvironment(loopTraceFile),
      ...settingsFromEnvironment(),
    });
    const url = new URL(hub.url);
    const spec = clientSpec(url, files, phases(options, load));
    const totalSec = options.warmupSec + options.peakSec + options.overloadSec + options.recoverySec;
    log(`${label}: ${totalSec} s of load (warm-up ${options.warmupSec}, peak ${options.peakSec}, overload ${options.overloadSec}, recovery ${options.recoverySec})`);
    const progress = setInterval(() => log(`${label}: running…`), 10_000);
    const processes = processesOf(hub.pid, foreman.pid);
    if (processes.broker === undefined) log(`${label}: the broker's process was not found; its CPU is left out of this run`);
    let sampler: ReturnType<typeof sampleCpuTimeline> | undefined;
    const timeline = await runClient(spec, (totalSec + 60) * 1000, (pid) => (sampler = sampleCpuTimeline({ ...processes, 'load generator': pid }))).finally(() => clearInterval(progress));
    const cpuTimeline = sampler?.stop();
    const byName = (name: string): PhaseResult => timeline.phases.find((p) => p.name === name) as PhaseResult;
    const [peak, overload, recovery] = [byName('peak'), byName('overload'), byName('recovery')];
    const cpuDuring = (phase: PhaseResult): Record<string, number> => (cpuTimeline === undefined ? {} : cpuPercentBetween(cpuTimeline, timeline.startedAtEpochMs + phase.startMs, timeline.startedAtEpochMs + phase.startMs + phase.durationMs));
    const trace = readLoopTrace(loopTraceFile);
    const loopDuring = (phase: PhaseResult): LoopStats | null => loopStatsBetween(trace, timeline.startedAtEpochMs + phase.startMs, timeline.startedAtEpochMs + phase.startMs + phase.durationMs);
    const result: RunResult = {
      transport, load, shedding, ingressProcesses, peak, overload, recovery,
      goodputShare: overload.acceptedPerSec / peak.acceptedPerSec,
      recoverySec: recoveryTime(timeline, peak.acceptedPerSec),
      timeline,
      spells: sheddingSpells(hub.output()),
      cpu: { peak: cpuDuring(peak), overload: cpuDuring(overload) },
      loop: { peak: loopDuring(peak), overload: loopDuring(overload) },
    };
    log(`${label}: peak ${peak.acceptedPerSec.toFixed(0)}/s; overload offered ${overload.offeredPerSec?.toFixed(0)}/s, accepted ${overload.acceptedPerSec.toFixed(0)}/s (${(result.goodputShare * 100).toFixed(0)} %), ${overload.refused.count} × 503 (max ${overload.refused.maxMs.toFixed(0)} ms), ${overload.other} other, ${overload.errors} errors; back to the peak after ${result.recoverySec?.toFixed(2) ?? 'never'} s; shedding spells ${JSON.stringify(result.spells)}`);
    return result;
  } finally {
    await hub?.stop();
    await removeBenchTopology(options.amqpUrl, prefix, RETRY_DELAYS_MS).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    await removePrefixKeys(REDIS_URL, prefix).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    await rm(join(tmpdir(), `proxyhub-bench-overload-${prefix}`), { recursive: true, force: true });
    await rm(loopTraceFile, { force: true });
  }
}

/**
 * The cheapest refusal this machine allows: bench/static-tls-server.ts answering the hub's own
 * 503 bytes to every upload, over the same mTLS client at the overload's offered rate. Its CPU
 * per refusal (server and load generator; the kernel's loopback work left out, so the figure is
 * if anything low) is what no hub answering a 503 can go below.
 */
interface RefusalFloor {
  readonly offeredPerSec: number;
  readonly refusedPerSec: number;
  readonly refused: PhaseResult['refused'];
  /** Uploads answered 202 in the measured phase: none for the bare server; for the hub, shedding stopped meanwhile. */
  readonly accepted: number;
  readonly other: number;
  readonly cpu: Readonly<Record<string, number>>;
  readonly cpuMicrosPerRefusal: number;
}

async function measureRefusalFloor(options: OverloadOptions, files: BenchFiles, offeredPerSec: number): Promise<RefusalFloor> {
  log(`refusal floor: a bare node:https server answering the hub's 503, open loop at ${offeredPerSec.toFixed(0)}/s`);
  const server = await startStaticTlsServer({ cert: files.cert, key: files.key, ca: files.ca }, '--refusal');
  try {
    return await measureRefusals('refusal floor', server, options, files, offeredPerSec);
  } finally {
    await server.stop();
  }
}

/**
 * The hub's own refusal, apart from any accept: `proxyhub start --role ingress` alone, with the
 * event-loop lag mark at 1 ms so that it sheds every upload once the load starts (the lag under
 * this load never falls below ¾ ms for the second it would take to stop), at the same offered
 * rate. Against the bare floor it shows what the hub's door adds; against the overload runs, what
 * a refusal costs the ingress once its loop is also busy with accepts and 1,024 connections.
 */
async function measureHubRefusals(options: OverloadOptions, files: BenchFiles, offeredPerSec: number): Promise<RefusalFloor> {
  const prefix = benchPrefix();
  log(`hub refusals: proxyhub --role ingress shedding every upload (lag mark 1 ms), open loop at ${offeredPerSec.toFixed(0)}/s`);
  // The forced settings last: an A/B's BENCH_HUB_SETTINGS (meant for the runs above, where it may
  // set these) must not undo the shedding here, nor split the ingress into processes whose CPU
  // the primary's pid would not show.
  const hub = await startHubTls('ingress', prefix, options.amqpUrl, files, { ...settingsFromEnvironment(), PROXYHUB_DEV_ANONYMOUS_UPLOADS: '0', PROXYHUB_MAX_EVENT_LOOP_DELAY_MS: '1', PROXYHUB_INGRESS_PROCESSES: '1' });
  try {
    return await measureRefusals('hub refusals', hub, options, files, offeredPerSec);
  } finally {
    await hub.stop();
    await removeBenchTopology(options.amqpUrl, prefix).catch((error: unknown) => log(`cleanup: ${String(error)}`));
  }
}

/** µs of CPU per event, from a CPU share in percent of one core and a rate of events per second (0 when there were none). */
function microsPerEvent(cpuPercent: number, eventsPerSec: number): number {
  return eventsPerSec > 0 ? ((cpuPercent / 100) * 1e6) / eventsPerSec : 0;
}

/** `server` under an open loop at `offeredPerSec`: its answers and the CPU it and the load generator used per answer. */
async function measureRefusals(label: string, server: ServerProcess, options: OverloadOptions, files: BenchFiles, offeredPerSec: number): Promise<RefusalFloor> {
  const url = new URL(server.url);
  const open = (name: string, seconds: number): OverloadPhase => ({ name, kind: 'open', durationMs: seconds * 1000, connections: options.clients, rate: offeredPerSec });
  const spec = clientSpec(url, files, [open('warm-up', options.warmupSec), open('floor', options.peakSec)]);
  let sampler: ReturnType<typeof sampleCpuTimeline> | undefined;
  const timeline = await runClient(spec, (options.warmupSec + options.peakSec + 60) * 1000, (pid) => (sampler = sampleCpuTimeline({ server: server.pid, 'load generator': pid })));
  const cpuTimeline = sampler?.stop();
  const floor = timeline.phases.find((p) => p.name === 'floor') as PhaseResult;
  const from = timeline.startedAtEpochMs + floor.startMs;
  const cpu = cpuTimeline === undefined ? {} : cpuPercentBetween(cpuTimeline, from, from + floor.durationMs);
  const refusedPerSec = floor.refused.count / (floor.durationMs / 1000);
  const busy = (cpu.server ?? 0) + (cpu['load generator'] ?? 0);
  const result = { offeredPerSec, refusedPerSec, refused: floor.refused, accepted: floor.accepted.count, other: floor.other + floor.errors, cpu, cpuMicrosPerRefusal: microsPerEvent(busy, refusedPerSec) };
  log(`${label}: ${refusedPerSec.toFixed(0)} × 503/s, ${result.cpuMicrosPerRefusal.toFixed(0)} µs of CPU each (server ${(cpu.server ?? 0).toFixed(0)} %, load generator ${(cpu['load generator'] ?? 0).toFixed(0)} %), p99 ${floor.refused.p99Ms.toFixed(1)} ms, ${floor.accepted.count} accepted`);
  return result;
}

/**
 * The best share of the peak any hub could keep in this run's overload if each refusal cost only
 * the floor's CPU: with `a` the CPU per accepted upload in the peak phase (every process: roles,
 * broker, Foreman's stand-in, load generator) and `r` the floor's per refusal, accepting G of the
 * O offered per second needs G·a + (O − G)·r ≤ the cores, so G ≤ (cores − O·r) / (a − r).
 */
function goodputCeiling(run: RunResult, floor: RefusalFloor, cores: number): { readonly share: number; readonly microsPerAccept: number } | null {
  const peakCpuPercent = Object.values(run.cpu.peak).reduce((sum, percent) => sum + percent, 0);
  const peakRate = run.peak.acceptedPerSec;
  const offered = run.overload.offeredPerSec;
  if (peakRate <= 0 || offered === null || peakCpuPercent <= 0) return null;
  const a = microsPerEvent(peakCpuPercent, peakRate);
  const r = floor.cpuMicrosPerRefusal;
  if (a <= r) return null;
  const best = Math.max(0, Math.min(offered, (cores * 1e6 - offered * r) / (a - r)));
  return { share: best / peakRate, microsPerAccept: a };
}

interface RunSpec {
  readonly transport: Transport;
  readonly load: Load;
  readonly shedding: boolean;
  readonly ingressProcesses: number;
}

/** How a run is named in the log, the tables and its chart's title. */
function runLabel(run: RunSpec): string {
  return `${run.transport} ${run.load} loop, ${run.ingressProcesses} ingress process${run.ingressProcesses === 1 ? '' : 'es'}${run.shedding ? '' : ', shedding off'}`;
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');
const ms = (n: number): string => (n < 1 ? '<1' : n.toFixed(0));

function markdown(results: readonly RunResult[], options: OverloadOptions, busyBefore: number, date: string, floor: RefusalFloor | undefined, hubRefusals: RefusalFloor | undefined, cores: number): string {
  const ceilingCell = (r: RunResult): string => {
    const ceiling = floor === undefined || !r.shedding ? null : goodputCeiling(r, floor, cores);
    return ceiling === null ? '—' : `${(ceiling.share * 100).toFixed(0)} %`;
  };
  const rows = results.map((r) => {
    const o = r.overload;
    const refusalsOk = o.refused.maxMs <= TARGETS.refusalMaxMs && o.refusedWithoutRetryAfter === 0 && o.other === 0;
    return `| ${r.transport} | ${r.load}${r.shedding ? '' : ' (shedding off)'} | ${r.ingressProcesses} | ${r.peak.acceptedPerSec.toFixed(0)} | ${o.offeredPerSec?.toFixed(0) ?? '—'} | ${o.acceptedPerSec.toFixed(0)} | ${(r.goodputShare * 100).toFixed(0)} % ${verdict(r.goodputShare >= TARGETS.goodputShare)} | ${ceilingCell(r)} | ${ms(o.accepted.p50Ms)} / ${ms(o.accepted.p99Ms)} | ${o.refused.count} | ${o.refused.count ? `${ms(o.refused.p99Ms)} / ${ms(o.refused.maxMs)}` : '—'} ${verdict(refusalsOk)} | ${o.refusedWithoutRetryAfter} | ${o.other + o.errors} | ${r.recoverySec === null ? 'never' : r.recoverySec.toFixed(2)} ${verdict(r.recoverySec !== null && r.recoverySec <= TARGETS.recoverySec)} |`;
  });
  return [
    `# Overload benchmark (${date})`,
    '',
    `\`proxyhub start --role all\` over mTLS, the facts worker delivering to a stand-in Foreman meanwhile; client, hub, broker and Foreman share the machine (2 cores; ${busyBefore.toFixed(0)} % busy before the run). Peak: closed loop, ${options.connections} keep-alive clients, ${options.peakSec} s after ${options.warmupSec} s warm-up. Overload: 2 × peak for ${options.overloadSec} s, open loop (fixed arrival rate, up to ${options.clients} connections, latency from when each request was due) or closed loop (${options.clients} clients each paced to offer 2 × peak in all, ignoring Retry-After). Recovery: the peak load again for ${options.recoverySec} s.`,
    '',
    `| transport | overload | ingress processes | peak 202/s | offered/s | 202/s in overload | goodput / peak (≥ ${TARGETS.goodputShare * 100} %) | best possible at the refusal floor | 202 p50 / p99 ms | 503s | 503 p99 / max ms (≤ ${TARGETS.refusalMaxMs}) | 503 without Retry-After | other answers + errors | back to peak after s (≤ ${TARGETS.recoverySec}) |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ...floorLines(floor, results, cores),
    '',
    ...hubRefusalLines(hubRefusals),
    '',
    ...cpuTable(results),
    '',
    ...loopTable(results),
    '',
    'Charts: `overload-<transport>-<load>[-<n>proc].svg` (202/s and 503/s every 250 ms). "Back to peak": from the end of the overload until two 250 ms buckets in a row average 90 % of the peak rate. The shedding-off row is the same hub with `PROXYHUB_MAX_INFLIGHT_REQUESTS=0 PROXYHUB_MAX_EVENT_LOOP_DELAY_MS=0`: what a hub that takes everything does under the same load.',
    '',
    'Produced by `npm run bench -- overload`.',
    '',
  ].join('\n');
}

/** A role's CPU: its child, and where it runs several processes (`ingress#1`, ...) theirs too. */
function roleCpu(percent: Readonly<Record<string, number>>, role: string): number {
  return Object.entries(percent).reduce((sum, [name, value]) => (name === role || name.startsWith(`${role}#`) ? sum + value : sum), 0);
}

/** The ingress child's CPU per refusal in the overload: its CPU then, less its accepts at the µs each cost it at the peak. */
function ingressMicrosPerRefusal(run: RunResult): number | null {
  const [peakPercent, overloadPercent] = [roleCpu(run.cpu.peak, 'ingress'), roleCpu(run.cpu.overload, 'ingress')];
  const refusedPerSec = run.overload.refused.count / (run.overload.durationMs / 1000);
  // With few refusals the subtraction is all noise: the figure is for a run that refused much.
  if (peakPercent <= 0 || run.peak.acceptedPerSec <= 0 || refusedPerSec < run.overload.acceptedPerSec / 2) return null;
  const perAccept = microsPerEvent(peakPercent, run.peak.acceptedPerSec);
  return Math.max(0, ((overloadPercent / 100) * 1e6 - run.overload.acceptedPerSec * perAccept) / refusedPerSec);
}

function floorLines(floor: RefusalFloor | undefined, results: readonly RunResult[], cores: number): string[] {
  if (floor === undefined) return [];
  const accepts = results.flatMap((r) => {
    const ceiling = r.shedding ? goodputCeiling(r, floor, cores) : null;
    return ceiling === null ? [] : [`${r.transport} ${r.load} ×${r.ingressProcesses} ${ceiling.microsPerAccept.toFixed(0)} µs`];
  });
  const ingressRefusals = results.flatMap((r) => {
    const cost = r.shedding ? ingressMicrosPerRefusal(r) : null;
    return cost === null ? [] : [`${r.transport} ${r.load} ×${r.ingressProcesses} ${cost.toFixed(0)} µs`];
  });
  const floorServerMicros = microsPerEvent(floor.cpu.server ?? 0, floor.refusedPerSec);
  return [
    `Refusal floor, same run: \`bench/static-tls-server.ts --refusal\` (bare \`node:https\`, client certificate asked, the hub's own 503 bytes) under the same client, open loop at ${floor.offeredPerSec.toFixed(0)}/s: ` +
      `${floor.refusedPerSec.toFixed(0)} refusals/s, p50 / p99 / max ${floor.refused.p50Ms.toFixed(1)} / ${floor.refused.p99Ms.toFixed(1)} / ${floor.refused.maxMs.toFixed(0)} ms, ${floor.other} other answers or errors; ` +
      `**${floor.cpuMicrosPerRefusal.toFixed(0)} µs of CPU per refusal** (server ${(floor.cpu.server ?? 0).toFixed(0)} %, load generator ${(floor.cpu['load generator'] ?? 0).toFixed(0)} %; the kernel's share left out). ` +
      `CPU per accepted upload in each run's peak phase, every process: ${accepts.join(', ')}. ` +
      '"Best possible at the refusal floor" is the share of the peak a hub could keep if each of its refusals cost only that floor and each accept what it cost at the peak: ' +
      `accepting G of the O offered per second needs G·accept + (O − G)·refusal ≤ ${cores} cores. Where the peak already keeps the cores busy, holding ${TARGETS.goodputShare * 100} % of it at 2 × peak needs a refusal to cost at most 1/11 of an accepted upload. ` +
      `The ingress process alone, per refusal (its overload CPU less its accepts at what each cost it at the peak): ${ingressRefusals.join(', ')}, against ${floorServerMicros.toFixed(0)} µs for the bare server. ` +
      'The ingress is one event loop: it stays the bottleneck while the machine still has CPU to spare, so its own share of a refusal decides how much of its core is left for accepts.',
  ];
}

function hubRefusalLines(hub: RefusalFloor | undefined): string[] {
  if (hub === undefined) return [];
  const serverMicros = microsPerEvent(hub.cpu.server ?? 0, hub.refusedPerSec);
  return [
    `The hub's own refusal, same run: \`proxyhub start --role ingress\` alone, shedding every upload (\`PROXYHUB_MAX_EVENT_LOOP_DELAY_MS=1\`), under the same client at ${hub.offeredPerSec.toFixed(0)}/s: ` +
      `${hub.refusedPerSec.toFixed(0)} refusals/s, ${hub.accepted} uploads accepted in the measured phase${hub.accepted > 0 ? ' (**shedding stopped meanwhile: their CPU is counted as refusals\' and the figure is high**)' : ''}, ${hub.other} other answers or errors; p50 / p99 / max ${hub.refused.p50Ms.toFixed(1)} / ${hub.refused.p99Ms.toFixed(1)} / ${hub.refused.maxMs.toFixed(0)} ms; ` +
      `**${serverMicros.toFixed(0)} µs of the ingress's CPU per refusal** (server ${(hub.cpu.server ?? 0).toFixed(0)} %, load generator ${(hub.cpu['load generator'] ?? 0).toFixed(0)} %). ` +
      'The same client opened the same connections; what differs from the overload runs is that this loop does nothing but refuse, on a machine it shares only with the load generator.',
  ];
}

/** Columns of the CPU table: the processes a reader asks about, the other roles' children summed. */
const CPU_COLUMNS = ['ingress', 'control', 'worker:facts', 'other workers', 'broker', 'foreman', 'load generator'] as const;

function cpuTable(results: readonly RunResult[]): string[] {
  const cell = (percent: Readonly<Record<string, number>>, column: (typeof CPU_COLUMNS)[number]): number =>
    column === 'other workers' ? Object.entries(percent).filter(([name]) => name.startsWith('worker:') && name !== 'worker:facts').reduce((sum, [, value]) => sum + value, 0) : roleCpu(percent, column);
  const rows = results.flatMap((r) =>
    (['peak', 'overload'] as const).map((phase) => {
      const percent = r.cpu[phase];
      const total = CPU_COLUMNS.reduce((sum, column) => sum + cell(percent, column), 0);
      return `| ${r.transport} ${r.load} ×${r.ingressProcesses}${r.shedding ? '' : ' (shedding off)'} | ${phase} | ${CPU_COLUMNS.map((column) => cell(percent, column).toFixed(0)).join(' | ')} | ${total.toFixed(0)} |`;
    }),
  );
  return [
    'CPU, % of one core (200 % = both cores), in the peak and in the overload phase:',
    '',
    `| run | phase | ${CPU_COLUMNS.join(' | ')} | all |`,
    `|---|---|${CPU_COLUMNS.map(() => '---:').join('|')}|---:|`,
    ...rows,
  ];
}

/**
 * The ingress's event loop by phase: how often it turned and how many requests each turn took.
 * A request that arrives just after a turn began waits for the whole turn before it is even read.
 */
function loopTable(results: readonly RunResult[]): string[] {
  const cells = (stats: LoopStats | null): string =>
    stats === null ? '— | — | — | — | —' : `${stats.turnsPerSec.toFixed(0)} | ${stats.requestsPerTurn.toFixed(1)} | ${stats.meanTurnMs.toFixed(1)} | ${stats.p99TurnMs.toFixed(1)} | ${stats.maxTurnMs.toFixed(0)}`;
  const rows = results.flatMap((r) =>
    (['peak', 'overload'] as const).map((phase) => `| ${r.transport} ${r.load} ×${r.ingressProcesses}${r.shedding ? '' : ' (shedding off)'} | ${phase} | ${cells(r.loop[phase])} |`),
  );
  return [
    "The ingress's event loop (bench/lib/loop-trace.mjs, in every ingress process of the runs above): a turn is one pass of the loop that handled requests, from the first request it handed to a handler to its check phase, so its length is a lower bound of what a request arriving just after it began waits before it is read. Per ingress process; the p99 of a second with fewer than 100 turns is its slowest turn:",
    '',
    '| run | phase | turns/s | requests per turn | mean turn ms | p99 turn ms (median second) | longest turn ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}

/** `overload-<transport>-<load>[-<n>proc][-unshed].svg`: one ingress process keeps the names of before. */
function chartName(r: RunSpec): string {
  return `overload-${r.transport}-${r.load}${r.ingressProcesses === 1 ? '' : `-${r.ingressProcesses}proc`}${r.shedding ? '' : '-unshed'}.svg`;
}

function chart(r: RunResult): string {
  const t = r.timeline;
  const perSec = (count: number): number => (count * 1000) / t.bucketMs;
  const points = (column: 0 | 1): Array<[number, number]> => t.buckets.map((b, i) => [((i + 0.5) * t.bucketMs) / 1000, perSec(b[column])]);
  return renderTimeline(
    `${runLabel(r)}: overload at 2 × peak`,
    [
      { label: '202 / s', color: '#2980b9', points: points(0) },
      { label: '503 / s', color: '#e67e22', points: points(1) },
    ],
    t.phases.map((p) => ({ atSec: p.startMs / 1000, label: p.name })),
    [
      { value: r.peak.acceptedPerSec, label: 'peak', color: '#34495e' },
      { value: r.peak.acceptedPerSec * TARGETS.goodputShare, label: '90 % of peak', color: '#c0392b' },
    ],
  );
}

export async function runOverloadBench(options: OverloadOptions): Promise<void> {
  const machine = await machineInfo(options.amqpUrl);
  const busyBefore = await machineBusyOver(1000);
  log(`overload benchmark: transports ${options.transports.join(', ')}; machine ${busyBefore.toFixed(0)} % busy`);
  const pki = createTestPki();
  const foreman = await startTestForeman();
  const results: RunResult[] = [];
  let floor: RefusalFloor | undefined;
  let hubRefusals: RefusalFloor | undefined;
  try {
    const files = { ca: pki.caCert, cert: pki.server.cert, key: pki.server.key, host: pki.client(HOST) };
    const runs: RunSpec[] = [
      ...options.ingressProcesses.flatMap((ingressProcesses) => options.transports.flatMap((transport) => options.loads.map((load): RunSpec => ({ transport, load, shedding: true, ingressProcesses })))),
      ...(options.loads.includes('open') ? [{ transport: 'amqp091', load: 'open', shedding: false, ingressProcesses: options.ingressProcesses[0] ?? 1 } satisfies RunSpec] : []),
    ];
    for (const [index, run] of runs.entries()) {
      log(`run ${index + 1} of ${runs.length}`);
      results.push(await measure(options, run, foreman, files));
    }
    const offered = Math.max(...results.map((r) => r.overload.offeredPerSec ?? 0));
    if (offered > 0) {
      floor = await measureRefusalFloor(options, files, offered);
      hubRefusals = await measureHubRefusals(options, files, offered);
    }
  } finally {
    await foreman.stop();
    pki.remove();
  }
  const date = new Date().toISOString();
  const text = markdown(results, options, busyBefore, date, floor, hubRefusals, machine.cores);
  for (const r of results) await writeFile(join(RESULTS, chartName(r)), chart(r));
  const slim = results.map(({ timeline, ...rest }) => ({ ...rest, buckets: timeline.buckets, connectionsOpened: timeline.connectionsOpened }));
  await writeFile(join(RESULTS, 'overload.json'), `${JSON.stringify({ benchmark: 'overload', date, machine, machineBusyBeforePercent: busyBefore, options, targets: TARGETS, results: slim, refusalFloor: floor ?? null, hubRefusals: hubRefusals ?? null })}\n`);
  await writeFile(join(RESULTS, 'overload.md'), text);
  process.stdout.write(`\n${text}`);
}
