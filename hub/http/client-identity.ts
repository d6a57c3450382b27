/**
 * The client identity: the CN of a client certificate that verified against the configured CA,
 * as the smart-proxy uses it (OpenSCAP `cname`, REX pull host). Routes declare what they need:
 * `config: { identity: 'required' }` answers 403 without a verified certificate when the
 * listener speaks TLS (on plain HTTP there is no identity to check, as in the smart-proxy).
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { sendProblem } from './problem.ts';

export interface ClientIdentity {
  /** Certificate common name, as sent (compare case-insensitively). */
  readonly cn: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the client presented a certificate that verified against the CA. */
    clientIdentity: ClientIdentity | undefined;
  }
  interface FastifyContextConfig {
    identity?: 'required' | 'optional';
  }
}

export function identityOf(request: Pick<FastifyRequest, 'raw'>): ClientIdentity | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name.length > 0 ? { cn: name } : undefined;
}

const plugin: FastifyPluginAsync<{ tls: boolean }> = async (app, options) => {
  app.decorateRequest('clientIdentity', undefined);
  app.addHook('onRequest', async (request, reply) => {
    request.clientIdentity = identityOf(request);
    if (options.tls && request.routeOptions.config.identity === 'required' && !request.clientIdentity) {
      return sendProblem(reply, 'PROXYHUB_AUTH_CERT_REQUIRED', 'this route needs a client certificate issued by the configured CA');
    }
    return undefined;
  });
};

export const clientIdentityPlugin = fastifyPlugin(plugin, { name: 'proxyhub-client-identity' });
