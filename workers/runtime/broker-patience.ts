/**
 * Publishing a retry or a dead letter when the broker is blocking publishers (memory or disk
 * alarm) or briefly unreachable: wait for it, holding the delivery, instead of handing the
 * message straight back. A requeue would come back at once, spin, and reach the quorum delivery
 * limit in milliseconds, dead-lettering events that were only waiting for the broker.
 */
import { isProxyhubError } from '../../contracts/errors.ts';

const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 5000;

function isBrokerPushback(error: unknown): boolean {
  return isProxyhubError(error) && (error.code.startsWith('PROXYHUB_BUS_') || error.code === 'PROXYHUB_OVERLOADED') && error.code !== 'PROXYHUB_BUS_UNROUTABLE';
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** Runs `publish` until the broker takes it; gives up only when `signal` aborts (shutdown). */
export async function withBrokerPatience(publish: () => Promise<void>, signal: AbortSignal, onWait?: (error: unknown, pauseMs: number) => void): Promise<void> {
  for (let pauseMs = FIRST_PAUSE_MS; ; pauseMs = Math.min(LONGEST_PAUSE_MS, pauseMs * 2)) {
    try {
      return await publish();
    } catch (error) {
      if (!isBrokerPushback(error) || signal.aborted) throw error;
      onWait?.(error, pauseMs);
      await pause(pauseMs, signal);
    }
  }
}
