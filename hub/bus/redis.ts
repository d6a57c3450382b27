import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/** The Redis commands the workers use, so that nothing above hub/bus depends on ioredis itself. */
export type RedisClient = Pick<Redis, 'exists' | 'set' | 'quit' | 'disconnect'>;

/**
 * A Redis connection for short commands (dedup records). Commands fail fast while Redis is down
 * instead of queueing without bound; ioredis reconnects on its own.
 */
export function createRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5000),
  });
  let warned = false;
  redis.on('error', (error: Error) => {
    if (!warned) logger.warn({ err: error.message }, 'redis unavailable; retrying');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) logger.info('redis reconnected');
    warned = false;
  });
  return redis;
}
