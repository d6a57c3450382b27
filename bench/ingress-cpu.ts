/**
 * `npm run bench -- ingress-cpu`: the CPU an accepted facts upload costs the hub's ingress and the
 * broker, beside the naive handler (bench/naive-ingress-server.ts), at one fixed offered rate that
 * both carry with room to spare. Throughput at saturation (the `ingress` benchmark) moves by 20 %
 * or more from minute to minute on a shared 2-core machine; the CPU per upload at a rate below
 * saturation moves less, and the two servers are run in alternating rounds (the order turned
 * round each time), so that a drift of the machine falls on both. The paired ratio of each round
 * is the figure to compare code changes by.
 *
 * Each scenario gets a throw-away prefix whose facts queue is purged every second (the broker's
 * cost per message must not grow with a backlog), a warm-up at the rate, then the measured run;
 * the CPU of the server process (every thread) and of the broker is read from /proc at the start
 * and the end of it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coerceError } from '../contracts/errors.ts';
import { createTopology } from '../contracts/topology.ts';
import { benchPrefix } from './lib/prefix.ts';
import { declareBenchTopology, removeBenchTopology, startPurging } from './lib/broker.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { buildFactsUpload } from './lib/payload.ts';
import { createPhaseLog, type PhaseLog } from './lib/phase-log.ts';
import { cpuSecondsOf, findBrokerPid, waitUntilIdle } from './lib/proc-stats.ts';
import { writeResultFiles } from './lib/report.ts';
import { measuredIngressSettings, settingsFromEnvironment, startHubIngress, startNaiveIngress, type ServerProcess } from './lib/servers.ts';
import { median } from './lib/stats.ts';
import { renderBars, type Bar } from './lib/svg-bars.ts';
import type { MachineInfo, Transport } from './lib/types.ts';

export interface IngressCpuOptions {
  readonly amqpUrl: string;
  /** The hub's transport; the naive handler is AMQP 0-9-1 either way (what a user would write). */
  readonly transport: Transport;
  readonly ratePerSec: number;
  readonly rounds: number;
  readonly connections: number;
  readonly warmupSec: number;
  readonly durationSec: number;
}

type Server = 'naive' | 'hub';

interface Sample {
  readonly round: number;
  readonly server: Server;
  readonly acceptedPerSec: number;
  readonly serverMicros: number;
  /** null when the broker's process is not on this machine. */
  readonly brokerMicros: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly notAccepted: number;
}

interface IngressCpuResults {
  readonly benchmark: 'ingress-cpu';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: Omit<IngressCpuOptions, 'amqpUrl'> & { readonly payloadBytes: number; readonly hubSettings: Readonly<Record<string, string>> };
  readonly samples: readonly Sample[];
  readonly summary: Readonly<Record<Server, { readonly serverMicros: number; readonly brokerMicros: number | null }>> & { readonly hubOverNaive: number; readonly hubOverNaiveRange: readonly [number, number] };
}

/** Every step of a clean-up, each in turn whatever the others did; the first failure is thrown after. */
async function cleanUp(steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const results = [];
  for (const step of steps) results.push(await Promise.resolve().then(step).then(() => undefined, (error: unknown) => error));
  const failure = results.find((error) => error !== undefined);
  if (failure !== undefined) throw coerceError(failure);
}

