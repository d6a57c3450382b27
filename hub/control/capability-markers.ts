/**
 * A capability reader's own markers (`capability.sync-requested.v1`) in the stream it reads: one
 * is written, and the reader waits until it reads that very marker back. At start this says the
 * replay is complete; later it proves the subscription still delivers. Each marker is awaited by
 * its event id, so a marker that was late (its publish timed out, yet the broker stored it) can
 * never pass for a newer one.
 */
import { createEvent } from '../../contracts/events/create-event.ts';
import { encodeEvent } from '../bus/event-codec.ts';
import type { Publisher } from '../bus/transport.ts';

export interface MarkerRoundTrip {
  /** Settles when the broker took the marker (rejects when it did not). */
  readonly published: Promise<void>;
  /** True once the marker was read back, false after the timeout. */
  readonly back: Promise<boolean>;
}

export interface CapabilityMarkers {
  /** Writes a marker and starts waiting for it (the wait starts first, so it cannot be missed). */
  roundTrip(timeoutMs: number): MarkerRoundTrip;
  /** The reader read one of this reader's markers. */
  seen(eventId: string): void;
  /** Forgets every wait (at close); their promises resolve false at their timeouts. */
  clear(): void;
}

export function createCapabilityMarkers(options: { readonly publisher: Publisher; readonly exchange: string; readonly readerId: string }): CapabilityMarkers {
  const waiting = new Map<string, () => void>();
  return {
    roundTrip(timeoutMs) {
      const envelope = createEvent('capability.sync-requested.v1', { readerId: options.readerId }, { source: `proxyhub/${options.readerId}` });
      const back = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(envelope.id);
          resolve(false);
        }, timeoutMs);
        timer.unref();
        waiting.set(envelope.id, () => {
          clearTimeout(timer);
          waiting.delete(envelope.id);
          resolve(true);
        });
      });
      const published = options.publisher.publish(encodeEvent(envelope, options.exchange));
      return { published, back };
    },
    seen(eventId) {
      waiting.get(eventId)?.();
    },
    clear() {
      waiting.clear();
    },
  };
}
