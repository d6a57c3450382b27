/**
 * A hand-written SVG line chart over time: a few series of per-second rates, vertical markers
 * where the load changed, and dashed reference lines (a peak, a target). No charting dependency.
 */
import { PLOT, WIDTH, chartFrame, escapeXml, niceMax } from './svg-frame.ts';

export interface TimeSeries {
  readonly label: string;
  readonly color: string;
  /** [seconds, value] points, in time order. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface TimeMarker {
  readonly atSec: number;
  readonly label: string;
}

export interface LevelLine {
  readonly value: number;
  readonly label: string;
  readonly color: string;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
/** Width of one legend entry; entries wrap onto more rows above the plot. */
const LEGEND_ITEM = 136;
const LEGEND_ROW = 16;
/** Time axis steps: the first that keeps the labels to a dozen or so. */
const TICK_STEPS_SEC = [10, 30, 60, 120, 300, 600, 1800, 3600];

export function renderTimeline(title: string, series: readonly TimeSeries[], markers: readonly TimeMarker[], levels: readonly LevelLine[] = []): string {
  const values = series.flatMap((s) => s.points.map(([, v]) => v));
  const max = niceMax(Math.max(1, ...values, ...levels.map((l) => l.value)) * 1.05);
  const endSec = Math.max(1, ...series.flatMap((s) => s.points.map(([t]) => t)));
  const legend = [...series.map((s) => ({ label: s.label, color: s.color, dash: '' })), ...levels.map((l) => ({ label: l.label, color: l.color, dash: ' stroke-dasharray="6 4"' }))];
  const perRow = Math.max(1, Math.floor((WIDTH - PLOT.left - PLOT.right) / LEGEND_ITEM));
  const legendRows = Math.max(1, Math.ceil(legend.length / perRow));
  const { parts, y, plotWidth, top } = chartFrame(title, max, fmt, (legendRows - 1) * LEGEND_ROW);
  const x = (sec: number): number => PLOT.left + (plotWidth * sec) / endSec;
  for (const marker of markers) {
    parts.push(`<line x1="${x(marker.atSec)}" x2="${x(marker.atSec)}" y1="${top}" y2="${y(0)}" stroke="#bbb" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${x(marker.atSec) + 3}" y="${top + 12}" fill="#777" font-size="10">${escapeXml(marker.label)}</text>`);
  }
  for (const level of levels) parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(level.value)}" y2="${y(level.value)}" stroke="${level.color}" stroke-width="1" stroke-dasharray="6 4"/>`);
  for (const s of series) {
    const path = s.points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
  }
  // Legend rows above the plot: series first, then the reference lines.
  legend.forEach((item, i) => {
    const legendX = PLOT.left + LEGEND_ITEM * (i % perRow);
    const legendY = 42 + LEGEND_ROW * Math.floor(i / perRow);
    parts.push(`<line x1="${legendX}" x2="${legendX + 20}" y1="${legendY}" y2="${legendY}" stroke="${item.color}" stroke-width="1.5"${item.dash}/>`);
    parts.push(`<text x="${legendX + 24}" y="${legendY + 4}" fill="${item.color}" font-size="11">${escapeXml(item.label)}</text>`);
  });
  const step = TICK_STEPS_SEC.find((s) => endSec / s <= 12) ?? TICK_STEPS_SEC.at(-1) ?? 10;
  for (let sec = 0; sec <= endSec; sec += step) parts.push(`<text x="${x(sec)}" y="${y(0) + 16}" text-anchor="middle" fill="#555">${sec} s</text>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${top}" y2="${y(0)}" stroke="#333"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
