/**
 * The soak's figures (bench/soak.ts): RSS drift per process after the warm-up, 202/s and p99 per
 * kind per minute, accepted against delivered; written to bench/results/soak.{md,json} and drawn
 * in soak-rss.svg, soak-throughput.svg, soak-p99.svg and soak-p99-rex.svg.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeliveryCounts } from '../foreman-server.ts';
import { renderTimeline, type TimeMarker, type TimeSeries } from './svg-timeline.ts';
import { percentile } from './stats.ts';
import type { MachineInfo } from './types.ts';

export type { DeliveryCounts };
export type SoakKind = 'facts' | 'reports-ansible' | 'reports-puppet' | 'arf' | 'rex';
const KINDS: readonly SoakKind[] = ['facts', 'reports-ansible', 'reports-puppet', 'arf', 'rex'];
const UPLOAD_KINDS = KINDS.filter((k) => k !== 'rex');

/** What one kind did in one sample interval. For `rex`: jobs the hosts finished, latency launch → finished. */
export interface KindInterval {
  accepted: number;
  /** Answers other than 202, and requests that got no answer. */
  other: number;
  latenciesMs: number[];
  /** `other` by status (`503`, `no answer`; for REX the step that failed, `fetch 404`). */
  notAccepted: Record<string, number>;
}

export interface SoakSample {
  /** Seconds since the load started. */
  readonly atSec: number;
  /** Since the previous sample (5 s unless the bench's own loop was held up). */
  readonly durationSec: number;
  readonly phase: 'load' | 'drain';
  readonly rssMiB: Readonly<Record<string, number>>;
  readonly kinds: Readonly<Record<SoakKind, KindInterval>>;
  /** Cumulative, as the stand-in Foreman counted them. */
  readonly delivered: DeliveryCounts;
  readonly rex: { readonly launched: number; readonly launchFailures: number; readonly finished: number; readonly hostErrors: number; readonly hostRetries: number };
  readonly loadAverage: number;
}

export interface SoakRun {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly machineBusyBeforePercent: number;
  readonly loadAverageBefore: number;
  readonly settings: {
    readonly minutes: number;
    readonly warmupMinutes: number;
    readonly sampleSec: number;
    readonly uploads: Readonly<Record<string, { readonly ratePerSec: number; readonly connections: number }>>;
    readonly rex: { readonly jobsPerLaunch: number; readonly launchEveryMs: number; readonly hosts: number; readonly attempts: number; readonly retryAfterMs: number };
    readonly processes: readonly string[];
    readonly clusterNodes: number;
  };
  readonly samples: readonly SoakSample[];
  readonly queuesAfterDrain: Readonly<Record<string, number | null>>;
}

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
/** The issue's bar: RSS of every process within 10 % after the warm-up. */
export const RSS_DRIFT_LIMIT_PERCENT = 10;

interface RssRow {
  readonly process: string;
  readonly startMiB: number;
  readonly firstMiB: number;
  readonly lastMiB: number;
  readonly maxMiB: number;
  /** Mean over the first window after the warm-up, and over the last window of the load. */
  readonly firstWindowMiB: number;
  readonly lastWindowMiB: number;
  readonly driftPercent: number;
}

interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function latency(values: readonly number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? Number.NaN };
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * Drift compares means over a window (a minute, or a quarter of what follows the warm-up when the
 * run is short) at both ends: the garbage collector's saw-tooth averages out, growth does not.
 */
function rssRows(run: SoakRun): { rows: RssRow[]; windowSec: number; rates: Record<SoakKind, { first: number; last: number }> } {
  const load = run.samples.filter((s) => s.phase === 'load');
  const warmupSec = run.settings.warmupMinutes * 60;
  const after = load.filter((s) => s.atSec >= warmupSec);
  const endSec = after.at(-1)?.atSec ?? warmupSec;
  const windowSec = Math.min(60, Math.max(run.settings.sampleSec, (endSec - warmupSec) / 4));
  const rows = run.settings.processes.map((process): RssRow => {
    const rss = (samples: readonly SoakSample[]): number[] => samples.map((s) => s.rssMiB[process] ?? Number.NaN).filter(Number.isFinite);
    const firstWindow = rss(after.filter((s) => s.atSec < warmupSec + windowSec));
    const lastWindow = rss(after.filter((s) => s.atSec > endSec - windowSec));
    const all = rss(after);
    const firstWindowMiB = mean(firstWindow);
    const lastWindowMiB = mean(lastWindow);
    return {
      process,
      startMiB: rss(load)[0] ?? Number.NaN,
      firstMiB: all[0] ?? Number.NaN,
      lastMiB: all.at(-1) ?? Number.NaN,
      maxMiB: Math.max(...all),
      firstWindowMiB,
      lastWindowMiB,
      driftPercent: ((lastWindowMiB - firstWindowMiB) / firstWindowMiB) * 100,
    };
  });
  const rate = (kind: SoakKind, samples: readonly SoakSample[]): number => samples.reduce((sum, x) => sum + x.kinds[kind].accepted, 0) / samples.reduce((sum, x) => sum + x.durationSec, 0);
  const firstSamples = after.filter((x) => x.atSec < warmupSec + windowSec);
  const lastSamples = after.filter((x) => x.atSec > endSec - windowSec);
  const rates = Object.fromEntries(KINDS.map((kind) => [kind, { first: rate(kind, firstSamples), last: rate(kind, lastSamples) }])) as Record<SoakKind, { first: number; last: number }>;
  return { rows, windowSec, rates };
}

