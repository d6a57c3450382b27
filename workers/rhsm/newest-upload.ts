/**
 * Coalescing of a host's uploads: only the newest of a kind (coalesceSlot) reaches Katello.
 *
 * Why a Redis marker per consumer and slot, compared in the worker: the ingress has no Redis and
 * must answer 202 as soon as the broker confirmed, so it cannot know of later uploads; the work
 * queue is shared by every host, so RabbitMQ cannot drop an older message for a newer one
 * (no per-key last-value queue in RabbitMQ 3.10). The marker holds the stamp (acceptance time,
 * then event id) of the newest upload any worker has seen; an upload older than the marker is
 * skipped, so an older profile is never delivered after a newer one, whatever the redelivery or
 * replay order. A fresh upload waits out a short window (PROXYHUB_RHSM_COALESCE_MS) from its
 * acceptance, then reads the marker again before it is delivered: uploads made in quick
 * succession all reach the worker (its prefetch holds them) and only the last one is sent. In a
 * backlog uploads are older than the window and are not held, but a host's uploads that arrive in
 * one prefetch burst still collapse into the newest. With several ingress processes the stamps
 * come from their clocks.
 */
import type { RedisScripts } from '../../hub/jobs/redis.ts';

/** Sets the marker to `stamp` when it is newer (or missing); answers the marker's value after. */
const OFFER = `
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return ARGV[1]
end
return current`;

export interface NewestUploads {
  /** Offers `stamp` as the newest for `key`; resolves with the newest stamp now known. */
  offer(key: string, stamp: string): Promise<string>;
  /** The newest stamp known for `key`, if any. */
  newest(key: string): Promise<string | undefined>;
}

/** Sorts by acceptance time (ISO 8601, one fixed width) and breaks ties by event id. */
export function uploadStamp(time: string, id: string): string {
  return `${new Date(time).toISOString()}|${id}`;
}

export function createNewestUploads(redis: RedisScripts, ttlSeconds: number): NewestUploads {
  return {
    async offer(key, stamp) {
      return String(await redis.eval(OFFER, 1, key, stamp, String(ttlSeconds)));
    },
    async newest(key) {
      return (await redis.get(key)) ?? undefined;
    },
  };
}
