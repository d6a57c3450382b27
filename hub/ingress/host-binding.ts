/**
 * An upload names the host it is about (facts `name`, a report's `host`); the worker files it in
 * Foreman under that name with the proxy's own credentials. So the name must be the caller's own
 * certificate CN, or the caller must be a relay client (a Puppet server's node.rb uploading for
 * its nodes, an Ansible controller): otherwise host A could rewrite host B's facts.
 */
import type { FastifyRequest } from 'fastify';
import { ProxyhubError } from '../../contracts/errors.ts';

export interface HostBinding {
  /** Lower-case CNs allowed to upload for any host. */
  readonly relayClients: ReadonlySet<string>;
}

export function createHostBinding(relayClients: readonly string[]): HostBinding {
  return { relayClients: new Set(relayClients.map((cn) => cn.toLowerCase())) };
}

/**
 * Throws 403 naming `field` when the caller may not upload for `named`. Without an identity the
 * route's own check already decided: the listener has no identity source (loopback plain HTTP).
 */
export function assertUploadsFor(request: FastifyRequest, binding: HostBinding, named: string, field: string): void {
  const identity = request.clientIdentity;
  if (identity === undefined) return;
  const cn = identity.cn.toLowerCase();
  if (named.toLowerCase() === cn || binding.relayClients.has(cn)) return;
  throw new ProxyhubError('PROXYHUB_AUTH_HOST_MISMATCH', `${field} "${named.slice(0, 255)}" is not the host of the client certificate (${identity.cn}); only a relay client (PROXYHUB_RELAY_CLIENTS) may upload for another host`, { field });
}