interface MinuteRow {
  readonly minute: number;
  readonly kinds: Record<SoakKind, { readonly perSec: number; readonly other: number; readonly latency: LatencyFigures }>;
  readonly loadAverage: number;
}

function minuteRows(run: SoakRun): MinuteRow[] {
  const load = run.samples.filter((s) => s.phase === 'load');
  const minutes = Math.ceil((load.at(-1)?.atSec ?? 0) / 60 - 1e-9);
  return Array.from({ length: minutes }, (_, i) => {
    const inMinute = load.filter((s) => s.atSec > i * 60 && s.atSec <= (i + 1) * 60 + 1e-9);
    const seconds = inMinute.reduce((sum, s) => sum + s.durationSec, 0);
    const kinds = Object.fromEntries(KINDS.map((kind) => [kind, {
      perSec: inMinute.reduce((sum, s) => sum + s.kinds[kind].accepted, 0) / seconds,
      other: inMinute.reduce((sum, s) => sum + s.kinds[kind].other, 0),
      latency: latency(inMinute.flatMap((s) => s.kinds[kind].latenciesMs)),
    }])) as MinuteRow['kinds'];
    return { minute: i + 1, kinds, loadAverage: Math.max(...inMinute.map((s) => s.loadAverage)) };
  });
}

interface Totals {
  readonly accepted: Record<SoakKind, number>;
  readonly other: Record<SoakKind, number>;
  readonly notAccepted: Record<SoakKind, Record<string, number>>;
  readonly latency: Record<SoakKind, LatencyFigures>;
  readonly delivered: DeliveryCounts;
  readonly rex: SoakSample['rex'];
  readonly drainSec: number;
}

function totals(run: SoakRun): Totals {
  const sum = (kind: SoakKind, field: 'accepted' | 'other'): number => run.samples.reduce((total, s) => total + s.kinds[kind][field], 0);
  const last = run.samples.at(-1);
  const loadEnd = run.samples.filter((s) => s.phase === 'load').at(-1)?.atSec ?? 0;
  return {
    accepted: Object.fromEntries(KINDS.map((k) => [k, sum(k, 'accepted')])) as Record<SoakKind, number>,
    other: Object.fromEntries(KINDS.map((k) => [k, sum(k, 'other')])) as Record<SoakKind, number>,
    notAccepted: Object.fromEntries(KINDS.map((k) => {
      const byStatus: Record<string, number> = {};
      for (const s of run.samples) for (const [status, count] of Object.entries(s.kinds[k].notAccepted)) byStatus[status] = (byStatus[status] ?? 0) + count;
      return [k, byStatus];
    })) as Record<SoakKind, Record<string, number>>,
    latency: Object.fromEntries(KINDS.map((k) => [k, latency(run.samples.flatMap((s) => s.kinds[k].latenciesMs))])) as Record<SoakKind, LatencyFigures>,
    delivered: last?.delivered ?? { facts: 0, reports: 0, arf: 0, callbacks: 0 },
    rex: last?.rex ?? { launched: 0, launchFailures: 0, finished: 0, hostErrors: 0, hostRetries: 0 },
    drainSec: (last?.atSec ?? 0) - loadEnd,
  };
}

const BUS_TIMEOUT = '503 PROXYHUB_BUS_TIMEOUT';

/** Bounds of the uploads lost: delivered may include up to `timedOut` uploads that were answered 503 after all. */
function lostRange(accepted: number, delivered: number, timedOut: number): { low: number; high: number } {
  return { low: Math.max(0, accepted - delivered), high: Math.max(0, accepted - (delivered - timedOut)) };
}

