/**
 * Reads a Prometheus text exposition the way a scraper does, enough for tests to compare
 * samples before and after: `name{label="value",…} number` lines, comments skipped.
 */
export type Samples = ReadonlyMap<string, number>;

function key(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.keys(labels).sort().map((label) => `${label}=${JSON.stringify(labels[label])}`).join(',')}}`;
}

export function parseSamples(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g)) labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, '$1');
    samples.set(key(match[1] as string, labels), Number(match[3]));
  }
  return samples;
}

/** The sample's value; 0 when the series is not there (a counter not yet incremented). */
export function sample(samples: Samples, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.get(key(name, labels)) ?? 0;
}

export function has(samples: Samples, name: string, labels: Readonly<Record<string, string>> = {}): boolean {
  return samples.has(key(name, labels));
}

export async function scrape(url: string, init: RequestInit = {}): Promise<Samples> {
  const response = await fetch(url, init);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return parseSamples(await response.text());
}
