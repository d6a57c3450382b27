/** Turns the results into bench/results/ingress[-<transport>].{json,md,svg}; the markdown is also printed. */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderChart } from './svg-chart.ts';
import type { IngressBenchResults, ScenarioResult } from './types.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const num = (n: number): string => Math.round(n).toLocaleString('en-US');
// autocannon counts whole milliseconds (its 0 means "under 1 ms"); raw's are measured finer.
function ms(n: number | null): string {
  if (n === null) return '—';
  if (n === 0) return '<1';
  return Number.isInteger(n) || n >= 10 ? n.toFixed(0) : n.toFixed(1);
}
const pct = (n: number | null): string => (n === null ? '—' : `${n.toFixed(0)} %`);
const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');

function scenarioRow(s: ScenarioResult, limit: number): string {
  const rss = s.rssPeakMiB === null ? '—' : s.rssPeakMiB.toFixed(0);
  const versus = limit > 0 ? `${(s.rate / limit).toFixed(2)}×` : '—';
  return `| ${s.scenario} | ${s.transport ?? '—'} | ${num(s.rate)} ${s.unit} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${rss} | ${versus} |`;
}

interface CpuPerUpload {
  readonly server: number;
  readonly broker: number;
  readonly client: number;
  readonly kernel: number;
}

/** µs of each process's CPU per answered upload, from a scenario's CPU shares and its rate. */
function cpuPerUpload(scenario: ScenarioResult): CpuPerUpload | null {
  const { cpu } = scenario;
  if (cpu === null || cpu.server === null || cpu.broker === null || cpu.client === null || scenario.rate <= 0) return null;
  const perUpload = (percent: number): number => (percent / 100 / scenario.rate) * 1e6;
  return { server: perUpload(cpu.server), broker: perUpload(cpu.broker), client: perUpload(cpu.client), kernel: perUpload(Math.max(0, cpu.unaccounted)) };
}

/**
 * Where each accepted upload's CPU goes, and the rate the machine's cores would allow if they
 * did nothing else: on a shared box the hub, the broker and the load generator take turns on
 * the same cores, so the hub's share of `limit` is bounded by this, not by the hub alone.
 */
function cpuBudget(hub: ScenarioResult, cores: number, label = 'hub'): string | null {
  const cost = cpuPerUpload(hub);
  if (cost === null) return null;
  const { server, broker, client, kernel } = cost;
  const total = server + broker + client + kernel;
  const ceiling = (cores * 1e6) / total;
  return (
    `- CPU per accepted upload (${label}): server ${server.toFixed(0)} µs, broker ${broker.toFixed(0)} µs, load generator ${client.toFixed(0)} µs, kernel and other ${kernel.toFixed(0)} µs: ` +
    `${total.toFixed(0)} µs, so ${cores} cores doing nothing else top out near ${num(ceiling)} uploads/s on this box (the ${label} reached ${((hub.rate / ceiling) * 100).toFixed(0)} % of that).`
  );
}

/**
 * How much server CPU the throughput bar leaves per upload on this machine: at the bar's rate
 * the cores, busy all the time, give each upload cores/rate of CPU, and the broker, the load
 * generator and the kernel take their part of it first. Their parts are taken from `reference`
 * (the naive handler where there is one: the cheapest broker side measured), so the budget is
 * the most generous the run supports. A server that needs more cannot reach the bar here,
 * however its work is scheduled.
 */
