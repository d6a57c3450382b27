/**
 * Pauses every delivery to an upstream after it failed, so that a Foreman that is down sees one
 * probe per pause (growing, capped, jittered) instead of one request per queued event. While
 * paused, deliveries wait here holding their messages; the first to pass after the pause is the
 * probe, and the rest wait for its verdict.
 */
import { backoffDelay, withJitter } from '../../hub/bus/backoff.ts';

export interface UpstreamGateOptions {
  /** First pause after a failure. @defaultValue 500 */
  readonly basePauseMs?: number;
  /** @defaultValue 30000 */
  readonly maxPauseMs: number;
}

export class UpstreamGate {
  #failures = 0;
  #pausedUntil = 0;
  #probeInFlight = false;
  #wake: Array<() => void> = [];
  readonly #basePauseMs: number;
  readonly #maxPauseMs: number;

  constructor(options: UpstreamGateOptions) {
    this.#basePauseMs = options.basePauseMs ?? 500;
    this.#maxPauseMs = options.maxPauseMs;
  }

  get open(): boolean {
    return this.#failures === 0;
  }

  /**
   * Resolves when this caller may call the upstream (true when it is the probe after a pause);
   * rejects when `signal` aborts.
   */
  async pass(signal: AbortSignal): Promise<boolean> {
    while (this.#failures > 0) {
      signal.throwIfAborted();
      const wait = this.#pausedUntil - Date.now();
      if (wait <= 0 && !this.#probeInFlight) {
        this.#probeInFlight = true;
        return true;
      }
      await this.#sleep(wait > 0 ? wait : undefined, signal);
    }
    return false;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#probeInFlight = false;
    this.#notify();
  }

  /**
   * The upstream failed. Only the probe's failure, or the first failure while open, lengthens the
   * pause: calls already under way when the upstream went down fail together, and counting each
   * of them would jump a short blip straight to the longest pause.
   */
  failed(countsTowardPause = true): void {
    if (!countsTowardPause && this.#failures > 0) return;
    this.#failures += 1;
    const ceiling = backoffDelay({ initialMs: this.#basePauseMs, maxMs: this.#maxPauseMs }, this.#failures - 1);
    // Jitter keeps several workers from probing in lockstep.
    this.#pausedUntil = Date.now() + withJitter(ceiling);
    this.#probeInFlight = false;
    this.#notify();
  }

  /** The probe ended without reaching the upstream: let the next caller probe instead. */
  abandon(): void {
    this.#probeInFlight = false;
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  #sleep(ms: number | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#wake.push(done);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}
