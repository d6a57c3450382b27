/**
 * Decides whether a listener takes one more request. It only reads signals that fall as soon as
 * the process refuses work: the requests it holds (admitted, not yet answered) and how late the
 * event loop runs a timer, which is how long a request that arrives now waits before its handler
 * runs. Event-loop utilisation is deliberately not one of them: refusing costs CPU as well, so
 * under a client that resends at once utilisation stays high and shedding would feed itself.
 *
 * Hysteresis keeps the answer steady: shedding starts above a high mark and stops once every
 * signal is below its low mark. No timer of its own and an injected clock, so the state machine
 * is tested without waiting.
 */

export interface AdmissionLimits {
  /** Requests held at once before shedding; 0 turns the signal off. */
  readonly maxInflight: number;
  /** Event-loop lag (ms) above which shedding starts; 0 turns the signal off. */
  readonly maxDelayMs: number;
}

export type ShedReason = 'inflight' | 'delay';

export interface AdmissionChange {
  readonly shedding: boolean;
  /** Why shedding started; undefined when it stops. */
  readonly reason: ShedReason | undefined;
  /** Requests refused during the spell that just ended (0 when it starts). */
  readonly refused: number;
  readonly inflight: number;
}

/** Below this share of a high mark a signal counts as low again. */
export const RESUME_FRACTION = 0.75;
/**
 * How long the loop must stay below the low delay mark before shedding for delay stops: as long as
 * the Retry-After the refused clients were given, so a single calm timer tick after a long stall
 * does not reopen the door to the backlog the stall built up.
 */
export const DELAY_CALM_MS = 1000;

export interface AdmissionController {
  readonly shedding: boolean;
  readonly inflight: number;
  /** true: the request is admitted and `release()` must follow once it is answered. */
  tryAdmit(): boolean;
  release(): void;
  /** One event-loop lag sample, in ms. */
  observeLag(lagMs: number): void;
}

export function createAdmissionController(limits: AdmissionLimits, options: { readonly now: () => number; readonly onChange?: (change: AdmissionChange) => void }): AdmissionController {
  const lowInflight = Math.floor(limits.maxInflight * RESUME_FRACTION);
  const lowDelayMs = limits.maxDelayMs * RESUME_FRACTION;
  let inflight = 0;
  let shedding = false;
  let refused = 0;
  let lastLagAboveLowAt = Number.NEGATIVE_INFINITY;

  const enter = (reason: ShedReason): void => {
    shedding = true;
    refused = 0;
    options.onChange?.({ shedding, reason, refused, inflight });
  };
  const leaveWhenCalm = (): void => {
    const inflightLow = limits.maxInflight === 0 || inflight <= lowInflight;
    const delayLow = limits.maxDelayMs === 0 || options.now() - lastLagAboveLowAt >= DELAY_CALM_MS;
    if (!inflightLow || !delayLow) return;
    shedding = false;
    options.onChange?.({ shedding, reason: undefined, refused, inflight });
  };

  return {
    get shedding() {
      return shedding;
    },
    get inflight() {
      return inflight;
    },
    tryAdmit() {
      if (shedding) leaveWhenCalm();
      else if (limits.maxInflight > 0 && inflight >= limits.maxInflight) enter('inflight');
      if (shedding) {
        refused += 1;
        return false;
      }
      inflight += 1;
      return true;
    },
    release() {
      inflight = Math.max(0, inflight - 1);
    },
    observeLag(lagMs) {
      if (limits.maxDelayMs === 0) return;
      if (lagMs >= lowDelayMs) lastLagAboveLowAt = options.now();
      if (!shedding && lagMs > limits.maxDelayMs) enter('delay');
      else if (shedding) leaveWhenCalm();
    },
  };
}
