/**
 * trusted_hosts with smart-proxy semantics on the routes that declare
 * `config: { trustedHosts: true }`: unset allows everyone, an empty list nobody; the name checked
 * is the verified certificate's CN on TLS, or the peer's reverse-DNS name on plain HTTP;
 * comparison is case-insensitive.
 */
import { lookup, reverse } from 'node:dns/promises';
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

function withinTwoSeconds<T>(work: Promise<T>, fallback: T): Promise<T> {
  return Promise.race([work.catch(() => fallback), new Promise<T>((resolve) => setTimeout(() => resolve(fallback), 2000).unref())]);
}

/**
 * The peer's reverse-DNS name, forward-verified as the smart-proxy does by default: whoever
 * controls the PTR record of their own address must not be able to claim a trusted name.
 */
async function reverseName(address: string | undefined): Promise<string | undefined> {
  if (!address) return undefined;
  const name = (await withinTwoSeconds(reverse(address), [] as string[]))[0];
  if (!name) return undefined;
  const forward = await withinTwoSeconds(lookup(name, { all: true }), [] as Array<{ address: string }>);
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return forward.some((entry) => entry.address === address || entry.address === plain) ? name : undefined;
}

async function callerName(request: FastifyRequest, tls: boolean): Promise<string | undefined> {
  if (tls) return request.clientIdentity?.cn;
  return reverseName(request.socket.remoteAddress);
}

const plugin: FastifyPluginAsync<TrustedHostsOptions> = async (app, options) => {
  const allowed = options.trustedHosts === undefined ? undefined : new Set(options.trustedHosts.map((name) => name.toLowerCase()));
  // Before the body is read: an untrusted caller learns nothing from validation errors.
  app.addHook('onRequest', async (request, reply) => {
    if (allowed === undefined || request.routeOptions.config.trustedHosts !== true) return undefined;
    const name = await callerName(request, options.tls);
    if (name !== undefined && allowed.has(name.toLowerCase())) return undefined;
    if (options.tls && !request.clientIdentity) return sendProblem(reply, 'PROXYHUB_AUTH_CERT_REQUIRED', 'this control route needs a client certificate issued by the configured CA');
    return sendProblem(reply, 'PROXYHUB_AUTH_NOT_TRUSTED', `${name ?? 'the caller'} is not in trusted_hosts`);
  });
};

export const trustedHostsPlugin = fastifyPlugin(plugin, { name: 'proxyhub-trusted-hosts', dependencies: ['proxyhub-client-identity'] });
