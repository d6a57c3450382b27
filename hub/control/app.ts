/**
 * The Foreman-facing listener. It never serves a client route. This first slice answers health
 * and the smart-proxy version; feature discovery and the capability stream build on it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { listenerOptions } from '../http/fastify-options.ts';
import type { Logger } from '../bus/logger.ts';
import type { Publisher } from '../bus/transport.ts';
import { handleError, handleNotFound } from '../http/problem.ts';

export interface ControlDependencies {
  readonly publisher: Publisher;
  readonly logger: Logger;
  readonly version: string;
}

export async function buildControlApp(deps: ControlDependencies): Promise<FastifyInstance> {
  const app = Fastify(listenerOptions(deps.logger));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  app.get('/healthz', (_request, reply) => {
    const state = deps.publisher.state;
    return reply.code(state === 'ready' ? 200 : 503).send({ role: 'control', broker: state });
  });
  app.get('/version', () => ({ version: deps.version, modules: {} }));
  return app;
}