/** One server under the fixed rate: its CPU and the broker's per accepted upload over the measured run. */
async function measure(server: Server, round: number, options: IngressCpuOptions, bodyFile: string, brokerPid: number | null, log: PhaseLog): Promise<Sample> {
  const prefix = benchPrefix();
  const topology = createTopology(prefix);
  let serving: ServerProcess | undefined;
  let purging: Awaited<ReturnType<typeof startPurging>> | undefined;
  try {
    await declareBenchTopology(options.amqpUrl, prefix);
    purging = await startPurging(options.amqpUrl, topology.workQueue('facts'));
    serving =
      server === 'naive'
        ? await startNaiveIngress(options.amqpUrl, topology.eventsExchange)
        : await startHubIngress(prefix, options.amqpUrl, measuredIngressSettings(options.transport));
    const pid = serving.pid;
    let start: { server: number | null; broker: number | null } | undefined;
    log(`round ${round} ${server}: ${options.ratePerSec}/s over ${options.connections} connections, ${options.warmupSec} s warm-up + ${options.durationSec} s measured`);
    const load: LoadResult = await runLoad(
      { url: `${serving.url}/api/v2/hosts/facts`, bodyFile, connections: options.connections, overallRate: options.ratePerSec, warmupSec: options.warmupSec, durationSec: options.durationSec },
      () => {
        start = { server: cpuSecondsOf(pid), broker: brokerPid === null ? null : cpuSecondsOf(brokerPid) };
      },
    );
    const serverNow = cpuSecondsOf(pid);
    if (start?.server === null || start?.server === undefined || serverNow === null) throw new Error(`round ${round} ${server}: no CPU reading of the server (the measured run never started, or the server exited)`);
    const brokerNow = brokerPid === null ? null : cpuSecondsOf(brokerPid);
    const brokerSeconds = brokerNow === null || start.broker === null ? null : brokerNow - start.broker;
    if (load.accepted === 0) throw new Error(`round ${round} ${server}: no upload was accepted (${load.non2xx} other answers, ${load.errors} errors)`);
    const sample: Sample = {
      round,
      server,
      acceptedPerSec: load.acceptedPerSec,
      serverMicros: ((serverNow - start.server) * 1e6) / load.accepted,
      brokerMicros: brokerSeconds === null ? null : (brokerSeconds * 1e6) / load.accepted,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      notAccepted: load.non2xx + load.errors + load.timeouts,
    };
    log(
      `round ${round} ${server}: ${sample.acceptedPerSec.toFixed(0)} accepted/s, server ${sample.serverMicros.toFixed(0)} µs and broker ${sample.brokerMicros?.toFixed(0) ?? '—'} µs per upload, ` +
        `p50 ${sample.p50Ms} / p99 ${sample.p99Ms} ms, ${sample.notAccepted} not accepted`,
    );
    return sample;
  } finally {
    // The queues go whatever else failed: a shared broker must not keep a benchmark's quorum queues.
    await cleanUp([() => serving?.stop() ?? Promise.resolve(), () => purging?.stop() ?? Promise.resolve(), () => removeBenchTopology(options.amqpUrl, prefix)]);
  }
}

function renderMarkdown(results: IngressCpuResults): string {
  const { machine, settings, summary } = results;
  const us = (value: number | null): string => (value === null ? '—' : value.toFixed(0));
  const rows = results.samples.map((s) => `| ${s.round} | ${s.server} | ${s.acceptedPerSec.toFixed(0)} | ${us(s.serverMicros)} | ${us(s.brokerMicros)} | ${s.p50Ms} / ${s.p99Ms} | ${s.notAccepted} |`);
  const hubSettings = Object.keys(settings.hubSettings).length === 0 ? 'none' : `\`${JSON.stringify(settings.hubSettings)}\``;
  return [
    `## Ingress CPU per upload at a fixed rate (${results.date})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'unknown'}. ` +
      `Open loop at ${settings.ratePerSec} facts uploads/s (${settings.payloadBytes} B) over ${settings.connections} keep-alive connections, ${settings.warmupSec} s warm-up + ${settings.durationSec} s measured, ` +
      `${settings.rounds} rounds alternating the two servers. The hub: \`proxyhub start --role ingress\` over ${settings.transport}, extra settings ${hubSettings}; the naive handler: bench/naive-ingress-server.ts over AMQP 0-9-1.`,
    '',
    '| round | server | accepted/s | server µs per upload | broker µs per upload | p50 / p99 ms | not accepted |',
    '|---:|---|---:|---:|---:|---|---:|',
    ...rows,
    '',
    '| | server µs per upload (median) | broker µs per upload (median) |',
    '|---|---:|---:|',
    `| naive handler | ${us(summary.naive.serverMicros)} | ${us(summary.naive.brokerMicros)} |`,
    `| hub | ${us(summary.hub.serverMicros)} | ${us(summary.hub.brokerMicros)} |`,
    '',
    `The hub's server CPU per upload is **${summary.hubOverNaive.toFixed(2)} ×** the naive handler's (median of the rounds' paired ratios; ${summary.hubOverNaiveRange[0].toFixed(2)}–${summary.hubOverNaiveRange[1].toFixed(2)} ×).`,
    'CPU is user + system time of every thread of the process, from /proc, over the measured run, divided by the uploads answered 202 in it. The broker is the RabbitMQ node on this machine; the kernel\'s loopback work outside both is not counted.',
    '',
  ].join('\n');
}

