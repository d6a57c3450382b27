/**
 * The bounded window of publishes the broker has not settled yet, for a transport whose broker
 * settles each message on its own (AMQP 1.0 dispositions). A publish first takes a slot (first
 * come, first served; 503 OVERLOADED when none frees up before its deadline), then waits for its
 * outcome; past the deadline the client gets a TIMEOUT at once while the slot stays taken until
 * the broker answers, so a slow broker cannot be flooded by retries.
 */
import { ProxyhubError, type ErrorCode } from '../../contracts/errors.ts';

interface Pending {
  readonly deadline: number;
  settled: boolean;
  resolve(): void;
  reject(error: ProxyhubError): void;
}

interface SlotWaiter {
  readonly deadline: number;
  grant(): void;
  fail(code: ErrorCode): void;
}

const SWEEP_INTERVAL_MS = 50;

export class ConfirmWindow<K> {
  readonly #pending = new Map<K, Pending>();
  readonly #waiters: SlotWaiter[] = [];
  /** Slots granted to publishes that have not been sent yet. */
  #reserved = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #max: number;
  readonly #timeoutMs: number;

  constructor(options: { readonly maxUnsettled: number; readonly timeoutMs: number }) {
    this.#max = options.maxUnsettled;
    this.#timeoutMs = options.timeoutMs;
  }

  get size(): number {
    return this.#pending.size;
  }

  start(): void {
    this.#timer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Waits (at most `timeoutMs`) until the broker has settled every publish, before a publisher closes. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Takes a slot, waiting behind earlier publishes; `track` or `release` must follow. */
  async acquire(deadline: number): Promise<void> {
    if (this.#waiters.length === 0 && this.#pending.size + this.#reserved < this.#max) {
      this.#reserved += 1;
      return;
    }
    await new Promise<void>((grant, reject) => {
      this.#waiters.push({ deadline, grant, fail: (code) => reject(new ProxyhubError(code, 'too many unconfirmed publishes')) });
      this.#grant();
    });
  }

  /** Gives back a slot whose publish was never sent. */
  release(): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
    this.#grant();
  }

  /** Turns the reserved slot into a publish awaiting the broker's outcome. */
  track(key: K, deadline: number): Promise<void> {
    this.#reserved = Math.max(0, this.#reserved - 1);
    return new Promise<void>((resolve, reject) => this.#pending.set(key, { deadline, settled: false, resolve, reject }));
  }

  /** The broker's outcome: undefined for accepted, else the error the publisher answers with. */
  settle(key: K, error?: ProxyhubError): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    this.#pending.delete(key);
    this.#grant();
    if (entry.settled) return;
    entry.settled = true;
    if (error) entry.reject(error);
    else entry.resolve();
  }

  /** Fails everything in flight at once: a client must never wait out its own timeout. */
  failAll(code: ErrorCode, reason: string): void {
    for (const entry of this.#pending.values()) {
      if (!entry.settled) {
        entry.settled = true;
        entry.reject(new ProxyhubError(code, reason));
      }
    }
    this.#pending.clear();
    for (const waiter of this.#waiters.splice(0)) waiter.fail(code);
    this.#reserved = 0;
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#pending.size + this.#reserved < this.#max) {
      this.#reserved += 1;
      this.#waiters.shift()?.grant();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const entry of this.#pending.values()) {
      if (!entry.settled && entry.deadline <= now) {
        entry.settled = true;
        entry.reject(new ProxyhubError('PROXYHUB_BUS_TIMEOUT', `broker did not confirm within ${this.#timeoutMs} ms (plus transfer time for a large body)`));
      }
    }
    while (this.#waiters[0] !== undefined && this.#waiters[0].deadline <= now) this.#waiters.shift()?.fail('PROXYHUB_OVERLOADED');
  }
}

/**
 * The confirm deadline of one publish: the configured timeout, plus transfer time for a large
 * body at 10 MB/s (well under what a broker persists), so an 85 MB ARF upload does not time out
 * while its bytes are still on the wire.
 */
export function confirmDeadline(timeoutMs: number, bodyBytes: number): number {
  return Date.now() + timeoutMs + Math.ceil(bodyBytes / LARGE_BODY_BYTES_PER_MS);
}

const LARGE_BODY_BYTES_PER_MS = 10_000;
