/**
 * Headers proxyhub adds to a message on its way through retries and dead letters; the workers
 * write them and `proxyhub dlq` reads them.
 */
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
