/**
 * CPU use of several processes over a run, sampled on the wall clock, so that a run made of
 * phases (timed by another process) can be split afterwards: who used the cores during the peak,
 * and who during the overload.
 */
import { cpuSecondsOf } from './proc-stats.ts';

export interface CpuTimeline {
  /** Date.now() of each sample. */
  readonly atEpochMs: readonly number[];
  /** CPU seconds each process had used at each sample (null once it is gone). */
  readonly seconds: Readonly<Record<string, ReadonlyArray<number | null>>>;
}

export function sampleCpuTimeline(pids: Readonly<Record<string, number>>, everyMs = 250): { stop(): CpuTimeline } {
  const atEpochMs: number[] = [];
  const seconds: Record<string, Array<number | null>> = Object.fromEntries(Object.keys(pids).map((name) => [name, []]));
  const sample = (): void => {
    atEpochMs.push(Date.now());
    for (const [name, pid] of Object.entries(pids)) seconds[name]?.push(cpuSecondsOf(pid));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { atEpochMs, seconds };
    },
  };
}

/** % of one core each process used between two instants (the samples nearest inside them). */
export function cpuPercentBetween(timeline: CpuTimeline, fromEpochMs: number, toEpochMs: number): Record<string, number> {
  const first = timeline.atEpochMs.findIndex((at) => at >= fromEpochMs);
  const last = timeline.atEpochMs.findLastIndex((at) => at <= toEpochMs);
  if (first < 0 || last <= first) return {};
  const wallSec = ((timeline.atEpochMs[last] ?? 0) - (timeline.atEpochMs[first] ?? 0)) / 1000;
  const percent: Record<string, number> = {};
  for (const [name, series] of Object.entries(timeline.seconds)) {
    const [start, end] = [series[first], series[last]];
    if (start != null && end != null) percent[name] = ((end - start) / wallSec) * 100;
  }
  return percent;
}
