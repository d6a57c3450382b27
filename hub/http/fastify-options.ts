import { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../log/logger.ts';
import type { HttpsOptions } from './tls.ts';
import { handleError } from './problem.ts';
import { deferredRequestLogger } from './request-logger.ts';

export interface ListenerSettings {
  readonly logger: Logger;
  readonly https: HttpsOptions | undefined;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** Server options both listeners share. */
export function listenerOptions(settings: ListenerSettings) {
  return {
    loggerInstance: settings.logger as FastifyBaseLogger,
    // One log line per request costs more than the whole upload path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made only if the request logs (hub/http/request-logger.ts).
    childLoggerFactory: deferredRequestLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
    // The whole request (headers and body) must arrive in time; an idle socket is closed.
    requestTimeout: settings.requestTimeoutMs,
    connectionTimeout: settings.requestTimeoutMs + 5000,
    keepAliveTimeout: 65_000,
    // Errors the router raises before any route runs (a malformed percent-encoding, an over-long
    // path parameter) would otherwise bypass the error handler and answer fastify's own JSON.
    frameworkErrors: handleError,
    ...(settings.https ? { https: settings.https } : {}),
  };
}
