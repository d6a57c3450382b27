import type { Logger } from '../hub/log/logger.ts';

/** A resource the composition root closes at shutdown, in reverse order of starting. */
export type Closer = { readonly name: string; close(): Promise<unknown> };

/**
 * Time on top of the shutdown grace (PROXYHUB_SHUTDOWN_GRACE_MS) for connections to close after
 * the workers' in-flight work: a supervisor's stop timeout (compose `stop_grace_period`, systemd
 * `TimeoutStopSec`) must exceed the grace plus this margin, or it kills a clean shutdown.
 */
export const CLOSE_MARGIN_MS = 5000;

/**
 * Closes `closers` newest first; a failed close is logged and the next one still runs. A close
 * that never returns (a broker that does not answer its close) cannot hold the shutdown past
 * `deadlineMs`: then this logs which resource it was and resolves false, and the caller exits.
 */
export async function closeInReverse(closers: readonly Closer[], logger: Logger, deadlineMs: number): Promise<boolean> {
  let closing: string | undefined;
  const all = (async () => {
    for (const closer of [...closers].reverse()) {
      closing = closer.name;
      await closer.close().catch((error: unknown) => logger.warn({ err: String(error), resource: closer.name }, 'close failed'));
    }
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)));
  const closed = await Promise.race([all, late]);
  clearTimeout(timer);
  if (!closed) logger.error({ resource: closing, deadlineMs }, `shutdown deadline passed: ${closing ?? 'a resource'} did not close within ${deadlineMs} ms; exiting anyway`);
  return closed;
}
