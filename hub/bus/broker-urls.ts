/**
 * Several nodes of one RabbitMQ cluster behind one setting: `PROXYHUB_AMQP_URL` holds a
 * comma-separated list. Every connection (both transports) walks the list: it starts at a random
 * node, so that the replicas of a role spread over the cluster instead of all landing on the
 * first node, and after a failed attempt or a lost connection it moves to the next one, with the
 * usual jittered backoff between attempts (hub/bus/backoff.ts).
 */

/** The URLs of a comma-separated list, blanks dropped. A single URL is a list of one. */
export function brokerUrls(list: string): string[] {
  return list
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}

/** Where a connection is and where it goes next; one per recovering connection. */
export class BrokerRotation {
  readonly #urls: readonly string[];
  #index: number;

  constructor(list: string, random: () => number = Math.random) {
    const urls = brokerUrls(list);
    if (urls.length === 0) throw new Error('no broker URL given');
    this.#urls = urls;
    this.#index = Math.floor(random() * urls.length) % urls.length;
  }

  /** The node to try now. */
  get current(): string {
    return this.#urls[this.#index] as string;
  }

  get size(): number {
    return this.#urls.length;
  }

  /** After a failed attempt or a lost connection: the next node in the list, round and round. */
  advance(): string {
    this.#index = (this.#index + 1) % this.#urls.length;
    return this.current;
  }
}

/**
 * One connect attempt per node, starting at a random one, for the short-lived connections of
 * operator tools and side channels: the first that succeeds wins; all failing, the last error.
 */
export async function connectToAny<T>(list: string, connect: (url: string) => Promise<T>, random: () => number = Math.random): Promise<T> {
  const rotation = new BrokerRotation(list, random);
  let lastError: unknown;
  for (let tried = 0; tried < rotation.size; tried++) {
    try {
      return await connect(rotation.current);
    } catch (error) {
      lastError = error;
      rotation.advance();
    }
  }
  throw lastError;
}
