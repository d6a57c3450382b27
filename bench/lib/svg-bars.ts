/**
 * A hand-written SVG bar chart: one bar per scenario, with dashed reference lines (a limit, a
 * target) labelled in a legend row above the plot. Small enough to read in a diff; no charting
 * dependency.
 */
import { PLOT, WIDTH, chartFrame, escapeXml, niceMax } from './svg-frame.ts';

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly color: string;
  /** A second line under the label (a unit). */
  readonly sublabel?: string;
}

export interface ReferenceLine {
  readonly value: number;
  readonly label: string;
  readonly color: string;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `unit` follows each bar's value (`/s` for rates). */
export function renderBars(title: string, bars: readonly Bar[], lines: readonly ReferenceLine[] = [], unit = '/s'): string {
  const max = niceMax(Math.max(...bars.map((b) => b.value), ...lines.map((l) => l.value)) * 1.05);
  const { parts, y, plotWidth } = chartFrame(title, max, fmt);
  const slot = plotWidth / bars.length;
  bars.forEach((bar, i) => {
    const x = PLOT.left + slot * i + slot * 0.2;
    const width = slot * 0.6;
    parts.push(`<rect x="${x}" y="${y(bar.value)}" width="${width}" height="${y(0) - y(bar.value)}" fill="${bar.color}"/>`);
    parts.push(`<text x="${x + width / 2}" y="${y(bar.value) - 5}" text-anchor="middle">${fmt(bar.value)}${escapeXml(unit)}</text>`);
    parts.push(`<text x="${x + width / 2}" y="${y(0) + 18}" text-anchor="middle" font-weight="bold">${escapeXml(bar.label)}</text>`);
    if (bar.sublabel) parts.push(`<text x="${x + width / 2}" y="${y(0) + 33}" text-anchor="middle" fill="#555">${escapeXml(bar.sublabel)}</text>`);
  });
  // Line labels go in a legend row above the plot: beside the lines they collide with bar labels.
  lines.forEach((line, i) => {
    const legendX = PLOT.left + 200 * i;
    const dash = `stroke="${line.color}" stroke-width="1.5" stroke-dasharray="6 4"`;
    parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(line.value)}" y2="${y(line.value)}" ${dash}/>`);
    parts.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="42" y2="42" ${dash}/>`);
    parts.push(`<text x="${legendX + 30}" y="46" fill="${line.color}">${escapeXml(line.label)}</text>`);
  });
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
