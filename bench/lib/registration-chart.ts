/**
 * The registration benchmark's picture: p50 and p99 of the sequential run, direct vs via the
 * hub, as grouped bars. Hand-written SVG in svg-chart.ts's style: readable in a diff, no charting
 * dependency.
 */
import { HEIGHT, PLOT, WIDTH, chartFrame, escapeXml as escape, niceMax } from './svg-frame.ts';
import type { RegistrationPathResult } from './types.ts';

const COLORS: Readonly<Record<string, string>> = { direct: '#95a5a6', hub: '#2980b9' };
const METRICS = [
  ['p50', (p: RegistrationPathResult) => p.sequential.latency.p50Ms],
  ['p99', (p: RegistrationPathResult) => p.sequential.latency.p99Ms],
] as const;

/** Milliseconds with two significant decimals at most: 0.18, 1.4, 12. */
const ms = (n: number): string => String(Number(n.toFixed(n >= 10 ? 0 : 2)));

export function renderRegistrationChart(paths: readonly RegistrationPathResult[], title: string): string {
  const max = niceMax(Math.max(...paths.flatMap((p) => METRICS.map(([, of]) => of(p)))) * 1.1);
  const { parts, y, plotWidth, plotHeight } = chartFrame(title, max, ms);
  const slot = plotWidth / METRICS.length;
  parts.push(`<text x="16" y="${PLOT.top + plotHeight / 2}" text-anchor="middle" fill="#555" transform="rotate(-90 16 ${PLOT.top + plotHeight / 2})">ms</text>`);
  METRICS.forEach(([metric, of], group) => {
    const barWidth = (slot * 0.7) / paths.length;
    paths.forEach((p, i) => {
      const x = PLOT.left + slot * group + slot * 0.15 + barWidth * i;
      const value = of(p);
      parts.push(`<rect x="${x}" y="${y(value)}" width="${barWidth - 4}" height="${y(0) - y(value)}" fill="${COLORS[p.path] ?? '#999'}"/>`);
      parts.push(`<text x="${x + (barWidth - 4) / 2}" y="${y(value) - 5}" text-anchor="middle">${ms(value)} ms</text>`);
    });
    parts.push(`<text x="${PLOT.left + slot * group + slot / 2}" y="${y(0) + 18}" text-anchor="middle" font-weight="bold">${metric}</text>`);
  });
  // The legend row sits above the plot, where svg-chart.ts puts its line labels.
  paths.forEach((p, i) => {
    const x = PLOT.left + i * 200;
    parts.push(`<rect x="${x}" y="34" width="14" height="12" fill="${COLORS[p.path] ?? '#999'}"/>`);
    parts.push(`<text x="${x + 20}" y="45">${escape(p.path === 'hub' ? 'via hub (ingress → broker → worker)' : 'direct to Foreman')}</text>`);
  });
  parts.push(`<text x="${WIDTH / 2}" y="${HEIGHT - 10}" text-anchor="middle" fill="#555">sequential GET /register, one keep-alive connection, ${paths[0]?.sequential.latency.count ?? 0} requests each</text>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