function throughputBarBudget(barRate: number, cores: number, reference: ScenarioResult, hub: ScenarioResult, referenceLabel: string): string | null {
  const around = cpuPerUpload(reference);
  const hubCost = cpuPerUpload(hub);
  if (around === null || hubCost === null || barRate <= 0) return null;
  const perUpload = (cores * 1e6) / barRate;
  const taken = around.broker + around.client + around.kernel;
  const left = perUpload - taken;
  const naive = reference === hub ? null : around;
  const needs = naive === null ? `the hub needed ${hubCost.server.toFixed(0)} µs` : `the ${referenceLabel} needed ${naive.server.toFixed(0)} µs and the hub ${hubCost.server.toFixed(0)} µs`;
  const figures =
    `at ${num(barRate)} uploads/s ${cores} cores give each upload ${perUpload.toFixed(0)} µs, of which the broker, the load generator and the kernel took ${taken.toFixed(0)} µs ` +
    `(the ${referenceLabel}'s run), leaving the server at most ${Math.max(0, left).toFixed(0)} µs with every core busy all the time; ${needs}`;
  if (naive !== null && naive.server > left) {
    return `- Throughput bar against the machine: ${figures}. Not even the ${referenceLabel}'s work (node:http, JSON.parse, an amqplib publish) fits: at the costs measured in this run, no ingress doing that much per upload can reach the bar on this machine.`;
  }
  return hubCost.server > left
    ? `- Throughput bar against the machine: ${figures}. At the costs measured in this run, the hub's work per upload does not fit the bar on this machine: it needs less CPU per upload, not more cores of its own.`
    : `- Throughput bar against the machine: ${figures}. The hub's work fits that budget, which only bounds the rate from above: with the machine ${pct(hub.cpu?.machineBusy ?? null)} busy in the hub's run, what is missing is keeping the cores busy (each of the clients waits for its confirm), not less work.`;
}

/**
 * What the broker alone, at the throughput bar's rate, says of the p99 bar. Its latency only
 * counts if it kept pace: behind, publish → confirm stays short while the due publishes queue.
 */
function pacedVerdict(paced: ScenarioResult, barRate: number, p99Bar: number): string {
  const behind = Number(paced.details.dueBehind ?? 0);
  const waited = Number(paced.details.dueWaitP99Ms ?? 0);
  const figures = `raw-paced: ${num(paced.rate)} of ${num(barRate)} msg/s due, publish → confirm p99 ${ms(paced.p99Ms)} ms, p99 wait for a slot of the window ${ms(waited)} ms (of those sent), ${behind} still due at the end; no HTTP`;
  // Short of the rate over the measured run: the broker did not keep up at all.
  if (paced.rate < barRate * 0.98) {
    return `- At the throughput bar's rate the broker alone fell behind (${figures}): no ingress that answers after the confirm could reach that rate with these clients on this machine in this run.`;
  }
  // Publishes that waited for the window mean the broker was at its edge, whatever its p99.
  const edge = waited > p99Bar ? ' It kept the rate only at its edge: publishes waited for the window.' : '';
  return (paced.p99Ms ?? Infinity) <= p99Bar
    ? `- At the throughput bar's rate the broker alone kept the rate and confirmed within the ${p99Bar} ms p99 bar (${figures}): the broker alone does not rule the bar out here.${edge}`
    : `- At the throughput bar's rate the broker alone kept the rate but confirmed above the ${p99Bar} ms p99 bar (${figures}): no ingress that answers after the confirm could meet it on this machine in this run.${edge}`;
}

