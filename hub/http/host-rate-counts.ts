/**
 * Requests per host per window for the rate limit (`PROXYHUB_RATE_LIMIT_PER_MINUTE`), as a store
 * of @fastify/rate-limit. In an ingress of several processes (`PROXYHUB_INGRESS_PROCESSES`) a host
 * that opens new connections reaches them in turn, and a count kept by each process alone let it
 * make its limit once per process: here every process adds what the others counted, which they
 * send through the primary (hub/cluster/peer-messages.ts) every `flushMs`.
 *
 * A host's window starts at its first request, as @fastify/rate-limit's own store does, so hosts
 * told to retry do not all come back at the same second. Each count travels with the start of
 * its window; a process that started the host's window later than another adopts the earlier
 * start. Why counts sent later instead of asked for: a request never waits on another process,
 * and what a host can get past the limit is bounded by what the other processes accept from it
 * in one `flushMs`.
 */
import type { PeerChannel } from '../cluster/peer-messages.ts';

/** The topic the processes of an ingress send their counts on (relayed by the primary). */
export const HOST_RATE_COUNTS_TOPIC = 'proxyhub:host-rate-counts';

/** One process's counts since its last message. */
export interface HostRateCounts {
  /** Per host: when its window started (ms since the epoch) and the requests counted in it. */
  readonly counts: ReadonlyArray<readonly [host: string, windowStart: number, requests: number]>;
}

export interface HostRateCountsOptions {
  /** The other processes of this ingress. @defaultValue none: this process only */
  readonly share?: PeerChannel<HostRateCounts> | undefined;
  /** How often this process's new counts go to the others. @defaultValue 100 ms */
  readonly flushMs?: number;
  /** Hosts counted at most; past it the one counted first is forgotten. @defaultValue 50,000 */
  readonly maxHosts?: number;
  readonly now?: () => number;
}

/** What @fastify/rate-limit asks of a store (`incr`, `read`, `child`). */
export interface RateLimitStore {
  incr(key: string, callback: (error: Error | null, result: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  read(key: string, callback: (error: Error | null, result: { current: number; ttl: number }) => void, timeWindow: number): void;
  child(routeOptions: unknown): RateLimitStore;
}

interface HostWindow {
  start: number;
  own: number;
  others: number;
}

/**
 * The store class to give @fastify/rate-limit (it constructs its own). Every route shares one
 * count per host, as the hub's single limit does: `child` (a route with a limit of its own)
 * returns the same store.
 */
export function hostRateCountsStore(options: HostRateCountsOptions = {}): new () => RateLimitStore & { readonly hosts: number } {
  const flushMs = options.flushMs ?? 100;
  const maxHosts = options.maxHosts ?? 50_000;
  const now = options.now ?? Date.now;
  const share = options.share;
  const hosts = new Map<string, HostWindow>();
  const unsent = new Map<string, { start: number; requests: number }>();
  /** The window length @fastify/rate-limit passes on every call (one for the whole hub). */
  let windowMs = 60_000;
  let sweptAt = now();
  let flushTimer: NodeJS.Timeout | undefined;

  const remember = (host: string, window: HostWindow): HostWindow => {
    hosts.delete(host);
    hosts.set(host, window);
    if (hosts.size > maxHosts) hosts.delete(hosts.keys().next().value as string);
    return window;
  };
  /** Forgets the windows that are over, once per window length: the map holds active hosts only. */
  const sweep = (at: number): void => {
    if (at - sweptAt < windowMs) return;
    sweptAt = at;
    for (const [host, window] of hosts) if (window.start + windowMs <= at) hosts.delete(host);
  };
  const live = (window: HostWindow | undefined, at: number): window is HostWindow => window !== undefined && window.start + windowMs > at;
  const flush = (): void => {
    flushTimer = undefined;
    if (unsent.size === 0) return;
    share?.publish({ counts: [...unsent].map(([host, { start, requests }]) => [host, start, requests] as const) });
    unsent.clear();
  };
  share?.subscribe((message) => {
    const at = now();
    for (const [host, start, requests] of message.counts) {
      // Counts of a window that is over are too late to matter.
      if (start + windowMs <= at) continue;
      const window = hosts.get(host);
      if (!live(window, at)) remember(host, { start, own: 0, others: requests });
      else {
        // Two processes that each saw a first request started the window twice: the earlier start holds.
        window.start = Math.min(window.start, start);
        window.others += requests;
      }
    }
  });

  const answer = (window: HostWindow, at: number): { current: number; ttl: number } => ({ current: window.own + window.others, ttl: window.start + windowMs - at });

  class HostRateCountsStore implements RateLimitStore {
    incr(key: string, callback: (error: Error | null, result: { current: number; ttl: number }) => void, timeWindow: number): void {
      windowMs = timeWindow;
      const at = now();
      sweep(at);
      let window = hosts.get(key);
      if (!live(window, at)) window = remember(key, { start: at, own: 0, others: 0 });
      window.own += 1;
      if (share !== undefined) {
        // Unsent counts of a window that is over go with it; those of the same window (whose
        // start may have moved earlier since) travel under its start now.
        const pending = unsent.get(key);
        if (pending === undefined || pending.start + windowMs <= at) unsent.set(key, { start: window.start, requests: 1 });
        else {
          pending.start = window.start;
          pending.requests += 1;
        }
        flushTimer ??= setTimeout(flush, flushMs).unref();
      }
      callback(null, answer(window, at));
    }

    read(key: string, callback: (error: Error | null, result: { current: number; ttl: number }) => void, timeWindow: number): void {
      windowMs = timeWindow;
      const at = now();
      const window = hosts.get(key);
      callback(null, live(window, at) ? answer(window, at) : { current: 0, ttl: 0 });
    }

    child(): RateLimitStore {
      return this;
    }

    /** Hosts with a window held now (those over included until the next sweep). */
    get hosts(): number {
      return hosts.size;
    }
  }
  return HostRateCountsStore;
}
