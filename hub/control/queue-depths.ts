/**
 * `proxyhub_queue_depth`, read by the control role when it is scraped: the work queue and the
 * dead-letter queue of each feature, through one queue browser per reading. Readings are kept a
 * few seconds, so several scrapers (or a dashboard's refresh) cost the broker one round of
 * queue checks, not one each.
 */
import { queueFeatures, type QueueFeature, type Topology } from '../../contracts/topology.ts';
import type { QueueBrowser } from '../bus/transport.ts';
import type { QueueDepth, QueueDepthSource } from '../telemetry/metrics.ts';

/** Shorter than any sensible scrape interval (15 s is Prometheus's default). */
export const DEPTH_CACHE_MS = 5000;

export function createQueueDepthSource(openBrowser: () => Promise<QueueBrowser>, topology: Topology, features: readonly QueueFeature[] = queueFeatures): QueueDepthSource {
  let cached: { at: number; depths: Promise<readonly QueueDepth[]> } | undefined;
  const read = async (): Promise<readonly QueueDepth[]> => {
    const browser = await openBrowser();
    try {
      const depths: QueueDepth[] = [];
      for (const feature of features) {
        // A queue that is missing (or that this account may not see) is left out, not zero.
        const work = await browser.messageCount(topology.workQueue(feature)).catch(() => undefined);
        if (work !== undefined) depths.push({ feature, queue: 'work', messages: work });
        const dead = await browser.messageCount(topology.deadLetterQueue(feature)).catch(() => undefined);
        if (dead !== undefined) depths.push({ feature, queue: 'dead_letter', messages: dead });
      }
      return depths;
    } finally {
      await browser.close().catch(() => undefined);
    }
  };
  return () => {
    if (cached !== undefined && Date.now() - cached.at < DEPTH_CACHE_MS) return cached.depths;
    const depths = read();
    cached = { at: Date.now(), depths };
    // A failed reading is not kept: the next scrape tries again.
    depths.catch(() => (cached = undefined));
    return depths;
  };
}
