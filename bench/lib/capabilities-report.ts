/** Turns the capability propagation results into bench/results/capabilities.{json,md,svg}. */
import { HEIGHT, PLOT, WIDTH, chartFrame, escapeXml as escape, niceMax } from './svg-frame.ts';
import { writeResultFiles } from './report.ts';
import type { CapabilitiesBenchResults, PropagationResult } from './types.ts';

const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
/** The two paths the control plane is judged by (the others include process start-up and shutdown). */
const JUDGED = ['announced → SSE up', 'withdrawn → SSE down'];

function row(p: PropagationResult): string {
  const l = p.latency;
  return `| ${p.path} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ${ms(l.meanMs)} | ${ms(l.maxMs)} | ${l.count} |`;
}

export function renderCapabilitiesMarkdown(results: CapabilitiesBenchResults): string {
  const { machine, settings, targets } = results;
  const judged = results.paths.filter((p) => JUDGED.includes(p.path));
  return [
    `## Capability propagation benchmark (${results.date})`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; RabbitMQ ${machine.rabbitmq ?? 'unknown'}. ` +
      `${settings.cycles} cycles of \`proxyhub start --role ${settings.workerRole}\` started, then stopped with SIGTERM; one \`--role control\` process and one SSE subscriber; heartbeat ${settings.heartbeatMs} ms. ` +
      `Machine busy before the run: ${results.machineBusyBeforePercent.toFixed(0)} %.`,
    '',
    '| path | p50 ms | p99 ms | mean | max | cycles |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.paths.map(row),
    '| smart-proxy: a change reaches Foreman | — | — | — | — | when someone presses Refresh |',
    '',
    'Notes:',
    '- announced → SSE up: from the worker\'s `capability.announced.v1` (its CloudEvent `time`, read back from the stream) to the `changed` event arriving at the subscriber: broker, stream, control registry, SSE. withdrawn → SSE down: the same for `capability.withdrawn.v1`. Timestamps have millisecond resolution; all processes share the clock.',
    '- SIGTERM → SSE down: from the signal to the subscriber\'s event (the worker withdraws before it drains in-flight work). spawn → SSE up: from starting the process, so mostly Node and module start-up.',
    `- Target: p99 ≤ ${targets.p99Ms} ms for announced changes: ${mark(judged.length > 0 && judged.every((p) => p.latency.p99Ms <= targets.p99Ms))}.`,
    '- Foreman itself is told by `PUT /api/v2/smart_proxies/:id/refresh` after the debounce (`PROXYHUB_REFRESH_DEBOUNCE_MS`, 1 s by default) plus the refresh call; not measured here. A crashed worker is seen after at most three missed heartbeats (6 s at the default 2 s).',
    '',
  ].join('\n');
}

export function renderCapabilitiesChart(results: CapabilitiesBenchResults): string {
  const paths = results.paths.filter((p) => JUDGED.includes(p.path) || p.path === 'SIGTERM → SSE down');
  const max = niceMax(Math.max(results.targets.p99Ms, ...paths.map((p) => p.latency.p99Ms)) * 1.1);
  const { parts, y, plotWidth, plotHeight } = chartFrame(`proxyhub capability propagation, ${results.settings.cycles} cycles (${results.date.slice(0, 10)})`, max, (value) => String(Number(value.toFixed(1))));
  parts.push(`<text x="16" y="${PLOT.top + plotHeight / 2}" text-anchor="middle" fill="#555" transform="rotate(-90 16 ${PLOT.top + plotHeight / 2})">ms</text>`);
  const slot = plotWidth / paths.length;
  const colors = { p50: '#95a5a6', p99: '#2980b9' } as const;
  paths.forEach((p, group) => {
    (['p50', 'p99'] as const).forEach((metric, i) => {
      const value = metric === 'p50' ? p.latency.p50Ms : p.latency.p99Ms;
      const barWidth = (slot * 0.7) / 2;
      const x = PLOT.left + slot * group + slot * 0.15 + barWidth * i;
      parts.push(`<rect x="${x}" y="${y(value)}" width="${barWidth - 4}" height="${y(0) - y(value)}" fill="${colors[metric]}"/>`);
      parts.push(`<text x="${x + (barWidth - 4) / 2}" y="${y(value) - 5}" text-anchor="middle">${ms(value)}</text>`);
    });
    parts.push(`<text x="${PLOT.left + slot * group + slot / 2}" y="${y(0) + 18}" text-anchor="middle" font-weight="bold">${escape(p.path)}</text>`);
  });
  const target = y(results.targets.p99Ms);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${target}" y2="${target}" stroke="#c0392b" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${WIDTH - PLOT.right}" y="${target - 4}" text-anchor="end" fill="#c0392b">p99 target ${results.targets.p99Ms} ms</text>`);
  (['p50', 'p99'] as const).forEach((metric, i) => {
    parts.push(`<rect x="${PLOT.left + i * 90}" y="34" width="14" height="12" fill="${colors[metric]}"/>`);
    parts.push(`<text x="${PLOT.left + i * 90 + 20}" y="45">${metric}</text>`);
  });
  parts.push(`<text x="${WIDTH / 2}" y="${HEIGHT - 10}" text-anchor="middle" fill="#555">smart-proxy: Foreman sees a change only when someone presses Refresh</text>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function writeCapabilitiesResults(results: CapabilitiesBenchResults): Promise<{ readonly markdown: string; readonly files: readonly string[] }> {
  return writeResultFiles('capabilities', results, renderCapabilitiesMarkdown(results), renderCapabilitiesChart(results));
}
