/**
 * SCAP content and tailoring files, kept in the ingress's memory. Thousands of hosts fetch the
 * same policy file when their scan cron fires; a file is named by its digest, so a cached copy
 * never goes stale and one fetch from Foreman serves them all. Concurrent misses of the same
 * file share one fetch; the cache is bounded by total bytes, least recently used out first.
 */
export interface PolicyFileAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
  /** False for a file that is not what its name says (its sha256 is not the digest asked for). */
  readonly cacheable?: boolean;
}

export class PolicyFileCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, PolicyFileAnswer>();
  readonly #inFlight = new Map<string, Promise<PolicyFileAnswer>>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The cached file, or what `fetch` answers (shared with every concurrent caller of the same
   * key). Only a 200 that is cacheable is kept; anything else is asked again next time.
   */
  async get(key: string, fetch: () => Promise<PolicyFileAnswer>): Promise<PolicyFileAnswer> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Map order is insertion order: re-inserting makes this the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const fetching = fetch()
      .then((answer) => {
        if (answer.status === 200 && answer.cacheable !== false) this.#store(key, answer);
        return answer;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, fetching);
    return fetching;
  }

  #store(key: string, answer: PolicyFileAnswer): void {
    if (answer.body.length > this.#maxBytes) return;
    this.#entries.set(key, answer);
    this.#bytes += answer.body.length;
    for (const [oldest, evicted] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= evicted.body.length;
    }
  }
}
