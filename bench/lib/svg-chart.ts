/**
 * A hand-written SVG bar chart of the four rates with the limit and the 0.6 × limit target as
 * horizontal lines: small enough to read in a diff, and no charting dependency.
 */
import { PLOT, WIDTH, chartFrame, escapeXml as escape, niceMax } from './svg-frame.ts';
import type { ScenarioResult } from './types.ts';

const COLORS: Readonly<Record<string, string>> = { raw: '#7f8c8d', 'raw-matched': '#b0b7bb', noop: '#95a5a6', limit: '#34495e', hub: '#2980b9' };

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');


export function renderChart(scenarios: readonly ScenarioResult[], title: string, targetRatio: number): string {
  const limit = scenarios.find((s) => s.scenario === 'limit')?.rate ?? 0;
  const max = niceMax(Math.max(...scenarios.map((s) => s.rate)) * 1.05);
  const { parts, y, plotWidth } = chartFrame(title, max, fmt);
  const slot = plotWidth / scenarios.length;
  scenarios.forEach((s, i) => {
    const x = PLOT.left + slot * i + slot * 0.2;
    const barWidth = slot * 0.6;
    parts.push(`<rect x="${x}" y="${y(s.rate)}" width="${barWidth}" height="${y(0) - y(s.rate)}" fill="${COLORS[s.scenario] ?? '#999'}"/>`);
    parts.push(`<text x="${x + barWidth / 2}" y="${y(s.rate) - 5}" text-anchor="middle">${fmt(s.rate)}/s</text>`);
    parts.push(`<text x="${x + barWidth / 2}" y="${y(0) + 18}" text-anchor="middle" font-weight="bold">${s.scenario}</text>`);
    parts.push(`<text x="${x + barWidth / 2}" y="${y(0) + 33}" text-anchor="middle" fill="#555">${s.unit}</text>`);
  });
  // Line labels go in a legend row above the plot: beside the lines they collide with bar labels.
  const line = (value: number, label: string, color: string, legendX: number): void => {
    const dash = `stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"`;
    parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(value)}" y2="${y(value)}" ${dash}/>`);
    parts.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="42" y2="42" ${dash}/>`);
    parts.push(`<text x="${legendX + 30}" y="46" fill="${color}">${escape(label)}</text>`);
  };
  line(limit, `limit ${fmt(limit)}/s`, '#34495e', PLOT.left);
  line(limit * targetRatio, `target ${targetRatio} × limit = ${fmt(limit * targetRatio)}/s`, '#c0392b', PLOT.left + 200);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
