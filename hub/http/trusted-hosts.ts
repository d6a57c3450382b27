/**
 * trusted_hosts with smart-proxy semantics on the routes that declare
 * `config: { trustedHosts: true }`: unset allows everyone, an empty list nobody; the name checked
 * is the verified certificate's CN on TLS, or the peer's reverse-DNS name on plain HTTP;
 * comparison is case-insensitive.
 */
import { reverse } from 'node:dns/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    trustedHosts?: boolean;
  }
}

export interface TrustedHostsOptions {
  /** Undefined: allow all. */
  readonly trustedHosts: readonly string[] | undefined;
  readonly tls: boolean;
}

async function reverseName(address: string | undefined): Promise<string | undefined> {
  if (!address) return undefined;
  try {
    const names = await Promise.race([reverse(address), new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 2000).unref())]);
    return names[0];
  } catch {
    return undefined;
  }
}

async function callerName(request: FastifyRequest, tls: boolean): Promise<string | undefined> {
  if (tls) return request.clientIdentity?.cn;
  return reverseName(request.socket.remoteAddress);
}

const plugin: FastifyPluginAsync<TrustedHostsOptions> = async (app, options) => {
  const allowed = options.trustedHosts === undefined ? undefined : new Set(options.trustedHosts.map((name) => name.toLowerCase()));
  app.addHook('preHandler', async (request, reply) => {
    if (allowed === undefined || request.routeOptions.config.trustedHosts !== true) return undefined;
    const name = await callerName(request, options.tls);
    if (name !== undefined && allowed.has(name.toLowerCase())) return undefined;
    if (options.tls && !request.clientIdentity) return sendProblem(reply, 'PROXYHUB_AUTH_CERT_REQUIRED', 'this control route needs a client certificate issued by the configured CA');
    return sendProblem(reply, 'PROXYHUB_AUTH_NOT_TRUSTED', `${name ?? 'the caller'} is not in trusted_hosts`);
  });
};

export const trustedHostsPlugin = fastifyPlugin(plugin, { name: 'proxyhub-trusted-hosts', dependencies: ['proxyhub-client-identity'] });
