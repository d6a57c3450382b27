/**
 * The OpenSCAP benchmark's picture: the worker's resident set against reports delivered, with the
 * growth budget (RSS after warm-up + 64 MiB) as a line, so a leak shows as a climb toward it.
 * Hand-written SVG in svg-chart.ts's style: readable in a diff, no charting dependency.
 */
import { HEIGHT, PLOT, WIDTH, chartFrame, escapeXml as escape } from './svg-frame.ts';
import type { OpenscapBenchResults } from './types.ts';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function renderOpenscapChart(results: OpenscapBenchResults, title: string): string {
  const { drain } = results.worker;
  const budget = drain.rssStartMiB + results.targets.rssGrowthMiB;
  const samples = drain.samples;
  // Steps of 50 MiB rather than niceMax's 1-2-5: RSS sits in the low hundreds, where 500 would flatten it.
  const max = Math.ceil((Math.max(budget, drain.rssPeakMiB, ...samples.map((s) => s.rssMiB)) * 1.05) / 50) * 50;
  const { parts, y, plotWidth, plotHeight } = chartFrame(title, max, fmt);
  const lastReport = Math.max(1, drain.reports);
  const x = (delivered: number): number => PLOT.left + (plotWidth * delivered) / lastReport;
  parts.push(`<text x="16" y="${PLOT.top + plotHeight / 2}" text-anchor="middle" fill="#555" transform="rotate(-90 16 ${PLOT.top + plotHeight / 2})">worker RSS, MiB</text>`);

  // Warm-up reports are greyed: the resident set still grows there by design (JIT, prefetch).
  parts.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${x(drain.warmupReports) - PLOT.left}" height="${plotHeight}" fill="#f4f4f4"/>`);
  parts.push(`<text x="${PLOT.left + 4}" y="${PLOT.top + 14}" fill="#888">warm-up</text>`);
  const dashed = (value: number, color: string): void =>
    void parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(value)}" y2="${y(value)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  dashed(budget, '#c0392b');
  dashed(drain.rssStartMiB, '#7f8c8d');
  const points = samples.map((s) => `${x(s.delivered).toFixed(1)},${y(s.rssMiB).toFixed(1)}`).join(' ');
  parts.push(`<polyline points="${points}" fill="none" stroke="#2980b9" stroke-width="2"/>`);

  // Legend row above the plot, as in the other charts.
  const legend = (at: number, color: string, dash: boolean, label: string): void => {
    parts.push(`<line x1="${at}" x2="${at + 24}" y1="42" y2="42" stroke="${color}" stroke-width="${dash ? 1.5 : 2}"${dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${at + 30}" y="46" fill="${color}">${escape(label)}</text>`);
  };
  legend(PLOT.left, '#2980b9', false, `RSS (peak ${fmt(drain.rssPeakMiB)} MiB)`);
  legend(PLOT.left + 170, '#7f8c8d', true, `after warm-up ${fmt(drain.rssStartMiB)} MiB`);
  legend(PLOT.left + 350, '#c0392b', true, `budget +${results.targets.rssGrowthMiB} = ${fmt(budget)} MiB`);

  for (let i = 0; i <= 4; i += 1) {
    const delivered = Math.round((lastReport / 4) * i);
    parts.push(`<text x="${x(delivered)}" y="${y(0) + 16}" text-anchor="middle" fill="#555">${delivered}</text>`);
  }
  const l = results.ingress.load;
  parts.push(
    `<text x="${WIDTH / 2}" y="${HEIGHT - 14}" text-anchor="middle" fill="#555">reports delivered · worker ${drain.reportsPerSec.toFixed(1)}/s, ${fmt(drain.cpuMsPerReport)} ms CPU each · ingress ${fmt(l.acceptedPerSec)} uploads/s, p99 ${fmt(l.latency.p99Ms)} ms</text>`,
  );
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
