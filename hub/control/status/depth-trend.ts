/**
 * Rates the control role can honestly give: it sees queue depths, not deliveries. From depth
 * samples it derives, per feature and per minute over the last minute, how the work queue's
 * backlog moves (net: arrivals minus deliveries) and how many dead letters arrived (only
 * increases count, so a replay that empties the queue is not a negative failure rate).
 */
import type { QueueFeature } from '../../../contracts/topology.ts';
import type { QueueDepth } from '../hub-status.ts';

export interface DepthRates {
  readonly workPerMinute: number | null;
  readonly deadLettersPerMinute: number | null;
}

interface Sample {
  readonly at: number;
  readonly depths: ReadonlyMap<QueueFeature, QueueDepth>;
}

/** Samples kept: a minute, plus one older so a full minute can be spanned. */
const WINDOW_MS = 60_000;
/** Below this span a rate says more about timing than about the queue. */
const MIN_SPAN_MS = 4000;

const perMinute = (amount: number, spanMs: number): number => Math.round((amount * 60_000 * 10) / spanMs) / 10;

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
          rates.set(depth.feature, { workPerMinute: null, deadLettersPerMinute: null });
          continue;
        }
        let added = 0;
        for (let i = 1; i < samples.length; i += 1) {
          const previous = samples[i - 1]?.depths.get(depth.feature)?.deadLetters ?? null;
          const next = samples[i]?.depths.get(depth.feature)?.deadLetters ?? null;
          if (previous !== null && next !== null && next > previous) added += next - previous;
        }
        rates.set(depth.feature, { workPerMinute: perMinute(depth.work - before.work, span), deadLettersPerMinute: perMinute(added, span) });
      }
      return rates;
    },
  };
}
