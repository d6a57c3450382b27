/**
 * A Redis Sentinel group of the test's own on loopback: a primary and one replica (each a
 * tests/helpers/own-redis.ts server with AOF, on its own port and directory) and three Sentinels
 * (`redis-server <conf> --sentinel`; Debian ships no separate binary) watching them with a quorum
 * of two. Failure detection is quick (1 s instead of Redis's 30 s default) so that a test sees a
 * failover in seconds. The machine's own Redis is not touched.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dataNodeArgs, startOwnRedis, type OwnRedis } from './own-redis.ts';
import { waitFor } from './wait-for.ts';

/** A primary unanswered this long is down for a Sentinel (Redis's default is 30 s). */
export const SENTINEL_DOWN_AFTER_MS = 1000;
const QUORUM = 2;
const SENTINELS = 3;

export interface OwnSentinel {
  /** The master group name the Sentinels monitor. */
  readonly name: string;
  /** Primary first, then the replica; the roles swap on a failover. */
  readonly dataNodes: readonly OwnRedis[];
  readonly sentinels: readonly OwnRedis[];
  /** `redis://127.0.0.1:<port>` of each Sentinel: what PROXYHUB_REDIS_SENTINELS takes. */
  readonly sentinelUrls: readonly string[];
  /** The data node the Sentinels name as master now (asked of the first one that answers). */
  master(): Promise<OwnRedis>;
  /** Kills everything and removes every directory. */
  stop(): Promise<void>;
}

/** One command on a fresh connection to one of the group's servers. */
async function callOn(server: OwnRedis, command: string, ...args: string[]): Promise<unknown> {
  const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(command, ...args);
  } finally {
    redis.disconnect();
  }
}

function sentinelArgs(name: string, primaryPort: number) {
  return (port: number, dir: string): string[] => {
    // A Sentinel rewrites its configuration file (the replicas and Sentinels it learns): its own.
    const file = join(dir, 'sentinel.conf');
    writeFileSync(
      file,
      [
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${QUORUM}`,
        `sentinel down-after-milliseconds ${name} ${SENTINEL_DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    return [file, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'];
  };
}

/** What a Sentinel knows of the group: how many replicas and how many other Sentinels. */
async function groupSeenBy(sentinel: OwnRedis, name: string): Promise<{ replicas: number; sentinels: number }> {
  const fields = (await callOn(sentinel, 'SENTINEL', 'MASTER', name)) as string[];
  const field = (key: string): number => Number(fields[fields.indexOf(key) + 1]);
  return { replicas: field('num-slaves'), sentinels: field('num-other-sentinels') };
}

export async function startOwnSentinel(name = 'proxyhub-test'): Promise<OwnSentinel> {
  const started: OwnRedis[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    // Diskless full sync without Redis's 5 s wait for more replicas: the replica is in sync sooner.
    const primary = await startOwnRedis({ launchArgs: (port, dir) => [...dataNodeArgs(port, dir), '--repl-diskless-sync-delay', '0'] });
    started.push(primary);
    const replica = await startOwnRedis({ launchArgs: (port, dir) => [...dataNodeArgs(port, dir), '--replicaof', '127.0.0.1', String(primary.port)] });
    started.push(replica);
    // A primary killed before the replica's first sync was done lost every write since the replica
    // connected (measured): the group is usable once the replica is in sync.
    await waitFor(async () => /master_link_status:up/.test(String(await callOn(replica, 'INFO', 'replication').catch(() => ''))), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the replica to finish its first sync',
    });
    const sentinels: OwnRedis[] = [];
    for (let i = 0; i < SENTINELS; i += 1) {
      const sentinel = await startOwnRedis({ launchArgs: sentinelArgs(name, primary.port) });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // A failover needs every Sentinel to know the replica and the others (learnt from the
    // primary's INFO and its hello channel, within a few seconds).
    await waitFor(
      async () => {
        const views = await Promise.all(sentinels.map((sentinel) => groupSeenBy(sentinel, name).catch(() => ({ replicas: 0, sentinels: 0 }))));
        return views.every((view) => view.replicas === 1 && view.sentinels === SENTINELS - 1);
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'every Sentinel to see the replica and the other Sentinels' },
    );
    const dataNodes = [primary, replica];
    return {
      name,
      dataNodes,
      sentinels,
      sentinelUrls: sentinels.map((sentinel) => `redis://127.0.0.1:${sentinel.port}`),
      async master() {
        for (const sentinel of sentinels) {
          const address = (await callOn(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name).catch(() => undefined)) as [string, string] | undefined;
          const node = dataNodes.find((candidate) => String(candidate.port) === address?.[1]);
          if (node !== undefined) return node;
        }
        throw new Error(`no Sentinel names a master of ${name}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
