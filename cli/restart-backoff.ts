/**
 * How long the supervisor waits before starting a crashed role again: doubling from half a
 * second to a cap, each delay drawn from its upper half so that roles that crashed together (a
 * broker restart) do not all come back in the same instant.
 */

/** First restart delay. @defaultValue 500 */
export const RESTART_BASE_MS = 500;
/** Longest restart delay: a crash loop retries twice a minute, not faster. @defaultValue 30000 */
export const RESTART_CAP_MS = 30_000;
/** A child that ran this long before it crashed starts again from the first delay. @defaultValue 60000 */
export const RESTART_STABLE_MS = 60_000;

/** The delay before restart number `attempt` (0 for the first) of a crash loop. */
export function restartDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
