/**
 * The benchmark's side of bench/lib/loop-trace.mjs: the settings that load it into a hub, and
 * its per-second lines summed over a phase.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('./loop-trace.mjs', import.meta.url));

interface LoopTraceLine {
  readonly pid: number;
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
  /** Turns that handled requests, per second and process. */
  readonly turnsPerSec: number;
  readonly requestsPerTurn: number;
  readonly meanTurnMs: number;
  /** The median over the phase's seconds of each second's 99th-percentile turn. */
  readonly p99TurnMs: number;
  readonly maxTurnMs: number;
}

/** Environment for a hub whose ingress processes should trace their loop into `file`. */
export function loopTraceEnvironment(file: string): Record<string, string> {
  const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${inherited}--import ${HOOK}`, BENCH_LOOP_TRACE_FILE: file };
}

export function readLoopTrace(file: string): LoopTraceLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LoopTraceLine);
}

/** The lines written within (fromMs + 1 s, toMs]: each covers the second before it, so all of it lies in the phase. */
export function loopStatsBetween(lines: readonly LoopTraceLine[], fromMs: number, toMs: number): LoopStats | null {
  const inPhase = lines.filter((line) => line.atEpochMs > fromMs + 1000 && line.atEpochMs <= toMs);
  if (inPhase.length === 0) return null;
  const processes = new Set(inPhase.map((line) => line.pid)).size;
  const seconds = (toMs - fromMs - 1000) / 1000;
  const turns = inPhase.reduce((sum, line) => sum + line.turns, 0);
  const requests = inPhase.reduce((sum, line) => sum + line.requests, 0);
  const p99s = inPhase.map((line) => line.turnMsP99).sort((a, b) => a - b);
  return {
    processes,
    turnsPerSec: turns / seconds / processes,
    requestsPerTurn: requests / turns,
    meanTurnMs: inPhase.reduce((sum, line) => sum + line.turnMsSum, 0) / turns,
    p99TurnMs: p99s[Math.floor(p99s.length / 2)] ?? 0,
    maxTurnMs: Math.max(...inPhase.map((line) => line.turnMsMax)),
  };
}
