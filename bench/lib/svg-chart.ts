/**
 * A hand-written SVG bar chart of the four rates with the limit and the 0.6 × limit target as
 * horizontal lines: small enough to read in a diff, and no charting dependency.
 */
import { renderBars } from './svg-bars.ts';
import type { ScenarioResult } from './types.ts';

const COLORS: Readonly<Record<string, string>> = { raw: '#7f8c8d', 'raw-matched': '#b0b7bb', 'raw-paced': '#d0d3d4', noop: '#95a5a6', limit: '#34495e', naive: '#e67e22', hub: '#2980b9' };

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');


export function renderChart(scenarios: readonly ScenarioResult[], title: string, targetRatio: number): string {
  const limit = scenarios.find((s) => s.scenario === 'limit')?.rate ?? 0;
  return renderBars(
    title,
    scenarios.map((s) => ({ label: s.scenario, value: s.rate, color: COLORS[s.scenario] ?? '#999', sublabel: s.unit })),
    [
      { value: limit, label: `limit ${fmt(limit)}/s`, color: '#34495e' },
      { value: limit * targetRatio, label: `target ${targetRatio} × limit = ${fmt(limit * targetRatio)}/s`, color: '#c0392b' },
    ],
  );
}
