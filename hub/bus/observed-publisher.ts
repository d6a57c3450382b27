/**
 * Counts what the broker did with each publish, for either transport: the transports already
 * turn every outcome into one PROXYHUB_BUS_* code (nack → REFUSED, basic.return or `released` →
 * UNROUTABLE, no confirm in time → TIMEOUT), so the outcome is read from the code here, once,
 * instead of inside both protocol implementations.
 */
import { errorCodeOf, type ErrorCode } from '../../contracts/errors.ts';
import type { OutgoingMessage, Publisher } from './transport.ts';

export const publishOutcomes = ['confirmed', 'nacked', 'returned', 'timeout', 'unavailable', 'blocked', 'failed'] as const;
export type PublishOutcome = (typeof publishOutcomes)[number];

const OUTCOME_OF: Partial<Record<ErrorCode, PublishOutcome>> = {
  PROXYHUB_BUS_REFUSED: 'nacked',
  PROXYHUB_BUS_UNROUTABLE: 'returned',
  PROXYHUB_BUS_TIMEOUT: 'timeout',
  PROXYHUB_BUS_UNAVAILABLE: 'unavailable',
  PROXYHUB_BUS_BLOCKED: 'blocked',
};

export function publishOutcomeOf(error: unknown): PublishOutcome {
  return OUTCOME_OF[errorCodeOf(error)] ?? 'failed';
}

/** `publisher`, with `onOutcome` told the outcome of every publish (settled or refused at once). */
export function observePublishes(publisher: Publisher, onOutcome: (outcome: PublishOutcome) => void): Publisher {
  const confirmed = (): void => onOutcome('confirmed');
  const refused = (error: unknown): never => {
    onOutcome(publishOutcomeOf(error));
    throw error;
  };
  return {
    get state() {
      return publisher.state;
    },
    start: () => publisher.start(),
    publish: (message: OutgoingMessage) => publisher.publish(message).then(confirmed, refused),
    close: () => publisher.close(),
  };
}