function renderChart(results: IngressCpuResults): string {
  const bars: Bar[] = [
    { label: 'naive handler', sublabel: 'server', value: results.summary.naive.serverMicros, color: '#7f8c8d' },
    { label: 'hub', sublabel: `server (${results.settings.transport})`, value: results.summary.hub.serverMicros, color: '#2980b9' },
  ];
  const naiveBroker = results.summary.naive.brokerMicros;
  const hubBroker = results.summary.hub.brokerMicros;
  if (naiveBroker !== null) bars.push({ label: 'naive handler', sublabel: 'broker', value: naiveBroker, color: '#bdc3c7' });
  if (hubBroker !== null) bars.push({ label: 'hub', sublabel: 'broker', value: hubBroker, color: '#85c1e9' });
  return renderBars(`CPU µs per accepted upload at ${results.settings.ratePerSec}/s, median of ${results.settings.rounds} rounds (${results.date.slice(0, 10)})`, bars, [], ' µs');
}

export async function runIngressCpuBench(options: IngressCpuOptions): Promise<void> {
  const log = createPhaseLog();
  measuredIngressSettings(options.transport); // a BENCH_HUB_SETTINGS that clashes is refused before the first round
  log(`ingress-cpu benchmark: ${options.rounds} rounds of the naive handler and the hub (${options.transport}) at ${options.ratePerSec} uploads/s`);
  const machine = await machineInfo(options.amqpUrl);
  const brokerPid = findBrokerPid();
  if (brokerPid === null) log('broker process not found on this machine; its CPU is not reported');
  const { json } = buildFactsUpload();
  const workDir = await mkdtemp(join(tmpdir(), 'proxyhub-bench-'));
  const bodyFile = join(workDir, 'facts.json');
  await writeFile(bodyFile, json);
  const samples: Sample[] = [];
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      // Turned round each time, so that neither server always runs on the warmer broker.
      const order: readonly Server[] = round % 2 === 1 ? ['naive', 'hub'] : ['hub', 'naive'];
      for (const server of order) {
        samples.push(await measure(server, round, options, bodyFile, brokerPid, log));
        if (brokerPid !== null) await waitUntilIdle(brokerPid);
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const of = (server: Server): Sample[] => samples.filter((s) => s.server === server);
  const brokerMedian = (server: Server): number | null => {
    const values = of(server).flatMap((s) => (s.brokerMicros === null ? [] : [s.brokerMicros]));
    return values.length === 0 ? null : median(values);
  };
  const ratios = Array.from({ length: options.rounds }, (_, i) => {
    const [naive, hub] = [of('naive')[i], of('hub')[i]];
    return naive && hub ? hub.serverMicros / naive.serverMicros : 0;
  });
  const { amqpUrl: _url, ...settings } = options;
  const results: IngressCpuResults = {
    benchmark: 'ingress-cpu',
    date: new Date().toISOString(),
    machine,
    settings: { ...settings, payloadBytes: json.length, hubSettings: settingsFromEnvironment() },
    samples,
    summary: {
      naive: { serverMicros: median(of('naive').map((s) => s.serverMicros)), brokerMicros: brokerMedian('naive') },
      hub: { serverMicros: median(of('hub').map((s) => s.serverMicros)), brokerMicros: brokerMedian('hub') },
      hubOverNaive: median(ratios),
      hubOverNaiveRange: [Math.min(...ratios), Math.max(...ratios)],
    },
  };
  const name = options.transport === 'amqp091' ? 'ingress-cpu' : `ingress-cpu-${options.transport}`;
  const { markdown, files } = await writeResultFiles(name, results, renderMarkdown(results), renderChart(results));
  log(`wrote ${files.join(', ')}`);
  process.stdout.write(`\n${markdown}`);
}
