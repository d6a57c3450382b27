/**
 * The frame both benchmark charts share: canvas, title, horizontal grid with labelled ticks.
 * Hand-written SVG, small enough to read in a diff, with no charting dependency.
 */
export const WIDTH = 640;
export const HEIGHT = 360;
export const PLOT = { left: 70, right: 20, top: 60, bottom: 50 } as const;

export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round axis maximum: 1, 2 or 5 times a power of ten above the largest value. */
export function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, value)));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? value * 1.1;
}

export interface ChartFrame {
  /** SVG elements so far; the caller appends bars and closes with `</svg>`. */
  readonly parts: string[];
  /** Value → y coordinate. */
  readonly y: (value: number) => number;
  readonly plotWidth: number;
  readonly plotHeight: number;
  /** y of the plot's top edge: PLOT.top, lower by `extraTop`. */
  readonly top: number;
}

/** `extraTop`: more room above the plot (a legend of several rows); the canvas grows by as much. */
export function chartFrame(title: string, max: number, tickLabel: (value: number) => string, extraTop = 0): ChartFrame {
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const top = PLOT.top + extraTop;
  const height = HEIGHT + extraTop;
  const y = (value: number): number => top + plotHeight * (1 - value / max);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i += 1) {
    const value = (max / 5) * i;
    parts.push(`<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${y(value) + 4}" text-anchor="end" fill="#555">${tickLabel(value)}</text>`);
  }
  return { parts, y, plotWidth, plotHeight, top };
}
