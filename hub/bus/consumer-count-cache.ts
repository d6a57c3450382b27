/**
 * Whether anyone consumes a queue, for the RPC clients: a request nobody will take would otherwise
 * wait out its whole timeout. The answer is kept briefly, so the check costs one round trip to the
 * broker now and then rather than one per request.
 */

/** How long a queue's consumer count is taken as known. */
const CONSUMER_CHECK_MS = 2000;

export class ConsumerCountCache {
  readonly #counts = new Map<string, { readonly at: number; readonly count: Promise<number> }>();

  /** `lookup` asks the broker for the count; one that fails counts as no consumer. */
  hasConsumers(queue: string, lookup: (queue: string) => Promise<number>): Promise<boolean> {
    const cached = this.#counts.get(queue);
    if (cached && Date.now() - cached.at < CONSUMER_CHECK_MS) return cached.count.then((count) => count > 0);
    const count = lookup(queue).catch(() => 0);
    this.#counts.set(queue, { at: Date.now(), count });
    return count.then((n) => n > 0);
  }
}
