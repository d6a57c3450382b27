/**
 * Where Redis is: one server, or the master of a group that Redis Sentinel watches. Also what
 * ioredis needs to find that master, and the choices Sentinel forces (sentinelOptions). No
 * ioredis at run time here, so that `config check` and the plan can describe Redis without it.
 */
import type { RedisOptions } from 'ioredis';
import { redactUrl } from '../log/logger.ts';

export interface RedisSentinel {
  /** `redis://` or `rediss://` URLs (hub/config/values.ts), one user, password and scheme for all. */
  readonly sentinels: readonly string[];
  /** The master group the Sentinels monitor. */
  readonly name: string;
}

/**
 * Where the data is. Without `sentinel`, `url` is the server. With it, the Sentinels are asked
 * for the master of their group at every (re)connect, and `url` gives only what the data nodes
 * want of a client: user, password, database and TLS (`rediss://`); its host and port are unused.
 */
export interface RedisTarget {
  readonly url: string;
  readonly sentinel?: RedisSentinel | undefined;
}

/** The target the configuration names (a Sentinel group only when both of its settings are set). */
export function redisTargetOf(config: { readonly redisUrl: string; readonly redisSentinel: { readonly sentinels?: readonly string[] | undefined; readonly name?: string | undefined } }): RedisTarget {
  const { sentinels, name } = config.redisSentinel;
  return sentinels !== undefined && name !== undefined ? { url: config.redisUrl, sentinel: { sentinels, name } } : { url: config.redisUrl };
}

/** For logs and `config check`: where Redis is, passwords replaced by `***`. */
export function describeRedis(target: RedisTarget): string {
  if (target.sentinel === undefined) return redactUrl(target.url);
  return `master "${target.sentinel.name}" of Sentinels ${target.sentinel.sentinels.map(redactUrl).join(',')} (data nodes as ${redactUrl(target.url)})`;
}

/** A Sentinel that does not answer within this is skipped for the next one. */
const SENTINEL_COMMAND_TIMEOUT_MS = 2000;

type SentinelOptions = Pick<
  RedisOptions,
  'sentinels' | 'name' | 'sentinelUsername' | 'sentinelPassword' | 'sentinelTLS' | 'enableTLSForSentinelMode' | 'sentinelRetryStrategy' | 'sentinelCommandTimeout' | 'reconnectOnError'
>;

const decoded = (part: string): string | undefined => (part === '' ? undefined : decodeURIComponent(part));

/**
 * - No `failoverDetector` (ioredis's `+switch-master` listener): a Sentinel that demotes a live
 *   master (a planned `SENTINEL FAILOVER`, an old master back after a crash) also disconnects its
 *   clients (`CLIENT KILL TYPE normal`), and a dead master breaks every socket anyway. The detector
 *   would add a connection to each Sentinel for every Redis connection, and ioredis leaves those
 *   open after `quit()` (only `disconnect()` closes them), which BullMQ and proxyhub close with.
 * - `reconnectOnError` READONLY: a write that reached a demoted master before the disconnect was
 *   not applied; reconnecting (through the Sentinels) and sending it again is safe.
 * - `enableTLSForSentinelMode`: ioredis otherwise speaks plain TCP to a master even with
 *   `rediss://`; the data nodes' TLS follows the Redis URL as it does without Sentinel.
 */
export function sentinelOptions(sentinel: RedisSentinel, dataUrl: string, retryStrategy: RedisOptions['retryStrategy']): SentinelOptions {
  const urls = sentinel.sentinels.map((url) => new URL(url));
  const first = urls[0];
  if (first === undefined) throw new Error('no Sentinel address');
  return {
    sentinels: urls.map((url) => ({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) })),
    name: sentinel.name,
    sentinelUsername: decoded(first.username),
    sentinelPassword: decoded(first.password),
    sentinelTLS: first.protocol === 'rediss:' ? {} : undefined,
    enableTLSForSentinelMode: dataUrl.startsWith('rediss://'),
    // All Sentinels unreachable: the same back-off as a lost Redis (the one-off profile has none).
    sentinelRetryStrategy: retryStrategy ?? (() => null),
    sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
}
