/**
 * Headers proxyhub adds to a message on its way through retries and dead letters; the workers
 * write them and `proxyhub dlq` reads them.
 */
import { z } from 'zod';

export const deliveryHeaders = {
  attempt: 'x-proxyhub-attempt',
  errorCode: 'x-proxyhub-error-code',
  reason: 'x-proxyhub-reason',
  failedAt: 'x-proxyhub-failed-at',
  upstreamStatus: 'x-proxyhub-upstream-status',
  /** The event's own routing key (its type), kept while the message detours through a tier. */
  routingKey: 'x-proxyhub-routing-key',
  replayedAt: 'x-proxyhub-replayed-at',
} as const;

/**
 * The headers as a dead letter carries them, for the AsyncAPI document. A message the broker
 * dead-lettered by its delivery limit has none of proxyhub's, only the broker's `x-death`.
 */
export const deadLetterHeadersSchema = z.looseObject({
  [deliveryHeaders.attempt]: z.number().int().min(1).describe('Delivery attempts made, the failed one included.'),
  [deliveryHeaders.errorCode]: z.string().describe('Catalog code of the failure (docs/errors.md).'),
  [deliveryHeaders.reason]: z.string().max(2000).describe('Why it failed, in words.'),
  [deliveryHeaders.failedAt]: z.iso.datetime().describe('When it was dead-lettered.'),
  [deliveryHeaders.upstreamStatus]: z.number().int().optional().describe('Foreman’s HTTP status, when Foreman refused it.'),
  [deliveryHeaders.routingKey]: z.string().describe('The event type it was published with.'),
  [deliveryHeaders.replayedAt]: z.iso.datetime().optional().describe('When an operator last replayed it.'),
});

/** The headers a message carries through a delay tier back to its work queue. */
export const retryHeadersSchema = z.looseObject({
  [deliveryHeaders.attempt]: z.number().int().min(1).describe('The attempt this delivery will be.'),
  [deliveryHeaders.routingKey]: z.string().describe('The event type it was published with.'),
});
