/**
 * Load shedding at the door of a listener: the first onRequest hook asks the admission controller
 * and answers a refusal itself, before the body is read and before any other hook (identity,
 * trusted_hosts, rate limits) runs, with a body built once at start. A refusal must cost next to
 * nothing, or a client that resends at once keeps the process as busy as the work it refused.
 */
import type { FastifyInstance } from 'fastify';
import { errorCatalog } from '../../contracts/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemTypeUri } from '../../contracts/http/problem.ts';
import { createAdmissionController, type AdmissionController, type AdmissionLimits } from './admission.ts';

/** How often the event loop's lag is sampled: a timer this often costs nothing measurable. */
const LAG_SAMPLE_MS = 20;

const RETRY_AFTER = String(errorCatalog.PROXYHUB_OVERLOADED.retryAfterSeconds);
const REFUSAL_BODY = Buffer.from(
  JSON.stringify({
    type: problemTypeUri('PROXYHUB_OVERLOADED'),
    title: errorCatalog.PROXYHUB_OVERLOADED.title,
    status: 503,
    code: 'PROXYHUB_OVERLOADED',
    detail: `shedding load; retry in ${RETRY_AFTER} s`,
  }),
);
const REFUSAL_HEADERS = ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(REFUSAL_BODY.length), 'retry-after', RETRY_AFTER];

/** Samples how late a timer fires: the time a request arriving now waits before it is handled. */
function sampleLag(controller: AdmissionController): NodeJS.Timeout {
  let expected = performance.now() + LAG_SAMPLE_MS;
  return setInterval(() => {
    const now = performance.now();
    controller.observeLag(Math.max(0, now - expected));
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS).unref();
}

export function installAdmission(app: FastifyInstance, limits: AdmissionLimits): AdmissionController {
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
  app.addHook('onRequest', (_request, reply, done) => {
    if (controller.tryAdmit()) {
      // 'close' follows every response, answered or cut off, hijacked or not: the slot always comes back.
      reply.raw.once('close', () => controller.release());
      done();
      return;
    }
    // The unread body is drained and dropped by node:http, and the connection stays usable.
    reply.problemCode = 'PROXYHUB_OVERLOADED';
    reply.hijack();
    reply.raw.writeHead(503, REFUSAL_HEADERS);
    reply.raw.end(REFUSAL_BODY);
    done();
  });
  return controller;
}
