/**
 * Exponential back-off, the one formula every retry loop in proxyhub uses: consumers re-attaching,
 * a publish channel reopening, an AMQP 1.0 reconnect, Redis reconnects, REX callbacks and the
 * workers' upstream pause. Each caller names its own first pause and ceiling.
 */

export interface BackoffPolicy {
  /** The pause before the first retry. */
  readonly initialMs: number;
  /** No pause is longer than this. */
  readonly maxMs: number;
}

/** Past this many doublings every realistic ceiling is reached; capping keeps the number finite. */
const MAX_DOUBLINGS = 20;

/** The pause before retry `attempt` (0 for the first): doubling from `initialMs`, at most `maxMs`. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(0, attempt), MAX_DOUBLINGS));
}

/** Somewhere in the upper half of `delayMs`: processes failing together do not retry in lockstep. */
export function withJitter(delayMs: number, random: () => number = Math.random): number {
  return delayMs / 2 + random() * (delayMs / 2);
}

/** A consumer whose queue cannot be consumed now (deleted, refused): try again, less and less often. */
export const REATTACH_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/** A broker or Redis connection, or a channel on one: back quickly after a blip, every 5 s at worst. */
export const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000 };
