/**
 * Keeps `proxyhub start` from hanging silently. Each thing the start waits on (a broker
 * connection, the queue being declared, Redis) is a named step; a long wait is logged while it
 * lasts, and the start is abandoned at once when its deadline passes or a stop signal arrives,
 * even if the call it waits on never returns (a broker that accepts TCP and never answers).
 */
import { ProxyhubError } from '../contracts/errors.ts';
import type { Logger } from '../hub/log/logger.ts';

export interface StartSteps {
  /** Runs `fn` as the step `what`; rejects as soon as the start is abandoned, even if `fn` never settles. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** Progress inside the current step (the queue being declared), shown in the wait log. */
  note(detail: string): void;
  /** Stops the timers: once the start has finished, late or failed, nothing is abandoned any more. */
  finish(): void;
}

export interface StartStepsOptions {
  readonly logger: Logger;
  /** @defaultValue 60000 (PROXYHUB_START_TIMEOUT_MS) */
  readonly timeoutMs: number;
  /** Aborted by a stop signal; its reason names the signal. */
  readonly stop?: AbortSignal | undefined;
}

interface Step {
  readonly what: string;
  readonly since: number;
  detail?: string;
}

/** Often enough that a wait shows up in the log well before the deadline, at most every 10 s. */
function reportIntervalMs(timeoutMs: number): number {
  return Math.max(100, Math.min(10_000, Math.floor(timeoutMs / 4)));
}

export function createStartSteps(options: StartStepsOptions): StartSteps {
  const { logger, timeoutMs, stop } = options;
  const steps: Step[] = [];
  let abandonedWith: Error | undefined;
  let abandon: (error: Error) => void = () => undefined;
  const abandoned = new Promise<never>((_resolve, reject) => (abandon = reject));
  abandoned.catch(() => undefined);
  const waitingFor = (): string => {
    const step = steps.at(-1);
    if (step === undefined) return 'the start to finish';
    return step.detail === undefined ? step.what : `${step.what}: ${step.detail}`;
  };
  const fail = (error: Error): void => {
    if (abandonedWith !== undefined) return;
    abandonedWith = error;
    abandon(error);
  };
  // Not unref'd: while the start awaits a call that holds no handle, this timer keeps the
  // process alive to fail it, instead of Node exiting on an unsettled await.
  const deadline = setTimeout(() => {
    const message = `start did not finish within ${timeoutMs} ms; still waiting for ${waitingFor()}`;
    logger.error({ code: 'PROXYHUB_START_TIMEOUT', waitingFor: waitingFor(), timeoutMs }, message);
    fail(new ProxyhubError('PROXYHUB_START_TIMEOUT', message));
  }, timeoutMs);
  const report = setInterval(() => {
    const step = steps.at(-1);
    if (step !== undefined) logger.warn({ waitingFor: waitingFor(), waitedMs: Date.now() - step.since }, `still waiting for ${waitingFor()}`);
  }, reportIntervalMs(timeoutMs));
  report.unref();
  const onStop = (): void => {
    const signal = typeof stop?.reason === 'string' ? stop.reason : 'a stop signal';
    const message = `start interrupted by ${signal} while waiting for ${waitingFor()}`;
    logger.info({ code: 'PROXYHUB_START_INTERRUPTED', signal, waitingFor: waitingFor() }, message);
    fail(new ProxyhubError('PROXYHUB_START_INTERRUPTED', message));
  };
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  return {
    async run(what, fn) {
      if (abandonedWith !== undefined) throw abandonedWith;
      const step: Step = { what, since: Date.now() };
      steps.push(step);
      logger.debug({ step: what }, 'start step');
      try {
        return await Promise.race([fn(), abandoned]);
      } finally {
        steps.splice(steps.indexOf(step), 1);
      }
    },
    note(detail) {
      const step = steps.at(-1);
      if (step !== undefined) step.detail = detail;
    },
    finish() {
      clearTimeout(deadline);
      clearInterval(report);
      stop?.removeEventListener('abort', onStop);
    },
  };
}
