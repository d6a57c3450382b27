/**
 * Decides whether a listener takes one more request. It only reads signals that fall as soon as
 * the process refuses work: the requests it holds (admitted, not yet answered) and how late the
 * event loop runs a timer, which is how long a request that arrives now waits before its handler
 * runs. Event-loop utilisation is deliberately not one of them: refusing costs CPU as well, so
 * under a client that resends at once utilisation stays high and shedding would feed itself.
 *
 * The in-flight limit is a hard cap with no dead band: a slot that frees is taken by the next
 * request at once, so under overload the listener keeps accepting exactly as fast as it answers
 * (a low mark to drain to would idle it for as long as the drain takes, every cycle). Event-loop
 * lag is a spell: above its mark every new request is refused until the loop has stayed calm for
 * a while. A spell of either kind is reported once when it starts and once when it ends (the
 * cap's spell ends below ¾ of it), so the log does not flap with every freed slot. No timer of
 * its own and an injected clock, so the state machine is tested without waiting.
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
  /** Why the current spell began; undefined outside one. */
  let spell: ShedReason | undefined;
  let refused = 0;
  /** The loop lagged past its mark and has not been calm for DELAY_CALM_MS since. */
  let lagging = false;
  let lastLagAboveLowAt = Number.NEGATIVE_INFINITY;

  const begin = (reason: ShedReason): void => {
    spell = reason;
    refused = 0;
    options.onChange?.({ shedding: true, reason, refused, inflight });
  };
  const endWhenCalm = (): void => {
    if (lagging && options.now() - lastLagAboveLowAt >= DELAY_CALM_MS) lagging = false;
    if (spell === undefined || lagging) return;
    if (limits.maxInflight > 0 && inflight > lowInflight) return;
    spell = undefined;
    options.onChange?.({ shedding: false, reason: undefined, refused, inflight });
  };

  return {
    get shedding() {
      return spell !== undefined;
    },
    get inflight() {
      return inflight;
    },
    tryAdmit() {
      endWhenCalm();
      const full = limits.maxInflight > 0 && inflight >= limits.maxInflight;
      if (lagging || full) {
        if (spell === undefined) begin(lagging ? 'delay' : 'inflight');
        refused += 1;
        return false;
      }
      inflight += 1;
      return true;
    },
    release() {
      inflight = Math.max(0, inflight - 1);
      if (spell !== undefined) endWhenCalm();
    },
    observeLag(lagMs) {
      if (limits.maxDelayMs === 0) return;
      if (lagMs >= lowDelayMs) lastLagAboveLowAt = options.now();
      if (lagMs > limits.maxDelayMs) {
        lagging = true;
        if (spell === undefined) begin('delay');
      } else endWhenCalm();
    },
  };
}
