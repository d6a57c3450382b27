/**
 * `GET /openapi.json` on each listener: the document of what this listener serves, built on the
 * first request from its own route table (complete by then) and kept. Open on the control
 * listener too, like `/version`: it names routes and their shapes, never host data, and the same
 * document is in the repository (docs/openapi/).
 */
import type { FastifyInstance } from 'fastify';
import { controlRouteDocs } from '../../contracts/http/control-route-docs.ts';
import { ingressRouteDocs } from '../../contracts/http/ingress-route-docs.ts';
import { packageVersion } from '../config/package-version.ts';
import { buildOpenApi, type ListenerName } from './openapi.ts';

export const routeDocsOf = (listener: ListenerName) => (listener === 'ingress' ? ingressRouteDocs : controlRouteDocs);

export function registerOpenApiRoute(app: FastifyInstance, listener: ListenerName): void {
  let document: string | undefined;
  app.get('/openapi.json', (_request, reply) => {
    document ??= JSON.stringify(buildOpenApi({ listener, version: packageVersion, routes: app.hasDecorator('routeTable') ? app.routeTable : [], docs: routeDocsOf(listener) }));
    return reply.type('application/json').send(document);
  });
}
