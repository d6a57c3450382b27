/**
 * Foreman's facts upload, taken at the ingress: `POST /api/hosts/facts` and its v2 twin, with
 * Foreman's own payload. The event carries the payload unchanged; the facts worker delivers it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { createEvent } from '../../../contracts/events/create-event.ts';
import { factsUploadSchema } from '../../../contracts/events/facts-uploaded.ts';
import { acceptEvent, type AcceptDependencies } from '../accept-event.ts';
import { assertUploadsFor, type HostBinding } from '../host-binding.ts';
import { assertNesting, refuseContentEncoding } from '../input-shape.ts';

export interface FactsRouteOptions extends AcceptDependencies {
  readonly source: string;
  readonly bodyLimit: number;
  readonly binding: HostBinding;
}

export const factsRoutes: FastifyPluginAsync<FactsRouteOptions> = async (app, options) => {
  app.addHook('onRequest', refuseContentEncoding);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  for (const url of ['/api/hosts/facts', '/api/v2/hosts/facts']) {
    routes.post(url, { bodyLimit: options.bodyLimit, schema: { body: factsUploadSchema }, config: { identity: 'required' } }, (request, reply) => {
      const upload = request.body;
      // Foreman looks the host up by certname first, then by name: both must be the caller's.
      assertUploadsFor(request, options.binding, upload.name, 'name');
      if (upload.certname !== undefined) assertUploadsFor(request, options.binding, upload.certname, 'certname');
      assertNesting(upload.facts, 'facts');
      const envelope = createEvent('facts.uploaded.v1', upload, { source: options.source, subject: upload.name, clientcn: request.clientIdentity?.cn, traceparent: request.traceparent });
      return acceptEvent(reply, options, envelope);
    });
  }
};
