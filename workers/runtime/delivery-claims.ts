/**
 * Who is delivering an event right now, across every worker of a feature: a short Redis lease
 * per event id, renewed while the delivery runs. The event-id dedup is read before a delivery and
 * written after it, so it cannot see a copy still in flight elsewhere: when a broker node dies,
 * the broker hands the deliveries its consumers held to other workers while the first ones are
 * still calling Foreman (measured on a 3-node cluster with 300 ms Foreman answers: 81 uploads sent
 * twice). With the claim, the second copy waits until the first has delivered (then it is a
 * duplicate) or gave up (released, or the lease ran out because its worker died).
 * Only SET and EXISTS under the dedup keys: what a feature worker's Redis account may run
 * (contracts/broker-accounts.ts).
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../hub/jobs/redis.ts';

export interface DeliveryClaim {
  /** Lets a waiting copy go ahead at once (after a failure; a success is seen by the dedup record). */
  release(): Promise<void>;
}

export interface DeliveryClaims {
  /**
   * Resolves with the claim once this delivery may run, or 'delivered' once another copy was
   * delivered meanwhile. Rejects when `signal` aborts while waiting.
   */
  acquire(eventId: string, signal: AbortSignal): Promise<DeliveryClaim | 'delivered'>;
}

export interface DeliveryClaimsOptions {
  readonly redis: RedisClient;
  readonly claimKey: (eventId: string) => string;
  readonly isDelivered: (eventId: string) => Promise<boolean>;
  /** A dead worker's claims are free again after this long. @defaultValue 5000 */
  readonly leaseMs?: number;
  /** How often a waiting copy looks again. @defaultValue 100 */
  readonly pollMs?: number;
  /** Redis failing: the delivery goes ahead unclaimed (at-least-once, like the dedup lookup). */
  readonly onRedisError: (error: unknown) => void;
}

const NO_CLAIM: DeliveryClaim = { release: async () => undefined };

export function createDeliveryClaims(options: DeliveryClaimsOptions): DeliveryClaims {
  const { redis, leaseMs = 5000, pollMs = 100 } = options;

  function hold(key: string, token: string): DeliveryClaim {
    // Renewed well before it runs out; without an owner check (SET only): a holder stalled past
    // the lease may extend a successor's claim, which delays that one and duplicates nothing.
    const renewal = setInterval(() => {
      redis.set(key, token, 'PX', leaseMs, 'XX').catch(options.onRedisError);
    }, leaseMs / 3);
    renewal.unref();
    return {
      async release() {
        clearInterval(renewal);
        await redis.set(key, token, 'PX', 1, 'XX').catch(options.onRedisError);
      },
    };
  }

  return {
    async acquire(eventId, signal) {
      const key = options.claimKey(eventId);
      const token = randomUUID();
      for (;;) {
        signal.throwIfAborted();
        let taken: boolean;
        try {
          taken = (await redis.set(key, token, 'PX', leaseMs, 'NX')) === 'OK';
        } catch (error) {
          options.onRedisError(error);
          return NO_CLAIM;
        }
        if (taken) {
          const claim = hold(key, token);
          // The previous holder may have delivered and let go between our look and our claim.
          if (await options.isDelivered(eventId)) {
            await claim.release();
            return 'delivered';
          }
          return claim;
        }
        if (await options.isDelivered(eventId)) return 'delivered';
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
  };
}