export function renderMarkdown(results: IngressBenchResults): string {
  const { machine, settings, targets } = results;
  const byName = (name: string): ScenarioResult | undefined => results.scenarios.find((s) => s.scenario === name);
  const limit = byName('limit')?.rate ?? 0;
  const hub = byName('hub');
  const lines = [
    `## Ingress benchmark (${results.date})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'unknown'}. ` +
      `Load: autocannon, ${settings.connections} keep-alive connections, no pipelining, ${settings.warmupSec} s warm-up + ${settings.durationSec} s measured; ` +
      `payload ${settings.payloadBytes} B JSON (${settings.messageBytes} B on the broker); raw window ${settings.rawWindow} unconfirmed. ` +
      'Client, server and broker share the machine.',
    '',
    '| scenario | transport | rate/s | p50 ms | p99 ms | RSS MiB | vs limit |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...results.scenarios.map((s) => scenarioRow(s, limit)),
    '',
    '| scenario | CPU server | CPU broker | CPU load generator | CPU unaccounted | machine busy |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.scenarios.map((s) => (s.cpu === null ? '' : `| ${s.scenario} | ${pct(s.cpu.server)} | ${pct(s.cpu.broker)} | ${pct(s.cpu.client)} | ${pct(s.cpu.unaccounted)} | ${pct(s.cpu.machineBusy)} |`)).filter(Boolean),
    '',
    'Notes:',
    '- raw: confirmed publishes/s; its p50/p99 are publish → confirm with the whole window in flight, not an HTTP latency. ' +
      'raw-matched: the same with only one unconfirmed message per HTTP connection: the ceiling for any ingress that answers after the confirm with that many clients. ' +
      'raw-paced (AMQP 0-9-1 runs): the same window, publishes due at the throughput bar\'s rate (0.85 × limit): publish → confirm is the broker\'s own latency at that rate. ' +
      'noop: `node:http` reading the body and answering 202 `{"id"}`. limit = 1 / (1/raw + 1/noop). ' +
      'naive (AMQP 0-9-1 runs): what a user would otherwise write, bench/naive-ingress-server.ts: `node:http`, `JSON.parse`, one amqplib ConfirmChannel, 202 on the confirm; no framework, validation, identity, metrics or shedding. ' +
      'hub: 202 answers/s of `proxyhub start --role ingress` (compiled build, launch flags of `npm start`).',
    '- CPU is % of one core over the measured window (200 % = both cores); machine busy is % of all cores. The raw scenario\'s load generator is the publisher itself. ' +
      'Unaccounted = kernel work outside these processes (loopback TCP) plus anything else running; a large value means a disturbed run.',
    '- RSS: peak VmRSS of the server process over the measured window, sampled every 200 ms. noop runs through tsx\'s loader thread; the hub runs its compiled build.',
  ];
  if (hub !== undefined && limit > 0) {
    lines.push(
      `- Targets: hub ≥ ${targets.hubVsLimit} × limit (${num(limit * targets.hubVsLimit)}/s): ${mark(hub.rate >= limit * targets.hubVsLimit)}; ` +
        `p99 ≤ ${targets.p99Ms} ms: ${mark((hub.p99Ms ?? Infinity) <= targets.p99Ms)}; RSS ≤ ${targets.rssMiB} MiB: ${mark((hub.rssPeakMiB ?? Infinity) <= targets.rssMiB)}.`,
    );
    const paced = byName('raw-paced');
    if (paced !== undefined && paced.p99Ms !== null) lines.push(pacedVerdict(paced, limit * targets.hubVsLimit, targets.p99Ms));
    const naive = byName('naive');
    if (naive !== undefined) {
      lines.push(
        `- The naive handler reached ${(naive.rate / limit).toFixed(2)} × limit (p99 ${ms(naive.p99Ms)} ms, RSS ${naive.rssPeakMiB?.toFixed(0) ?? '—'} MiB) ` +
          `with nothing but parse and publish; the hub reached ${(hub.rate / naive.rate).toFixed(2)} × the naive handler's rate.`,
      );
      const naiveBudget = cpuBudget(naive, results.machine.cores, 'naive handler');
      if (naiveBudget !== null) lines.push(naiveBudget);
    }
    const budget = cpuBudget(hub, results.machine.cores);
    if (budget !== null) lines.push(budget);
    const barBudget = throughputBarBudget(limit * targets.hubVsLimit, results.machine.cores, naive ?? hub, hub, naive === undefined ? 'hub' : 'naive handler');
    if (barBudget !== null) lines.push(barBudget);
    const d = hub.details;
    lines.push(`- hub counts: ${d.accepted} accepted, ${d.non2xx} non-2xx, ${d.errors} errors, ${d.timeouts} timeouts; facts queue held ${d.factsQueued} after warm-up + run.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `<name>.json`, `<name>.md` and `<name>.svg` to bench/results/, for any benchmark. */
export async function writeResultFiles(name: string, results: unknown, markdown: string, svg: string): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const files = ['json', 'md', 'svg'].map((extension) => `${RESULTS_DIR}${name}.${extension}`);
  const [json, md, chart] = files as [string, string, string];
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(md, markdown);
  await writeFile(chart, svg);
  return { markdown, files };
}

export function writeResults(results: IngressBenchResults): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  const svg = renderChart(results.scenarios, `proxyhub ingress, ${results.machine.cores} cores, ${results.settings.durationSec} s (${results.date.slice(0, 10)})`, results.targets.hubVsLimit);
  // One file set per transport, so the AMQP 1.0 run sits beside the 0-9-1 one instead of over it.
  const name = results.settings.transport === 'amqp091' ? 'ingress' : `ingress-${results.settings.transport}`;
  return writeResultFiles(name, results, renderMarkdown(results), svg);
}
