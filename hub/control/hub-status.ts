/**
 * What `proxyhub status` (cli/status.ts) and the control listener's status page
 * (hub/control/status/) both show: each feature's work-queue and dead-letter depth, the REX job
 * counts, and what needs attention. One module, so the screen and the page cannot disagree.
 */
import type { SmartProxyFeature } from '../../contracts/capabilities.ts';
import type { CapabilitySnapshot } from '../../contracts/http/capabilities.ts';
import { errorMessage } from '../../contracts/errors.ts';
import { queueFeatures, type QueueFeature, type Topology } from '../../contracts/topology.ts';
import type { QueueBrowser } from '../bus/transport.ts';
import type { RexTaskStore } from '../jobs/rex-job-store.ts';

export interface Probe {
  readonly url: string;
  readonly ok: boolean;
  readonly error?: string;
}

export interface QueueDepth {
  readonly feature: QueueFeature;
  /** null: the queue is not declared (no process of the feature has started yet). */
  readonly work: number | null;
  readonly deadLetters: number | null;
}

export interface RexJobCounts {
  /** Host jobs and batches not finished (queued, waiting for a pull host, or running). */
  readonly running: number;
  /** Ended and kept for Foreman to read (PROXYHUB_REX_KEEP_FINISHED_SECONDS). */
  readonly stopped: number;
}

/** Bounds one probe: a dependency that does not answer must cost seconds, never hang the caller. */
export type Bound = <T>(work: Promise<T>) => Promise<T>;

const notDeclared = (error: unknown): boolean => /does not exist|NOT_FOUND|not[ _]found/i.test(errorMessage(error));

/** Each feature's work-queue and dead-letter depth, as the broker counts them now. */
export async function readQueueDepths(openBrowser: () => Promise<QueueBrowser>, topology: Topology, bound: Bound): Promise<QueueDepth[]> {
  const depths: QueueDepth[] = [];
  for (const feature of queueFeatures) {
    // One browser per feature: on AMQP 0-9-1 asking for a queue that does not exist closes the channel.
    const browser = await bound(openBrowser());
    try {
      const count = (queue: string): Promise<number | null> =>
        bound(browser.messageCount(queue)).catch((error: unknown) => {
          if (notDeclared(error)) return null;
          throw error;
        });
      const work = await count(topology.workQueue(feature));
      depths.push({ feature, work, deadLetters: work === null ? null : await count(topology.deadLetterQueue(feature)) });
    } finally {
      await browser.close().catch(() => undefined);
    }
  }
  return depths;
}

export async function readRexJobCounts(store: Pick<RexTaskStore, 'count'>): Promise<RexJobCounts> {
  const [running, stopped] = await Promise.all([store.count('running'), store.count('stopped')]);
  return { running, stopped };
}

export interface AttentionInput {
  readonly broker: Pick<Probe, 'ok'> & { readonly error?: string | undefined };
  readonly redis: Pick<Probe, 'ok'> & { readonly error?: string | undefined };
  readonly capabilities: CapabilitySnapshot | null;
  readonly queues: readonly QueueDepth[];
}

/** What needs an operator, in words (the dead-letter lines name the command that shows them); empty when all is well. */
export function attentionOf(expectedFeatures: readonly SmartProxyFeature[], status: AttentionInput): string[] {
  const notes: string[] = [];
  if (!status.broker.ok) notes.push(`the broker does not answer: ${status.broker.error ?? ''}`);
  if (!status.redis.ok) notes.push(`Redis does not answer: ${status.redis.error ?? ''}`);
  if (status.capabilities !== null) {
    if (status.capabilities.instances.length === 0) notes.push('no live proxyhub process announces itself on this prefix');
    for (const feature of expectedFeatures) {
      const view = status.capabilities.features[feature];
      if (view?.state !== 'running') notes.push(`expected feature ${feature} (PROXYHUB_FEATURES) is ${view === undefined ? 'provided by no live process' : view.state}`);
    }
  }
  for (const depth of status.queues) {
    if ((depth.deadLetters ?? 0) > 0) notes.push(`${depth.deadLetters ?? 0} dead letter(s) in ${depth.feature}: proxyhub dlq list --feature ${depth.feature}`);
  }
  return notes;
}
