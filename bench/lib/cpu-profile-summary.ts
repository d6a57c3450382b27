/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) of the openscap worker's code path: the top
 * self-time functions, and the self time split by stage. A function without a source of its own
 * (a V8 builtin such as String.prototype.slice, a native) is charged to the stage of the nearest
 * caller that has one, so "SAX parse" includes the string work saxes asks of V8.
 *
 *   node --import tsx bench/lib/cpu-profile-summary.ts <file.cpuprofile> [--reports <n>] [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Stages by where the code lives, first match wins. */
const STAGES: ReadonlyArray<readonly [string, RegExp]> = [
  ['bzip2 decode', /hub\/codec\/bzip2\//],
  ['SAX parse (saxes)', /node_modules\/(saxes|xmlchars)\//],
  ['collecting (arf-collector, arf-text)', /workers\/openscap\/arf-(collector|text)\./],
  ['report + JSON (arf-report, arf-json-size, arf-foreman-json)', /workers\/openscap\/arf-(report|json-size|foreman-json)\./],
  ['UTF-8 decode (StringDecoder)', /^node:string_decoder$/],
  ['hashing (sha256)', /^node:(internal\/)?crypto/],
  ['envelope decode (JSON.parse, zod)', /hub\/bus\/event-codec\.|node_modules\/zod\//],
];
const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function stageOf(frame: CallFrame): string | undefined {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  if (frame.url === '') return undefined;
  return STAGES.find(([, pattern]) => pattern.test(frame.url))?.[0] ?? 'everything else';
}

export function summarise(profile: CpuProfile, reports: number, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const stageOfNode = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const stage = stageOf((byId.get(at) as ProfileNode).callFrame);
      if (stage !== undefined) return stage;
    }
    return 'everything else';
  };
  const byFunction = new Map<string, { ms: number; stage: string }>();
  const byStage = new Map<string, number>();
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as ProfileNode;
    const stage = stageOfNode(id);
    const ms = us / 1000;
    if (stage === '(idle)') continue;
    totalMs += ms;
    byStage.set(stage, (byStage.get(stage) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*?\/(node_modules|hub|workers|bench|contracts)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    const entry = byFunction.get(key) ?? { ms: 0, stage };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
  const perReport = (ms: number): string => (ms / reports).toFixed(1);
  const share = (ms: number): string => `${((ms / totalMs) * 100).toFixed(0)} %`;
  const lines = [
    `${(totalMs / 1000).toFixed(2)} s of CPU sampled (idle excluded) over ${reports} reports: ${perReport(totalMs)} ms per report.`,
    '',
    '| stage | ms per report | share |',
    '|---|---:|---:|',
    ...[...byStage].sort((a, b) => b[1] - a[1]).map(([stage, ms]) => `| ${stage} | ${perReport(ms)} | ${share(ms)} |`),
    '',
    `| top ${top} functions by self time | stage | ms per report | share |`,
    '|---|---|---:|---:|',
    ...[...byFunction].sort((a, b) => b[1].ms - a[1].ms).slice(0, top).map(([name, { ms, stage }]) => `| \`${name}\` | ${stage} | ${perReport(ms)} | ${share(ms)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { reports: { type: 'string' }, top: { type: 'string' } } });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: cpu-profile-summary.ts <file.cpuprofile> [--reports <n>] [--top 25]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(summarise(profile, Number(values.reports ?? 1), Number(values.top ?? 25)));
}
