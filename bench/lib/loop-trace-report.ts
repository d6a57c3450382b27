/**
 * The benchmark's side of bench/lib/loop-trace.mjs: the settings that load it into a hub, and
 * its per-second lines summed over a phase.
 */
import { readFileSync } from 'node:fs';

/** As a file URL: NODE_OPTIONS splits on spaces, and a URL has none. */
const HOOK = new URL('./loop-trace.mjs', import.meta.url).href;

interface LoopTraceLine {
  readonly pid: number;
  /** The line covers (sinceEpochMs, atEpochMs]. */
  readonly sinceEpochMs: number;
  readonly atEpochMs: number;
  readonly turns: number;
  readonly requests: number;
  readonly turnMsSum: number;
  readonly turnMsMax: number;
  readonly turnMsP99: number;
}

/** How the ingress's event loop ran through one phase, over all its processes. */
export interface LoopStats {
  /** Ingress processes that served requests in the phase. */
  readonly processes: number;
  /** Turns that handled requests, per second and process (over the seconds that had any). */
  readonly turnsPerSec: number;
  readonly requestsPerTurn: number;
  readonly meanTurnMs: number;
  /** The median over the phase's seconds of each second's 99th-percentile turn (its slowest, under 100 turns). */
  readonly p99TurnMs: number;
  readonly maxTurnMs: number;
}

/** Environment for a hub whose ingress processes should trace their loop into `file`. */
export function loopTraceEnvironment(file: string): Record<string, string> {
  const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${inherited}--import=${HOOK}`, BENCH_LOOP_TRACE_FILE: file };
}

export function readLoopTrace(file: string): LoopTraceLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      return line.trim() === '' ? [] : [JSON.parse(line) as LoopTraceLine];
    } catch {
      return []; // a line cut short by a process killed mid-write
    }
  });
}

/** The lines whose whole span lies within [fromMs, toMs]: a phase's first and last partial seconds are left out. */
export function loopStatsBetween(lines: readonly LoopTraceLine[], fromMs: number, toMs: number): LoopStats | null {
  const inPhase = lines.filter((line) => line.sinceEpochMs >= fromMs && line.atEpochMs <= toMs);
  if (inPhase.length === 0) return null;
  const processes = new Set(inPhase.map((line) => line.pid)).size;
  // Seconds of each process's own lines, summed: turns over them is the rate per process.
  const processSeconds = inPhase.reduce((sum, line) => sum + (line.atEpochMs - line.sinceEpochMs), 0) / 1000;
  const turns = inPhase.reduce((sum, line) => sum + line.turns, 0);
  const requests = inPhase.reduce((sum, line) => sum + line.requests, 0);
  const p99s = inPhase.map((line) => line.turnMsP99).sort((a, b) => a - b);
  return {
    processes,
    turnsPerSec: processSeconds > 0 ? turns / processSeconds : 0,
    requestsPerTurn: requests / turns,
    meanTurnMs: inPhase.reduce((sum, line) => sum + line.turnMsSum, 0) / turns,
    p99TurnMs: p99s[Math.floor(p99s.length / 2)] ?? 0,
    maxTurnMs: Math.max(...inPhase.map((line) => line.turnMsMax)),
  };
}
