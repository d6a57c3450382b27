/**
 * The newest dead letters with their reasons. Reading them browses the dead-letter queues (each
 * message is taken and handed back), so they are read again only when a dead-letter depth
 * changed, and at most FAILURES_READ per feature: a page left open does not churn the queues.
 */
import type { QueueFeature } from '../../../contracts/topology.ts';
import type { DeadLetterService, DeadLetterSummary } from '../dead-letters.ts';
import type { QueueDepth } from '../hub-status.ts';

export type Failure = DeadLetterSummary;

/** Dead letters read per feature (the queue is oldest first, so a long queue shows its head). */
const FAILURES_READ = 50;
/** Failures shown, newest first. */
export const FAILURES_SHOWN = 10;

export function newestFailures(deadLetters: Pick<DeadLetterService, 'list'>): { read(depths: readonly QueueDepth[]): Promise<Failure[]> } {
  let key: string | undefined;
  let last: Failure[] = [];
  return {
    async read(depths) {
      const now = depths.map((depth) => `${depth.feature}=${depth.deadLetters ?? '-'}`).join(',');
      if (now === key) return last;
      const features = depths.filter((depth) => (depth.deadLetters ?? 0) > 0).map((depth) => depth.feature);
      const lists = await Promise.all(features.map((feature: QueueFeature) => deadLetters.list({ feature, limit: FAILURES_READ })));
      last = lists
        .flat()
        .sort((a, b) => b.failedAt.localeCompare(a.failedAt))
        .slice(0, FAILURES_SHOWN);
      key = now;
      return last;
    },
  };
}
