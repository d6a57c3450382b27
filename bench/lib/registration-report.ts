/** Turns the registration results into bench/results/registration.{json,md,svg}; the markdown is also printed. */
import { renderRegistrationChart } from './registration-chart.ts';
import { writeResultFiles } from './report.ts';
import type { PhaseCpu, RegistrationBenchResults, RegistrationPathResult } from './types.ts';

const num = (n: number): string => Math.round(n).toLocaleString('en-US');
/** Sequential latencies are timed to the microsecond; two decimals of a millisecond show the hop costs. */
const ms = (n: number): string => n.toFixed(2);
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${ms(Math.abs(n))}`;
const pct = (n: number | undefined): string => (n === undefined ? '—' : `${n.toFixed(0)} %`);
const PARTICIPANTS = ['client', 'ingress', 'worker', 'foreman', 'broker'] as const;

function pathRow(p: RegistrationPathResult): string {
  const l = p.sequential.latency;
  return `| ${p.path} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ${ms(l.meanMs)} | ${ms(l.maxMs)} | ${num(p.concurrent.acceptedPerSec)} | ${l.count} |`;
}

function cpuRow(phase: string, cpu: PhaseCpu | null): string | undefined {
  if (cpu === null) return undefined;
  return `| ${phase} | ${PARTICIPANTS.map((name) => pct(cpu.processes[name])).join(' | ')} | ${pct(cpu.unaccounted)} | ${pct(cpu.machineBusy)} |`;
}

export function renderRegistrationMarkdown(results: RegistrationBenchResults): string {
  const { machine, settings } = results;
  const direct = results.paths.find((p) => p.path === 'direct');
  const hub = results.paths.find((p) => p.path === 'hub');
  const lines = [
    `## Registration benchmark (${results.date})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'unknown'}. ` +
      `Request: \`${settings.request}\`, answered 200 by the test Foreman with a three-line text/plain script. ` +
      `Latency: ${settings.requests} sequential requests after ${settings.warmupRequests} warm-up, one keep-alive connection (node:http, timed to the µs). ` +
      `Throughput: autocannon, ${settings.connections} keep-alive connections, no pipelining, ${settings.warmupSec} s warm-up + ${settings.durationSec} s measured. ` +
      'Client, hub, broker and Foreman share the machine.',
    '',
    `| path | p50 ms | p99 ms | mean | max | req/s at ${settings.connections} connections | requests |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.paths.map(pathRow),
  ];
  if (direct !== undefined && hub !== undefined) {
    const [d, h] = [direct.sequential.latency, hub.sequential.latency];
    const ratio = direct.concurrent.acceptedPerSec > 0 ? hub.concurrent.acceptedPerSec / direct.concurrent.acceptedPerSec : 0;
    lines.push(`| hub − direct | ${signed(h.p50Ms - d.p50Ms)} | ${signed(h.p99Ms - d.p99Ms)} | ${signed(h.meanMs - d.meanMs)} | — | ${ratio.toFixed(2)}× | — |`);
  }
  lines.push(
    '',
    `| phase | CPU client | CPU ingress | CPU worker | CPU Foreman | CPU broker | CPU unaccounted | machine busy |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.paths.flatMap((p) => [cpuRow(`${p.path}, sequential`, p.sequentialCpu), cpuRow(`${p.path}, ${settings.connections} connections`, p.concurrentCpu)]).filter((row) => row !== undefined),
    '',
    'Notes:',
    '- direct: the bench\'s client straight to the test Foreman (`tests/helpers/test-foreman.ts`, in a child process of its own). ' +
      'hub: the same request to `proxyhub start --role ingress`, which sends it over RabbitMQ (classic request queue, direct reply-to) to `proxyhub start --role worker:registration`, which calls the same Foreman (compiled build, launch flags of `npm start`, log level warn, no rate limit).',
    '- p50/p99/mean/max are of the sequential run (one request in flight). `req/s` is 200 answers per second of the autocannon run; its own p50/p99 (whole ms) are in registration.json. `requests` = measured sequential requests per path. hub − direct: the differences of the figures, and hub / direct for throughput.',
    '- CPU is % of one core over the measured phase (200 % = both cores), from /proc in 10 ms ticks, so a phase under a second (direct, sequential) gives coarse figures; the sequential client is the benchmark process itself. Unaccounted = kernel work (loopback TCP) plus anything else running; a large value means a disturbed run.',
  );
  const checks = results.paths.map((p) => `${p.path}: ${p.sequential.failures} wrong sequential answers on ${p.sequential.connections} connection(s), ${p.concurrent.accepted} × 200 under load with ${p.concurrent.non2xx} non-2xx, ${p.concurrent.errors} errors, ${p.concurrent.timeouts} timeouts`);
  const held = Object.entries(results.rpcQueueHeld).map(([queue, count]) => `${queue.replace(/^[^.]*\./, '<prefix>.')} held ${count}`).join(', ');
  lines.push(`- Checks: every sequential answer was Foreman's exact script (via the hub with the \`url\` the worker adds); ${checks.join('; ')}. Foreman received ${results.foremanReceived ?? 'an unknown number of'} requests in all${held ? `; ${held} when deleted` : ''}.`);
  return `${lines.join('\n')}\n`;
}

export function writeRegistrationResults(results: RegistrationBenchResults): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  const svg = renderRegistrationChart(results.paths, `proxyhub registration GET, direct vs via hub, ${results.machine.cores} cores (${results.date.slice(0, 10)})`);
  return writeResultFiles('registration', results, renderRegistrationMarkdown(results), svg);
}