function notAcceptedLine(t: Totals): string {
  const parts = KINDS.flatMap((kind) => {
    const entries = Object.entries(t.notAccepted[kind]);
    return entries.length === 0 ? [] : [`${kind}: ${entries.map(([status, count]) => `${count} × ${status}`).join(', ')}`];
  });
  return parts.length === 0 ? 'Every upload was answered 202 and every REX job finished.' : `Not 202 (REX: jobs a host could not finish): ${parts.join('; ')}.`;
}

const verdict = (ok: boolean): string => (ok ? 'met' : '**not met**');
const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '—');
const signed = (n: number): string => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(1)} %` : '—');

function markdown(run: SoakRun, rss: ReturnType<typeof rssRows>, minutes: readonly MinuteRow[], t: Totals): string {
  const s = run.settings;
  const loadAverages = run.samples.map((x) => x.loadAverage);
  const uploadsLine = Object.entries(s.uploads).map(([kind, u]) => `${kind} ${u.ratePerSec}/s (${u.connections} clients)`).join(', ');
  const rexRate = (s.rex.jobsPerLaunch * 1000) / s.rex.launchEveryMs;
  const reportsAccepted = t.accepted['reports-ansible'] + t.accepted['reports-puppet'];
  const timeouts = (...kinds: SoakKind[]): number => kinds.reduce((sum, k) => sum + (t.notAccepted[k][BUS_TIMEOUT] ?? 0), 0);
  const rows: Array<[string, number, number, number]> = [
    ['facts', t.accepted.facts, t.delivered.facts, timeouts('facts')],
    ['reports', reportsAccepted, t.delivered.reports, timeouts('reports-ansible', 'reports-puppet')],
    ['arf', t.accepted.arf, t.delivered.arf, timeouts('arf')],
  ];
  const lostCell = new Map(rows.map(([kind, accepted, delivered, timedOut]) => [kind, lostRange(accepted, delivered, timedOut)]));
  const lost = (kind: string): string => {
    const range = lostCell.get(kind) as { low: number; high: number };
    return range.low === range.high ? f0(range.low) : `${f0(range.low)} to ${f0(range.high)}`;
  };
  const lostVerdict = (kind: string): string => {
    const range = lostCell.get(kind) as { low: number; high: number };
    if (range.high === 0) return verdict(true);
    // Only the 503s' unknown share stands between the bounds: no loss is shown, none is ruled out.
    return range.low === 0 ? 'not shown either way' : verdict(false);
  };
  const queues = Object.entries(run.queuesAfterDrain).filter(([, depth]) => depth !== 0);
  const cell = (m: MinuteRow, kind: SoakKind): string => `${f1(m.kinds[kind].perSec)} · ${f0(m.kinds[kind].latency.p99Ms)}${m.kinds[kind].other ? ` (${m.kinds[kind].other} not 202)` : ''}`;
  return [
    `# Soak on the cluster (${run.date})`,
    '',
    `${s.minutes} minute${s.minutes === 1 ? '' : 's'} of steady mixed load on a ${s.clusterNodes}-node RabbitMQ cluster of the bench's own (quorum queues, 3 replicas), with two processes of every role, each \`proxyhub start --role <role>\`: ${s.processes.join(', ')}. Uploads over mTLS, spread over both ingresses: ${uploadsLine}; REX pull-mqtt: ${s.rex.jobsPerLaunch} jobs launched every ${s.rex.launchEveryMs / 1000} s through the two controls in turn (${rexRate}/s), ${s.rex.hosts} simulated hosts fetching and finishing them through the two ingresses (a refused fetch or update is tried again after ${s.rex.retryAfterMs / 1000} s, ${s.rex.attempts} attempts in all). Foreman is a stand-in counting what it was sent. Sampled every ${s.sampleSec} s.`,
    '',
    `**The machine was shared**: other engineers' test suites ran at the same time on its ${run.machine.cores} cores (${f0(run.machineBusyBeforePercent)} % busy before the run, load average ${f1(run.loadAverageBefore)}; during it ${f1(Math.min(...loadAverages))} to ${f1(Math.max(...loadAverages))}). Latencies and the margin under the offered rates move with that load; RSS and the delivered counts do not depend on it. ${run.machine.cpuModel}, ${run.machine.memoryGiB} GiB; ${run.machine.os}; Node ${run.machine.node}; RabbitMQ ${run.machine.rabbitmq ?? '?'}.`,
    '',
    `## RSS per process after the ${s.warmupMinutes} min warm-up`,
    '',
    `VmRSS from /proc every ${s.sampleSec} s. Drift = mean of the last ${f0(rss.windowSec)} s of the load against the mean of the first ${f0(rss.windowSec)} s after the warm-up (the garbage collector's saw-tooth averages out, growth does not).`,
    '',
    `| process | at start MiB | after warm-up: first | last | max | first ${f0(rss.windowSec)} s mean | last ${f0(rss.windowSec)} s mean | drift | limit | verdict |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rss.rows.map((r) => `| ${r.process} | ${f0(r.startMiB)} | ${f0(r.firstMiB)} | ${f0(r.lastMiB)} | ${f0(r.maxMiB)} | ${f1(r.firstWindowMiB)} | ${f1(r.lastWindowMiB)} | ${signed(r.driftPercent)} | ±${RSS_DRIFT_LIMIT_PERCENT} % | ${verdict(Math.abs(r.driftPercent) <= RSS_DRIFT_LIMIT_PERCENT)} |`),
    '',
    `The work in those two windows (202/s; REX: jobs finished/s), first → last: ${KINDS.map((k) => `${k} ${f1(rss.rates[k].first)} → ${f1(rss.rates[k].last)}`).join(', ')}. A process holds more memory while it has more work in flight, so a drift beside a rise in throughput is not by itself a leak.`,
    '',
    '## Throughput and p99 per minute',
    '',
    'Accepted (202) per second · p99 ms of the 202 answers, per minute of load; REX: jobs the hosts finished per second · p99 ms from the launch call to the host\'s final update answered (it includes the wait for the rex worker\'s MQTT tick, up to 5 s).',
    '',
    `| minute | ${KINDS.join(' | ')} | load avg (max) |`,
    `|---:|${KINDS.map(() => '---:').join('|')}|---:|`,
    ...minutes.map((m) => `| ${m.minute} | ${KINDS.map((k) => cell(m, k)).join(' | ')} | ${f1(m.loadAverage)} |`),
    '',
    '## Totals',
    '',
    `Delivered: what the stand-in Foreman answered 2xx, counted after a drain of ${f0(t.drainSec)} s once the load stopped. Lost = accepted − delivered, where delivered can hold more than the accepted uploads: an upload answered \`${BUS_TIMEOUT}\` (the broker's confirm came after the ingress's deadline) may still be on the queue, and then reaches Foreman although its client was told to send it again. So lost lies between accepted − delivered and accepted − (delivered − those 503s), assuming no upload reached Foreman twice (the workers' dedup); a single figure means both bounds agree.`,
    '',
    '| kind | accepted (202) | not 202 | p50 / p99 / max ms | delivered to Foreman | lost | verdict (0 lost) |',
    '|---|---:|---:|---:|---:|---:|---|',
    `| facts | ${f0(t.accepted.facts)} | ${f0(t.other.facts)} | ${f0(t.latency.facts.p50Ms)} / ${f0(t.latency.facts.p99Ms)} / ${f0(t.latency.facts.maxMs)} | ${f0(t.delivered.facts)} | ${lost('facts')} | ${lostVerdict('facts')} |`,
    `| reports (Ansible + Puppet) | ${f0(t.accepted['reports-ansible'])} + ${f0(t.accepted['reports-puppet'])} | ${f0(t.other['reports-ansible'] + t.other['reports-puppet'])} | p99 ${f0(t.latency['reports-ansible'].p99Ms)} + ${f0(t.latency['reports-puppet'].p99Ms)} | ${f0(t.delivered.reports)} | ${lost('reports')} | ${lostVerdict('reports')} |`,
    `| ARF | ${f0(t.accepted.arf)} | ${f0(t.other.arf)} | ${f0(t.latency.arf.p50Ms)} / ${f0(t.latency.arf.p99Ms)} / ${f0(t.latency.arf.maxMs)} | ${f0(t.delivered.arf)} | ${lost('arf')} | ${lostVerdict('arf')} |`,
    `| REX jobs (launched; finished by the hosts; callbacks) | ${f0(t.rex.launched)}; ${f0(t.rex.finished)} | ${f0(t.rex.launchFailures)} launch failures, ${f0(t.rex.hostErrors)} jobs the host gave up (${f0(t.rex.hostRetries)} attempts retried) | ${f0(t.latency.rex.p50Ms)} / ${f0(t.latency.rex.p99Ms)} / ${f0(t.latency.rex.maxMs)} | ${f0(t.delivered.callbacks)} callbacks | ${f0(Math.max(0, t.rex.finished - t.delivered.callbacks))} | ${verdict(t.delivered.callbacks >= t.rex.finished)} |`,
    '',
    notAcceptedLine(t),
    '',
    queues.length === 0 ? 'After the drain every work queue and dead-letter queue was empty.' : `After the drain: ${queues.map(([queue, depth]) => `${queue} ${depth ?? 'missing'}`).join(', ')}.`,
    '',
    'Charts: `soak-rss.svg` (RSS per process), `soak-throughput.svg` (202/s per kind, REX jobs finished/s), `soak-p99.svg` (p99 per upload kind), `soak-p99-rex.svg` (REX launch → finished), every 5 s.',
    '',
    `Produced by \`npm run bench -- soak --minutes ${s.minutes}\`.`,
    '',
  ].join('\n');
}

