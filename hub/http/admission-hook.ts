/**
 * Load shedding at the door of a listener: before fastify sees a request at all (no request or
 * reply object, no routing, no hook), the admission controller decides, and a refusal is answered
 * with a status line and a body built once at start. A refusal must cost next to nothing, or a
 * client that resends at once keeps the process as busy as the work it refused.
 *
 * Health probes and metric scrapes are never shed nor counted: a supervisor that saw a shedding
 * hub as dead would restart it (a restart under load is the collapse shedding exists to prevent),
 * and an operator's graphs must not go blank exactly when the hub is overloaded.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCatalog } from '../../contracts/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemTypeUri } from '../../contracts/http/problem.ts';
import { createAdmissionController, type AdmissionController, type AdmissionLimits } from './admission.ts';

/** How often the event loop's lag is sampled: a timer this often costs nothing measurable. */
const LAG_SAMPLE_MS = 20;

const RETRY_AFTER = String(errorCatalog.PROXYHUB_OVERLOADED.retryAfterSeconds);
/** A refusal's bytes, built once (exported for the overload benchmark's bare-server floor). */
export const REFUSAL_BODY = Buffer.from(
  JSON.stringify({
    type: problemTypeUri('PROXYHUB_OVERLOADED'),
    title: errorCatalog.PROXYHUB_OVERLOADED.title,
    status: 503,
    code: 'PROXYHUB_OVERLOADED',
    detail: `shedding load; retry in ${RETRY_AFTER} s`,
  }),
);
export const REFUSAL_HEADERS = ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(REFUSAL_BODY.length), 'retry-after', RETRY_AFTER];

/** Health probes and metric scrapes, with or without a query: an overloaded hub must still say so. */
const NEVER_SHED = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

function isProbeOrScrape(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf('?');
  return NEVER_SHED.has(query < 0 ? url : url.slice(0, query));
}

/** Samples how late a timer fires: the time a request arriving now waits before it is handled. */
function sampleLag(controller: AdmissionController): NodeJS.Timeout {
  let expected = performance.now() + LAG_SAMPLE_MS;
  return setInterval(() => {
    const now = performance.now();
    controller.observeLag(Math.max(0, now - expected));
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS).unref();
}

/**
 * `onRefused` hears of every refusal (the metrics count them: no route, hook or access log line
 * sees a request refused here). Requests made with fastify's inject() bypass the server and so
 * admission: tests of shedding use a real socket.
 */
export function installAdmission(app: FastifyInstance, limits: AdmissionLimits, onRefused?: (request: IncomingMessage) => void): AdmissionController {
  const logger = app.log;
  const controller = createAdmissionController(limits, {
    now: () => performance.now(),
    onChange: (change) => {
      if (change.shedding) logger.warn({ reason: change.reason, inflight: change.inflight }, 'shedding load: new requests get 503');
      else logger.info({ refused: change.refused, inflight: change.inflight }, 'load shedding stopped');
    },
  });
  if (limits.maxInflight === 0 && limits.maxDelayMs === 0) return controller;
  const sampler = limits.maxDelayMs > 0 ? sampleLag(controller) : undefined;
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sampler);
    done();
  });
  // fastify handed its handler to the server it created; ours goes in front of it.
  const handlers = app.server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  const [fastifyHandler] = handlers;
  if (handlers.length !== 1 || !fastifyHandler) throw new Error(`expected fastify's one request handler, found ${handlers.length}`);
  app.server.removeListener('request', fastifyHandler);
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isProbeOrScrape(request.url)) return fastifyHandler(request, response);
    if (!controller.tryAdmit()) {
      // The unread body is drained and dropped by node:http, and the connection stays usable.
      response.writeHead(503, REFUSAL_HEADERS);
      response.end(REFUSAL_BODY);
      onRefused?.(request);
      return;
    }
    // 'close' follows every response, answered or cut off, hijacked or not: the slot always comes back.
    response.once('close', () => controller.release());
    fastifyHandler(request, response);
  });
  return controller;
}
