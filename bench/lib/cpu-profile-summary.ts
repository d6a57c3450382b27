/**
 * Summarises V8 .cpuprofile files (node --cpu-prof; one per thread of a process, merged) of the
 * openscap worker's code path: the top self-time functions, and the self time split by stage. A
 * function without a source of its own (a V8 builtin, a regular expression, a native) is charged
 * to the stage of the nearest caller that has one, so "XML scan" includes the string work it asks
 * of V8.
 *
 * A profile's times are wall-clock samples: on a busy machine a thread that is preempted keeps
 * being charged to the function it was in. So with --cpu-ms-per-report (the CPU per report the
 * benchmark measured from /proc) the ms columns are the shares of that, not the sampled times.
 *
 *   node --import tsx bench/lib/cpu-profile-summary.ts <file.cpuprofile>... [--reports <n>] [--cpu-ms-per-report <ms>] [--top 25]
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
  ['XML scan (arf-xml-scanner)', /workers\/openscap\/arf-xml-scanner\./],
  ['collecting (arf-collector, arf-text)', /workers\/openscap\/arf-(collector|text)\./],
  ['report + JSON (arf-report, arf-json-size, arf-foreman-json)', /workers\/openscap\/arf-(report|json-size|foreman-json)\./],
  ['UTF-8 decode (StringDecoder)', /^node:string_decoder$/],
  ['hashing (sha256)', /^node:(internal\/)?crypto/],
  ['hub threads (task messages)', /hub\/threads\//],
  ['envelope decode (JSON.parse, zod)', /hub\/bus\/event-codec\.|node_modules\/zod\//],
];
const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function stageOf(frame: CallFrame): string | undefined {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  if (frame.url === '') return undefined;
  return STAGES.find(([, pattern]) => pattern.test(frame.url))?.[0] ?? 'everything else';
}

interface Totals {
  readonly byFunction: Map<string, { ms: number; stage: string }>;
  readonly byStage: Map<string, number>;
  totalMs: number;
}

function addProfile(profile: CpuProfile, totals: Totals): void {
  const { byFunction, byStage } = totals;
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
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as ProfileNode;
    const stage = stageOfNode(id);
    const ms = us / 1000;
    if (stage === '(idle)') continue;
    totals.totalMs += ms;
    byStage.set(stage, (byStage.get(stage) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*?\/(node_modules|hub|workers|bench|contracts)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    const entry = byFunction.get(key) ?? { ms: 0, stage };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
}

/** `cpuMsPerReport`: scale the shares to this measured figure instead of the sampled times. */
export function summarise(profiles: readonly CpuProfile[], reports: number, top: number, cpuMsPerReport?: number): string {
  const totals: Totals = { byFunction: new Map(), byStage: new Map(), totalMs: 0 };
  for (const profile of profiles) addProfile(profile, totals);
  const { byFunction, byStage, totalMs } = totals;
  const perReport = (ms: number): string => (cpuMsPerReport === undefined ? ms / reports : (ms / totalMs) * cpuMsPerReport).toFixed(1);
  const share = (ms: number): string => `${((ms / totalMs) * 100).toFixed(0)} %`;
  const scale = cpuMsPerReport === undefined ? `${perReport(totalMs)} ms per report as sampled` : `ms columns are shares of the measured ${cpuMsPerReport} ms CPU per report`;
  const lines = [
    `${(totalMs / 1000).toFixed(2)} s sampled (idle excluded) in ${profiles.length} profile(s) over ${reports} reports; ${scale}.`,
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
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { reports: { type: 'string' }, top: { type: 'string' }, 'cpu-ms-per-report': { type: 'string' } } });
  if (positionals.length === 0) throw new Error('usage: cpu-profile-summary.ts <file.cpuprofile>... [--reports <n>] [--cpu-ms-per-report <ms>] [--top 25]');
  const profiles = positionals.map((file) => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const measured = values['cpu-ms-per-report'];
  process.stdout.write(summarise(profiles, Number(values.reports ?? 1), Number(values.top ?? 25), measured === undefined ? undefined : Number(measured)));
}