/** Two shades per role: replica 1 dark, replica 2 light. */
const PROCESS_COLORS: Readonly<Record<string, readonly [string, string]>> = {
  ingress: ['#1f5f8b', '#6fa8dc'],
  control: ['#1e7b4a', '#7fc89a'],
  facts: ['#b9770e', '#f0b75a'],
  reports: ['#6c3483', '#b58bc9'],
  openscap: ['#a93226', '#e6837a'],
  rex: ['#4d4d4d', '#a6a6a6'],
};
const KIND_COLORS: Readonly<Record<SoakKind, string>> = { facts: '#2980b9', 'reports-ansible': '#8e44ad', 'reports-puppet': '#16a085', arf: '#c0392b', rex: '#7f8c8d' };

function charts(run: SoakRun): Record<string, string> {
  const markers: TimeMarker[] = [{ atSec: run.settings.warmupMinutes * 60, label: 'warm-up ends' }];
  const loadEnd = run.samples.filter((s) => s.phase === 'load').at(-1)?.atSec;
  if (loadEnd !== undefined && run.samples.some((s) => s.phase === 'drain')) markers.push({ atSec: loadEnd, label: 'drain' });
  const rss: TimeSeries[] = run.settings.processes.map((process) => {
    const [role, replica] = process.split('-');
    const shades = PROCESS_COLORS[role ?? ''] ?? ['#000', '#888'];
    return { label: process, color: replica === '2' ? shades[1] : shades[0], points: run.samples.map((s) => [s.atSec, s.rssMiB[process] ?? 0] as const) };
  });
  const throughput: TimeSeries[] = KINDS.map((kind) => ({ label: kind === 'rex' ? 'REX finished' : kind, color: KIND_COLORS[kind], points: run.samples.map((s) => [s.atSec, s.kinds[kind].accepted / s.durationSec] as const) }));
  const p99 = (kind: SoakKind): TimeSeries => ({
    label: kind === 'rex' ? 'REX launch → finished' : kind,
    color: KIND_COLORS[kind],
    points: run.samples.filter((s) => s.kinds[kind].latenciesMs.length > 0).map((s) => [s.atSec, latency(s.kinds[kind].latenciesMs).p99Ms] as const),
  });
  return {
    'soak-rss.svg': renderTimeline('RSS of every proxyhub process, MiB', rss, markers),
    'soak-throughput.svg': renderTimeline('Accepted (202) per second per kind; REX jobs finished per second', throughput, markers),
    'soak-p99.svg': renderTimeline('p99 of the 202 answers per 5 s, ms', UPLOAD_KINDS.map(p99), markers),
    'soak-p99-rex.svg': renderTimeline('REX: p99 from launch to the host\'s last update, per 5 s, ms', [p99('rex')], markers),
  };
}

