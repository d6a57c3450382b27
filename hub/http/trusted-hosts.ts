/**
 * trusted_hosts on the routes that declare `config: { trustedHosts: true }`: the control routes
 * that act (REX launch and cancel, dead-letter replay, report delete) or expose host data (dead
 * letters, ARF downloads, job status, capabilities).
 *
 * Stricter than the smart-proxy, whose unset list lets everyone in: here unset and empty both
 * refuse everyone. The one exception is `devOpenControl` with the list unset, which deployment
 * rules allow only on a loopback-only control listener. The name checked is the verified
 * certificate's CN (never a front proxy's header: the control listener believes none); on plain HTTP without one, the peer
 * address must be one a listed name resolves to through the system resolver (`/etc/hosts`
 * first, as the smart-proxy's resolver reads it, then DNS). Names compare case-insensitively.
 *
 * `/metrics` (`config: { metricsReaders: true }`) is checked the same way against its own list,
 * PROXYHUB_METRICS_READERS (on the control listener trusted_hosts too): reading metrics is not
 * acting, so a Prometheus server needs no place in trusted_hosts.
 */
import { lookup, lookupService } from 'node:dns/promises';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { plainAddress } from './client-identity.ts';
import { sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    trustedHosts?: boolean;
    /**
     * `/metrics`: readable by the CNs in PROXYHUB_METRICS_READERS (a Prometheus server's), and on
     * the control listener by trusted_hosts too. Unset refuses everyone: hosts never read it.
     */
    metricsReaders?: boolean;
  }
}

export interface TrustedHostsOptions {
  /** Undefined and empty both refuse everyone, unless `devOpen`. */
  readonly trustedHosts: readonly string[] | undefined;
  /** Loopback development: an unset list lets every caller in. */
  readonly devOpen: boolean;
  readonly tls: boolean;
  /** Who may read `/metrics` (PROXYHUB_METRICS_READERS; on the control listener trusted_hosts as well). @defaultValue [] */
  readonly metricsReaders?: readonly string[];
}

interface AllowList {
  readonly names: ReadonlySet<string>;
  readonly addressBook: () => Promise<ReadonlySet<string>>;
  /** How refusals name the list (`trusted_hosts`). */
  readonly label: string;
  /** The refusal when nobody is listed: which setting lists them. */
  readonly emptyDetail: string;
}

function allowList(names: readonly string[], label: string, emptyDetail: string): AllowList {
  const lowered = new Set(names.map((name) => name.toLowerCase()));
  return { names: lowered, addressBook: createAddressBook([...lowered]), label, emptyDetail };
}

/** Resolved addresses are kept this long: a lookup per control request would tie Foreman to DNS latency. */
const RESOLVE_CACHE_MS = 30_000;
const RESOLVE_TIMEOUT_MS = 2000;

function withinDeadline<T>(work: Promise<T>, fallback: T): Promise<T> {
  return Promise.race([work.catch(() => fallback), new Promise<T>((resolve) => setTimeout(() => resolve(fallback), RESOLVE_TIMEOUT_MS).unref())]);
}

/** Addresses each trusted name resolves to, as getaddrinfo sees them (hosts file, then DNS). */
function createAddressBook(names: readonly string[]): () => Promise<ReadonlySet<string>> {
  let cached: { at: number; addresses: Promise<ReadonlySet<string>> } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < RESOLVE_CACHE_MS) return cached.addresses;
    const addresses = Promise.all(names.map((name) => withinDeadline(lookup(name, { all: true }), [] as Array<{ address: string }>))).then(
      (results) => new Set(results.flat().map((entry) => entry.address)),
    );
    cached = { at: Date.now(), addresses };
    return addresses;
  };
}

/** The peer's name for the refusal message, from the system resolver (getnameinfo). */
async function peerName(address: string): Promise<string> {
  return (await withinDeadline(lookupService(address, 0), { hostname: address, service: '' })).hostname;
}

async function plainHttpCallerTrusted(request: FastifyRequest, addressBook: () => Promise<ReadonlySet<string>>): Promise<boolean> {
  const address = plainAddress(request.socket.remoteAddress);
  return address !== undefined && (await addressBook()).has(address);
}

/**
 * Answers the refusal and says so (true), or lets the caller through (false). A boolean, not the
 * reply: fastify's Reply is a thenable that settles when the answer ends, also when the caller
 * went away first, so an async function returning it could not be told from one that let the
 * caller through.
 */
async function refuse(request: FastifyRequest, reply: FastifyReply, list: AllowList, tls: boolean): Promise<boolean> {
  const answer = (code: 'PROXYHUB_AUTH_NOT_TRUSTED' | 'PROXYHUB_AUTH_CERT_REQUIRED', detail: string): true => {
    sendProblem(reply, code, detail);
    return true;
  };
  if (list.names.size === 0) return answer('PROXYHUB_AUTH_NOT_TRUSTED', list.emptyDetail);
  const identity = request.clientIdentity;
  if (identity !== undefined) {
    if (list.names.has(identity.cn.toLowerCase())) return false;
    return answer('PROXYHUB_AUTH_NOT_TRUSTED', `${identity.cn} is not in ${list.label}`);
  }
  if (tls) return answer('PROXYHUB_AUTH_CERT_REQUIRED', 'this route needs a client certificate issued by the configured CA');
  if (await plainHttpCallerTrusted(request, list.addressBook)) return false;
  const address = plainAddress(request.socket.remoteAddress) ?? 'the caller';
  return answer('PROXYHUB_AUTH_NOT_TRUSTED', `${await peerName(address)} (${address}) is not an address of any name in ${list.label}`);
}

const plugin: FastifyPluginAsync<TrustedHostsOptions> = async (app, options) => {
  const open = options.devOpen && options.trustedHosts === undefined;
  const trusted = allowList(options.trustedHosts ?? [], 'trusted_hosts', 'trusted_hosts is empty or unset, so this control route refuses everyone: set PROXYHUB_TRUSTED_HOSTS to the certificate name of each Foreman server');
  const readers = allowList(options.metricsReaders ?? [], 'the metrics readers', 'nobody is listed to read metrics here: set PROXYHUB_METRICS_READERS to the certificate name of your Prometheus server');
  // Before the body is read: an untrusted caller learns nothing from validation errors.
  // Callback style, so that the routes with nothing to check (every upload) pay no promise.
  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config;
    const list = config.metricsReaders === true ? (open && config.trustedHosts === true ? undefined : readers) : open || config.trustedHosts !== true ? undefined : trusted;
    if (list === undefined) return done();
    // A refusal answers by itself and the chain stops there (done is not called); a trusted caller goes on.
    refuse(request, reply, list, options.tls).then((refused) => {
      if (!refused) done();
    }, done);
  });
};

export const trustedHostsPlugin = fastifyPlugin(plugin, { name: 'proxyhub-trusted-hosts', dependencies: ['proxyhub-client-identity'] });
