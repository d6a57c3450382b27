/**
 * The movement the control role can honestly report: it sees queue depths, not deliveries. From
 * depth samples it derives, per feature over the last minute (or as long as it has watched, if
 * less), how much the work queue's backlog grew or shrank (arrivals minus deliveries) and how
 * many dead letters arrived (only increases count, so a replay that empties the queue is not a
 * negative failure). Counts over a stated span, not extrapolated rates: one dead letter in five
 * seconds is shown as that, not as twelve a minute.
 */
import type { QueueFeature } from '../../../contracts/topology.ts';
import type { QueueDepth } from '../hub-status.ts';

export interface DepthRates {
  readonly workChange: number | null;
  readonly deadLettersAdded: number | null;
  /** The span both are counted over, in whole seconds; null before two samples are far enough apart. */
  readonly trendSeconds: number | null;
}

interface Sample {
  readonly at: number;
  readonly depths: ReadonlyMap<QueueFeature, QueueDepth>;
}

/** Samples kept: a minute, plus one older so a full minute can be spanned. */
const WINDOW_MS = 60_000;
/** Below this span a change says more about timing than about the queue. */
const MIN_SPAN_MS = 4000;
const NO_TREND: DepthRates = { workChange: null, deadLettersAdded: null, trendSeconds: null };

export function createDepthTrend(): { add(at: number, depths: readonly QueueDepth[]): ReadonlyMap<QueueFeature, DepthRates> } {
  const samples: Sample[] = [];
  return {
    add(at, depths) {
      samples.push({ at, depths: new Map(depths.map((depth) => [depth.feature, depth])) });
      while (samples.length > 2 && (samples[1]?.at ?? at) <= at - WINDOW_MS) samples.shift();
      const first = samples[0];
      const rates = new Map<QueueFeature, DepthRates>();
      for (const depth of depths) {
        const span = first === undefined ? 0 : at - first.at;
        const before = first?.depths.get(depth.feature);
        if (span < MIN_SPAN_MS || before?.work == null || depth.work === null) {
          rates.set(depth.feature, NO_TREND);
          continue;
        }
        let added = 0;
        for (let i = 1; i < samples.length; i += 1) {
          const previous = samples[i - 1]?.depths.get(depth.feature)?.deadLetters ?? null;
          const next = samples[i]?.depths.get(depth.feature)?.deadLetters ?? null;
          if (previous !== null && next !== null && next > previous) added += next - previous;
        }
        rates.set(depth.feature, { workChange: depth.work - before.work, deadLettersAdded: added, trendSeconds: Math.round(span / 1000) });
      }
      return rates;
    },
  };
}
