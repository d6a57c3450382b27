/**
 * The one place Redis connections are made (ioredis), for every use proxyhub has: the workers'
 * dedup records, BullMQ's queues and workers, and the operator's one-off ACL set-up. Each use
 * differs only in how a command behaves while Redis is away, so each is a named profile here.
 * Where Redis is (one server, or the master a group of Sentinels names) is a `RedisTarget`
 * (redis-target.ts).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RECONNECT_BACKOFF, backoffDelay } from '../bus/backoff.ts';
import type { Logger } from '../log/logger.ts';
import { describeRedis, sentinelOptions, type RedisSentinel, type RedisTarget } from './redis-target.ts';

/** The Redis commands the workers use, so that nothing above hub/jobs depends on ioredis itself. */
export type RedisClient = Pick<Redis, 'exists' | 'set' | 'quit' | 'disconnect'>;
/** What a compare-and-set marker needs (the rhsm worker's newest uploads): a script and a read. */
export type RedisScripts = Pick<Redis, 'eval' | 'get'>;

/**
 * - `short-commands`: dedup records; fail fast while Redis is down instead of queueing without bound.
 * - `jobs`: BullMQ; blocking commands need `maxRetriesPerRequest: null`, and a job's writes wait for Redis.
 * - `jobs-fail-fast`: BullMQ read by the control role; Foreman gets a 503 at once and retries.
 * - `one-off`: an operator command; one attempt, no reconnect loop to keep the process alive.
 */
export type RedisProfile = 'short-commands' | 'jobs' | 'jobs-fail-fast' | 'one-off';

const retryStrategy = (attempt: number): number => backoffDelay(RECONNECT_BACKOFF, attempt);

type ProfileOptions = Pick<RedisOptions, 'lazyConnect' | 'maxRetriesPerRequest' | 'commandTimeout' | 'enableOfflineQueue' | 'retryStrategy'>;

const profiles: Record<RedisProfile, ProfileOptions> = {
  'short-commands': { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 1000, enableOfflineQueue: false, retryStrategy },
  jobs: { maxRetriesPerRequest: null, retryStrategy },
  'jobs-fail-fast': { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 5000, retryStrategy },
  'one-off': { lazyConnect: true, maxRetriesPerRequest: 1 },
};

export interface RedisConnectionOptions {
  /** Shown by `CLIENT LIST`, so operators can tell the connections apart. */
  readonly name: string;
  readonly profile: RedisProfile;
  /** Without one, errors are left to the commands' own promises (one-off use). */
  readonly logger?: Logger;
}

/** A connection of the given profile; ioredis reconnects on its own, logged once per outage. */
export function createRedisConnection(target: RedisTarget, options: RedisConnectionOptions): Redis {
  const profile = profiles[options.profile];
  const sentinel = target.sentinel === undefined ? {} : sentinelOptions(target.sentinel, target.url, profile.retryStrategy);
  const redis = new Redis(target.url, { connectionName: options.name, ...profile, ...sentinel });
  const { logger } = options;
  if (logger === undefined) return redis;
  let warned = false;
  redis.on('error', (error: Error) => {
    if (!warned) logger.warn({ err: error.message, connection: options.name }, 'redis unavailable; retrying');
    warned = true;
  });
  redis.on('ready', () => {
    // Through Sentinel the master may have changed: say which one this connection found.
    const master = target.sentinel === undefined ? {} : { master: `${redis.stream.remoteAddress ?? '?'}:${redis.stream.remotePort ?? '?'}` };
    if (warned) logger.info({ connection: options.name, ...master }, 'redis reconnected');
    warned = false;
  });
  return redis;
}

/**
 * `ACL SETUSER` with each argument list (`proxyhub broker setup`), on the one server, or through
 * Sentinel on every data node: Redis does not replicate ACL users, so a replica promoted by a
 * failover would otherwise refuse every role's login.
 */
export async function setRedisAclUsers(target: RedisTarget, users: readonly (readonly string[])[]): Promise<void> {
  if (users.length === 0) return;
  const nodes = target.sentinel === undefined ? [target] : (await sentinelDataNodes(target.sentinel)).map((node) => ({ url: dataNodeUrl(target.url, node) }));
  for (const node of nodes) {
    const redis = createRedisConnection(node, { name: 'proxyhub broker setup', profile: 'one-off' });
    try {
      await redis.connect();
      for (const args of users) await redis.call('ACL', 'SETUSER', ...args);
    } catch (error) {
      throw new Error(`Redis at ${describeRedis(node)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      redis.disconnect();
    }
  }
}

/** The master and every replica the first Sentinel that answers knows of (`host:port`). */
async function sentinelDataNodes(sentinel: RedisSentinel): Promise<string[]> {
  const errors: string[] = [];
  for (const url of sentinel.sentinels) {
    const redis = createRedisConnection({ url }, { name: 'proxyhub broker setup', profile: 'one-off' });
    try {
      await redis.connect();
      const master = (await redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name)) as [string, string] | null;
      if (master === null) throw new Error(`it monitors no master named "${sentinel.name}"`);
      const replicas = (await redis.call('SENTINEL', 'REPLICAS', sentinel.name)) as string[][];
      const field = (entry: string[], key: string): string => entry[entry.indexOf(key) + 1] ?? '';
      return [address(master[0], master[1]), ...replicas.map((entry) => address(field(entry, 'ip'), field(entry, 'port')))];
    } catch (error) {
      errors.push(`${describeRedis({ url })}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`no Sentinel named the Redis data nodes (${errors.join('; ')})`);
}

const address = (ip: string, port: string): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The data nodes' URL (credentials, database, TLS) with a node's address in it. */
function dataNodeUrl(url: string, hostPort: string): string {
  const parsed = new URL(url);
  parsed.host = hostPort;
  return parsed.toString();
}
