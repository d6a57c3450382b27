/**
 * Moving a delivery on: into a delay tier for a later attempt, or into the feature's dead-letter
 * queue with the reason. Both publish a copy with a broker confirm before the original is acked,
 * so a crash in between duplicates at worst and never loses.
 */
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { errorCodeOf, type ErrorCode } from '../../contracts/errors.ts';
import type { QueueFeature, Topology } from '../../contracts/topology.ts';
import type { Delivery, Publisher } from '../../hub/bus/transport.ts';


export function attemptOf(delivery: Pick<Delivery, 'headers'>): number {
  const value = Number(delivery.headers[deliveryHeaders.attempt]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** The delay before attempt `nextAttempt`: the tier list is walked once, then its last entry repeats. */
export function retryDelayFor(delaysMs: readonly number[], nextAttempt: number): number {
  const index = Math.min(nextAttempt - 2, delaysMs.length - 1);
  return delaysMs[Math.max(0, index)] as number;
}

function copyHeaders(delivery: Delivery): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(delivery.headers)) {
    // Broker-added death records would otherwise grow with every round trip through a tier.
    if (!key.startsWith('x-death') && !key.startsWith('x-first-death') && !key.startsWith('x-last-death') && key !== 'x-delivery-count') headers[key] = value;
  }
  return headers;
}

export interface Rerouter {
  scheduleRetry(delivery: Delivery, nextAttempt: number, delayMs: number): Promise<void>;
  deadLetter(delivery: Delivery, error: unknown, attempt: number): Promise<void>;
}

export function createRerouter(publisher: Publisher, topology: Topology, feature: QueueFeature): Rerouter {
  const base = (delivery: Delivery) => ({
    body: delivery.body,
    messageId: delivery.messageId ?? '',
    type: delivery.type ?? '',
    contentType: 'application/cloudevents+json',
  });
  return {
    scheduleRetry(delivery, nextAttempt, delayMs) {
      return publisher.publish({
        ...base(delivery),
        // Not the default exchange: write on it would let a worker write into every queue.
        exchange: topology.retryExchange(feature),
        routingKey: topology.retryQueue(feature, delayMs),
        headers: { ...copyHeaders(delivery), [deliveryHeaders.attempt]: nextAttempt, [deliveryHeaders.routingKey]: delivery.routingKey },
      });
    },
    deadLetter(delivery, error, attempt) {
      const code: ErrorCode = errorCodeOf(error);
      const upstreamStatus = (error as { upstreamStatus?: unknown }).upstreamStatus;
      return publisher.publish({
        ...base(delivery),
        exchange: topology.deadLetterExchange,
        routingKey: topology.workQueue(feature),
        headers: {
          ...copyHeaders(delivery),
          [deliveryHeaders.attempt]: attempt,
          [deliveryHeaders.errorCode]: code,
          [deliveryHeaders.reason]: error instanceof Error ? error.message.slice(0, 2000) : String(error),
          [deliveryHeaders.failedAt]: new Date().toISOString(),
          [deliveryHeaders.routingKey]: delivery.headers[deliveryHeaders.routingKey] ?? delivery.routingKey,
          ...(typeof upstreamStatus === 'number' ? { [deliveryHeaders.upstreamStatus]: upstreamStatus } : {}),
        },
      });
    },
  };
}
