/** Turns the OpenSCAP results into bench/results/openscap.{json,md,svg}; the markdown is also printed. */
import { renderOpenscapChart } from './openscap-chart.ts';
import { writeResultFiles } from './report.ts';
import type { OpenscapBenchResults, PhaseCpu } from './types.ts';

const num = (n: number): string => Math.round(n).toLocaleString('en-US');
const one = (n: number): string => n.toFixed(1);
const signed = (n: number): string => (Number.isNaN(n) ? '—' : `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(0)}`);
const pct = (n: number | undefined): string => (n === undefined ? '—' : `${n.toFixed(0)} %`);
const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
const PARTICIPANTS = ['client', 'ingress', 'worker', 'foreman', 'broker'] as const;

function cpuRow(phase: string, cpu: PhaseCpu | null): string | undefined {
  if (cpu === null) return undefined;
  return `| ${phase} | ${PARTICIPANTS.map((name) => pct(cpu.processes[name])).join(' | ')} | ${pct(cpu.unaccounted)} | ${pct(cpu.machineBusy)} |`;
}

export function renderOpenscapMarkdown(results: OpenscapBenchResults): string {
  const { machine, settings, ingress, worker, reference, targets, cleanup } = results;
  const l = ingress.load;
  const d = worker.drain;
  const nonAccepted = l.answered - l.accepted;
  const bz = worker.bzip2Reference;
  const cpuLimit = targets.cpuPerReportVsBzip2 * bz.cpuMsPerCopy;
  const lines = [
    `## OpenSCAP benchmark (${results.date})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'unknown'}. ` +
      `Every upload is \`${settings.fixture}\` (${num(settings.fixtureBytes)} B bzip2, ${num(settings.xmlBytes)} B XML), \`POST /compliance/arf/1\`, \`Content-Type: text/xml\`, \`Content-Encoding: x-bzip2\`. ` +
      `Ingress: ${settings.connections} mTLS clients (undici, one keep-alive connection each, one upload at a time), ${settings.warmupSec} s warm-up + ${settings.durationSec} s measured. ` +
      `Worker: one process drains ${settings.reports} queued uploads; its RSS baseline is taken after the first ${settings.warmupReports} (the first prefetch wave of ${settings.prefetch} plus a few). ` +
      `Clients, hub, broker and Foreman share the machine, which was ${results.machineBusyBeforePercent.toFixed(0)} % busy in the second before the run.`,
    '',
    '| ingress | uploads/s (202) | p50 ms | p99 ms | max ms | non-202 | errors | RSS MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    `| proxyhub ingress | ${one(l.acceptedPerSec)} | ${num(l.latency.p50Ms)} | ${num(l.latency.p99Ms)} | ${num(l.latency.maxMs)} | ${nonAccepted} | ${l.errors} | ${ingress.rssPeakMiB === null ? '—' : num(ingress.rssPeakMiB)} |`,
    `| smart-proxy (reference) | ≈${reference.uploadsPerSec} | — | ≈${num(reference.p99Ms)} | — | — | — | — |`,
    `| target | ≥ ${targets.uploadsPerSec} | — | ≤ ${targets.p99Ms} | — | — | — | — |`,
    '',
    '| worker | reports/s | CPU ms/report | reports/s per core | RSS after warm-up MiB | RSS peak MiB | growth MiB | RSS at end MiB | trend MiB | XML since warm-up MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| proxyhub worker:openscap | ${one(d.reportsPerSec)} | ${num(d.cpuMsPerReport)} | ${one(d.reportsPerCoreSec)} | ${num(d.rssStartMiB)} | ${num(d.rssPeakMiB)} | ${num(d.rssGrowthMiB)} | ${num(d.rssEndMiB)} | ${signed(d.rssTrendMiB)} | ${num(worker.xmlMiBMeasured)} |`,
    `| \`bzip2 -dc\` of the same file (C, this run) | — | ${one(bz.cpuMsPerCopy)} | ${one(1000 / bz.cpuMsPerCopy)} | — | — | — | — | — | — |`,
    `| smart-proxy (reference) | — | ≈${reference.cpuMsPerReport} | ≈${one(1000 / reference.cpuMsPerReport)} | — | — | — | — | — | — |`,
    `| target | — | ≤ ${num(cpuLimit)} (${targets.cpuPerReportVsBzip2} × bzip2 -dc) | ≥ ${one(1000 / cpuLimit)} | — | — | < ${targets.rssGrowthMiB} | — | — | ≥ 50 |`,
    '',
    '| phase | CPU client | CPU ingress | CPU worker | CPU Foreman | CPU broker | CPU unaccounted | machine busy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...[cpuRow(`ingress, ${settings.connections} clients`, ingress.cpu), cpuRow('worker draining', worker.cpu)].filter((row) => row !== undefined),
    '',
    'Notes:',
    '- Ingress: `proxyhub start --role ingress` (launch flags of `npm start`, log level warn, no rate limit, other limits at their defaults) over HTTPS, asking for client certificates from a throw-away CA; every client presents one host certificate, whose CN is the host name the report is filed under. ' +
      `Nothing consumes during this phase: the bench purges the work queue every second (${num(ingress.purged)} uploads purged) so the shared broker never holds more than about a second of uploads. ` +
      'uploads/s counts only 202 answers completed in the measured window; latency is request start → whole answer, over every answer in the window.',
    `- Worker: the queue is filled through the same ingress, then one \`proxyhub start --role worker:openscap\` (prefetch ${worker.prefetch}: the setting capped by the openscap feature; ${settings.parseThreads === null ? 'parse threads at the default, two on two cores' : `${settings.parseThreads} parse thread(s)`}; other settings at their defaults) parses each upload and posts it to a stand-in Foreman (bench/arf-foreman-server.ts) that answers 200 \`{"result":"ok","id":"<n>"}\` and checks each report's metrics and log count against the fixture's expected reading. ` +
      `reports/s = reports / the whole drain, from the worker's consumer appearing on the queue to Foreman answering the last report (${one(d.wallSec)} s; the first report came after ${one(d.firstReportSec)} s): the worker parses up to ${worker.prefetch} reports at once and they finish in bursts, so a window starting at the n-th report would count work done before it. ` +
      'CPU per report = the worker\'s user + system CPU time over the same span (/proc, every thread, and any child process it waited for; its start-up before consuming excluded) / reports; reports/s per core = 1000 / that.',
    `- bzip2 -dc: the system's \`bzip2 -dc <fixture> > /dev/null\`, ${bz.copiesEach} copies one after another just before the drain (${one(bz.beforeCpuMs)} ms CPU per copy) and ${bz.copiesEach} just after it (${one(bz.afterCpuMs)} ms); user + system CPU of the children, from bash's \`times\`. The row is their mean, and the worker's CPU target is ${targets.cpuPerReportVsBzip2} × it: the worker has to decompress the same bytes, so this is its floor on this machine at this moment. Where the worker's CPU goes: bench/results/openscap-profile.md.`,
    `- RSS: the worker's VmRSS when each report is delivered and every 200 ms; "after warm-up" is at the ${settings.warmupReports}th report, growth = peak after it − it, over the XML of the reports after it; trend = mean RSS over the last quarter of those reports − mean over the first quarter (the garbage collector's saw-tooth cancels out there, a leak would not). The ingress RSS is its peak VmRSS over the measured window.`,
    '- CPU is % of one core over the measured part of the phase (200 % = both cores). Unaccounted = kernel work (loopback TCP, TLS is in the processes) plus anything else running; a large value means a disturbed run.',
    `- Targets: uploads/s ≥ ${targets.uploadsPerSec}: ${mark(l.acceptedPerSec >= targets.uploadsPerSec)}; p99 ≤ ${targets.p99Ms} ms: ${mark(l.latency.p99Ms <= targets.p99Ms)}; ` +
      `worker CPU per report ≤ ${targets.cpuPerReportVsBzip2} × bzip2 -dc (${num(cpuLimit)} ms): ${mark(d.cpuMsPerReport <= cpuLimit)} (${(d.cpuMsPerReport / bz.cpuMsPerCopy).toFixed(2)} ×); RSS growth < ${targets.rssGrowthMiB} MiB over ≥ 50 MiB of XML: ${mark(d.rssGrowthMiB < targets.rssGrowthMiB && worker.xmlMiBMeasured >= 50)}.`,
  ];
  const held = Object.entries(cleanup.queuesHeld)
    .filter(([, count]) => count > 0)
    .map(([queue, count]) => `${queue.replace(/^[^.]*\./, '<prefix>.')} ${count}`);
  const firstRefusal = l.firstRejection === null ? '' : ` (first: ${l.firstRejection.slice(0, 120)})`;
  lines.push(
    `- Checks: ingress ${num(l.accepted)} × 202, ${nonAccepted} other answers${firstRefusal}, ${l.errors} errors, ${l.connectionsOpened} TLS connections for ${settings.connections} clients; ` +
      `the work queue held ${worker.queuedBefore ?? 'an unknown number'} before the worker started; ${d.reports} reports delivered, ${worker.wrongReports.length} with the wrong content; ` +
      `queues still holding messages when deleted: ${held.length === 0 ? 'none' : held.join(', ')}; ${cleanup.redisKeysRemoved ?? 'unknown'} Redis dedup keys removed.`,
  );
  return `${lines.join('\n')}\n`;
}

export function writeOpenscapResults(results: OpenscapBenchResults): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  const svg = renderOpenscapChart(results, `proxyhub worker:openscap RSS over ${results.worker.drain.reports} reports, ${results.machine.cores} cores (${results.date.slice(0, 10)})`);
  return writeResultFiles('openscap', results, renderOpenscapMarkdown(results), svg);
}
