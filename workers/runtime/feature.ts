/**
 * What a feature worker is: a name (the queue it consumes) and one handler per event type bound
 * to that queue. The mapped type makes a missing handler a compile error.
 */
import type { Envelope } from '../../contracts/envelope.ts';
import type { EventData, EventType } from '../../contracts/events/registry.ts';
import type { BoundEventType, QueueFeature } from '../../contracts/topology.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { ForemanClient } from './foreman-client.ts';

export interface FeatureContext {
  readonly foreman: ForemanClient;
  /** Publishes a follow-up event to the events exchange; resolves once confirmed. */
  publishEvent(envelope: Envelope): Promise<void>;
  readonly proxyName: string;
  readonly logger: Logger;
  /** Identifies this worker process in the `source` of events it produces. */
  readonly source: string;
}

export type EventHandler<T extends EventType> = (event: Envelope<T, EventData<T>>, context: FeatureContext) => Promise<void>;

export type FeatureHandlers<F extends QueueFeature> = { readonly [T in BoundEventType<F>]: EventHandler<T> };

export interface Feature<F extends QueueFeature = QueueFeature> {
  readonly name: F;
  readonly handlers: FeatureHandlers<F>;
  /** Caps the worker's prefetch for features whose messages are large or CPU-bound. */
  readonly maxPrefetch?: number;
}

/** Any one feature, whichever it is (what the shared runtime takes). */
export type AnyFeature = { [F in QueueFeature]: Feature<F> }[QueueFeature];

export function defineFeature<F extends QueueFeature>(name: F, handlers: FeatureHandlers<F>, options: { maxPrefetch?: number } = {}): Feature<F> {
  return { name, handlers, ...(options.maxPrefetch === undefined ? {} : { maxPrefetch: options.maxPrefetch }) };
}
