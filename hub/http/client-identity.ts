/**
 * The client identity: the CN of a client certificate that verified against the configured CA,
 * as the smart-proxy uses it (OpenSCAP `cname`, REX pull host, the host an upload is for). On
 * plain HTTP behind a TLS-terminating front proxy, the CN comes from the header that proxy sets,
 * and only from a peer listed as a front proxy: any other client's copy of that header is ignored.
 *
 * Routes declare what they need: `config: { identity: 'required' }` answers 403 without an
 * identity whenever the listener has a source of one (TLS, or configured front proxies). A
 * plain-HTTP listener with neither is loopback-only (deployment rules refuse anything else). There
 * the routes still refuse, unless the listener says anonymous callers are decided elsewhere (the
 * control listener's trusted_hosts check by address) or allowed (the ingress's development flag,
 * which makes it behave like the smart-proxy on HTTP). A TLS-terminating proxy on the same machine
 * that was not listed as a front proxy therefore gets refusals, not every host's uploads.
 */
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { ProxyhubError } from '../../contracts/errors.ts';
import { sendProblem } from './problem.ts';

export interface ClientIdentity {
  /** Certificate common name, as sent (compare case-insensitively). */
  readonly cn: string;
  /** Where the CN was read: this listener's TLS handshake, or a trusted front proxy's header. */
  readonly source: 'certificate' | 'front-proxy';
}

export interface FrontProxySettings {
  /** Peer addresses whose identity header is believed. */
  readonly addresses: readonly string[];
  /** Lower-case header name carrying the verified CN. */
  readonly identityHeader: string;
}

export interface ClientIdentityOptions {
  readonly tls: boolean;
  readonly frontProxy: FrontProxySettings;
  /** With no identity source, let `identity: 'required'` routes through (see the header). */
  readonly anonymousWithoutSource: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the client presented a certificate that verified (here or at a front proxy). */
    clientIdentity: ClientIdentity | undefined;
  }
  interface FastifyContextConfig {
    identity?: 'required' | 'optional';
  }
}

/** A v4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; operators list a.b.c.d. */
export function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/** PROXYHUB_FRONT_PROXIES as the peer addresses they are compared with. */
export function frontProxySet(addresses: readonly string[]): ReadonlySet<string | undefined> {
  return new Set(addresses.map((address) => plainAddress(address)));
}

/** Whether the request came from a listed front proxy: only then are its forwarded headers read. */
export function fromFrontProxy(request: Pick<FastifyRequest, 'raw'>, frontProxies: ReadonlySet<string | undefined>): boolean {
  return frontProxies.size > 0 && frontProxies.has(plainAddress(request.raw.socket.remoteAddress));
}

/**
 * The client's address as Foreman should see it: the peer's, or behind a listed front proxy the
 * last `X-Forwarded-For` entry, the one that proxy added (Apache's mod_proxy and HAProxy's
 * `forwardfor` append the peer they saw; nginx must be told to, with `proxy_set_header
 * X-Forwarded-For $proxy_add_x_forwarded_for`). The entries before it are whatever the client
 * sent. Foreman finds a host's templates by this address, so the proxy's own would hand every
 * client the templates of whichever host has it: a proxy that sends no usable entry is refused.
 */
export function clientAddressOf(request: Pick<FastifyRequest, 'raw' | 'headers'>, frontProxies: ReadonlySet<string | undefined>): string {
  const peer = plainAddress(request.raw.socket.remoteAddress) ?? '';
  if (!fromFrontProxy(request, frontProxies)) return peer;
  const header = request.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  const last = plainAddress(entries.at(-1)?.trim());
  if (last !== undefined && isIP(last) !== 0) return last;
  throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `the front proxy ${peer} sent no client address in X-Forwarded-For (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for)`);
}

/**
 * The verified CN of a TLS connection, read once per connection: getPeerCertificate() builds the
 * whole certificate as a JS object on every call, which was a quarter of the control listener's
 * CPU under Foreman's keep-alive polling. The plugin turns renegotiation off on every connection,
 * so a connection's certificate cannot change under the cache.
 */
const identityBySocket = new WeakMap<object, ClientIdentity | null>();

function certificateIdentity(request: Pick<FastifyRequest, 'raw'>): ClientIdentity | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cached = identityBySocket.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  const identity: ClientIdentity | undefined = typeof name === 'string' && name.length > 0 ? { cn: name, source: 'certificate' } : undefined;
  identityBySocket.set(socket, identity ?? null);
  return identity;
}

/** A CN is one host name: anything else in the header is a misconfigured or hostile front proxy. */
const HEADER_CN = /^[A-Za-z0-9_.*-]{1,255}$/;

function frontProxyIdentity(request: Pick<FastifyRequest, 'headers'>, header: string): ClientIdentity | undefined {
  const value = request.headers[header];
  if (typeof value !== 'string' || !HEADER_CN.test(value.trim())) return undefined;
  return { cn: value.trim(), source: 'front-proxy' };
}

export function createIdentityResolver(options: ClientIdentityOptions): (request: Pick<FastifyRequest, 'raw' | 'headers'>) => ClientIdentity | undefined {
  const frontProxies = frontProxySet(options.frontProxy.addresses);
  return (request) => {
    // A front proxy's own certificate names the proxy, not the host behind it.
    if (fromFrontProxy(request, frontProxies)) {
      return frontProxyIdentity(request, options.frontProxy.identityHeader);
    }
    return certificateIdentity(request);
  };
}

/** Whether this listener can know who a client is: if so, routes that need it refuse anonymous callers. */
export function hasIdentitySource(options: ClientIdentityOptions): boolean {
  return options.tls || options.frontProxy.addresses.length > 0;
}

const plugin: FastifyPluginAsync<ClientIdentityOptions> = async (app, options) => {
  const resolve = createIdentityResolver(options);
  const hasSource = hasIdentitySource(options);
  // A renegotiation could present another certificate on a connection whose identity is cached.
  if (options.tls) app.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  app.decorateRequest('clientIdentity', undefined);
  // Callback style: an async hook costs every request a promise and a microtask turn.
  app.addHook('onRequest', (request, reply, done) => {
    request.clientIdentity = resolve(request);
    if (request.routeOptions.config.identity !== 'required' || request.clientIdentity) return done();
    // A refusal answers here, and the request goes no further (done is not called).
    if (hasSource) return void sendProblem(reply, 'PROXYHUB_AUTH_CERT_REQUIRED', 'this route needs a client certificate issued by the configured CA');
    if (options.anonymousWithoutSource) return done();
    sendProblem(reply, 'PROXYHUB_AUTH_CERT_REQUIRED', 'this plain-HTTP ingress has no source of client identity (no TLS, no PROXYHUB_FRONT_PROXIES), so it cannot tell which host is calling: use TLS, list the TLS-terminating proxy in PROXYHUB_FRONT_PROXIES, or set PROXYHUB_DEV_ANONYMOUS_UPLOADS=1 for local development');
  });
};

export const clientIdentityPlugin = fastifyPlugin(plugin, { name: 'proxyhub-client-identity' });
