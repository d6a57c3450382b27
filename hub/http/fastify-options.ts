import { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../bus/logger.ts';

/** Server options both listeners share. */
export function listenerOptions(logger: Logger) {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request costs more than the whole upload path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
  };
}