/** Writes soak.md, soak.json and the charts; returns the markdown. */
export async function writeSoakResults(run: SoakRun): Promise<string> {
  const rss = rssRows(run);
  const minutes = minuteRows(run);
  const t = totals(run);
  const text = markdown(run, rss, minutes, t);
  for (const [name, svg] of Object.entries(charts(run))) await writeFile(join(RESULTS, name), svg);
  // Per-sample latency lists are summarised: the JSON stays readable in a diff.
  const samples = run.samples.map((s) => ({ ...s, kinds: Object.fromEntries(KINDS.map((k) => [k, { accepted: s.kinds[k].accepted, other: s.kinds[k].other, notAccepted: s.kinds[k].notAccepted, ...latency(s.kinds[k].latenciesMs) }])) }));
  const json = {
    benchmark: 'soak',
    ...run,
    samples,
    rssDriftLimitPercent: RSS_DRIFT_LIMIT_PERCENT,
    rss: rss.rows,
    rssWindowSec: rss.windowSec,
    minutes: minutes.map((m) => ({ minute: m.minute, loadAverage: m.loadAverage, kinds: m.kinds })),
    totals: { ...t, latency: t.latency },
  };
  await writeFile(join(RESULTS, 'soak.json'), `${JSON.stringify(json)}\n`);
  await writeFile(join(RESULTS, 'soak.md'), text);
  return text;
}
