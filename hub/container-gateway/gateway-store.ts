/**
 * The container gateway's tables (container-gateway-contract §6) in Redis under the hub prefix,
 * shared by every gateway replica and by the control role that receives Katello's pushes. The
 * plugin's SQL tables become one key each:
 *
 * - `repositories`: hash name → `1` (auth required) or `0`;
 * - `user-repositories`, `host-repositories`: hash login / consumer UUID → JSON list of names;
 * - `hosts`, `users`: sets (users are never removed, as in the plugin);
 * - `token:<sha256>`: the login, expiring at the token's own expiry (a native TTL replaces the
 *   plugin's purge on insert, and is absolute epoch time, so no time zone can shift it).
 *
 * A push replaces its whole table: the new one is built under a key of its own, then renamed over
 * the old one in one transaction, so a reader sees the old table or the new one, never a mix. The
 * SQL cascades (a mapping to a repository or host that is gone) are applied when reading: a
 * mapping counts only for a repository still listed and a host still known.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RepositoryRow } from '../../contracts/container-gateway/tables.ts';
import type { Topology } from '../../contracts/topology.ts';

/** The Redis commands the store uses. */
export type GatewayRedis = Pick<Redis, 'multi' | 'pipeline' | 'hget' | 'hgetall' | 'hmget' | 'get' | 'sismember' | 'smembers' | 'quit' | 'disconnect'>;

/** A table being built lives this long at most if its builder dies before the swap. */
const BUILD_TTL_SECONDS = 600;
/** Fields written per command while building: bounds one command's size for large pushes. */
const BUILD_CHUNK = 1000;

export type RepositoryAccess = 'unknown' | 'open' | 'auth-required';

export interface GatewayStore {
  replaceRepositories(rows: readonly RepositoryRow[]): Promise<void>;
  replaceUserRepositories(mapping: ReadonlyMap<string, readonly string[]>): Promise<void>;
  replaceHosts(uuids: readonly string[]): Promise<void>;
  replaceHostRepositories(mapping: ReadonlyMap<string, readonly string[]>): Promise<void>;
  /** Per host, creating the host (`update_host_repositories`, and the lazy host lookup). */
  updateHostRepositories(mapping: ReadonlyMap<string, readonly string[]>): Promise<void>;
  /** Stores a token's hash for `login` until `expiresAtMs`, and that user's repositories. */
  storeToken(sha256: string, login: string, expiresAtMs: number, repositories: readonly string[] | undefined): Promise<void>;
  users(): Promise<string[]>;
  /** The login a live token belongs to. */
  tokenUser(sha256: string): Promise<string | undefined>;
  isKnownHost(uuid: string): Promise<boolean>;
  repositoryAccess(name: string): Promise<RepositoryAccess>;
  /** Whether the user (or host) is mapped to the repository. */
  userMapped(login: string, repository: string): Promise<boolean>;
  hostMapped(uuid: string, repository: string): Promise<boolean>;
  /** Every repository with its access. */
  repositories(): Promise<Map<string, RepositoryAccess>>;
  userRepositories(login: string): Promise<string[]>;
  hostRepositories(uuid: string): Promise<string[]>;
}

function parseList(value: string | null | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

export function createGatewayStore(redis: GatewayRedis, topology: Topology): GatewayStore {
  const key = (table: string): string => topology.containerGatewayKey(table);

  /** Builds `entries` under a fresh key, then swaps it in (or deletes the table when empty). */
  async function swap(table: string, kind: 'hash' | 'set', entries: ReadonlyArray<readonly [string, string]> | readonly string[]): Promise<void> {
    const target = key(table);
    const build = key(`${table}:build:${randomUUID()}`);
    for (let start = 0; start < entries.length; start += BUILD_CHUNK) {
      const chunk = entries.slice(start, start + BUILD_CHUNK);
      const pipeline = redis.pipeline();
      if (kind === 'hash') pipeline.hset(build, Object.fromEntries(chunk as ReadonlyArray<readonly [string, string]>));
      else pipeline.sadd(build, ...(chunk as string[]));
      pipeline.expire(build, BUILD_TTL_SECONDS);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    }
    const transaction = redis.multi();
    // RENAME carries the build key's TTL over: PERSIST drops it in the same transaction.
    if (entries.length === 0) transaction.del(target);
    else transaction.rename(build, target).persist(target);
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed?.[0]) throw failed[0];
  }

  const mappingEntries = (mapping: ReadonlyMap<string, readonly string[]>): Array<[string, string]> => [...mapping].map(([name, repositories]) => [name, JSON.stringify([...new Set(repositories)])]);

  async function access(name: string): Promise<RepositoryAccess> {
    const value = await redis.hget(key('repositories'), name);
    return value === null ? 'unknown' : value === '1' ? 'auth-required' : 'open';
  }

  return {
    replaceRepositories: (rows) => swap('repositories', 'hash', rows.map((row) => [row.name, row.authRequired ? '1' : '0'] as const)),
    replaceUserRepositories: (mapping) => swap('user-repositories', 'hash', mappingEntries(mapping)),
    replaceHosts: (uuids) => swap('hosts', 'set', [...new Set(uuids)]),
    replaceHostRepositories: (mapping) => swap('host-repositories', 'hash', mappingEntries(mapping)),
    async updateHostRepositories(mapping) {
      if (mapping.size === 0) return;
      const entries = mappingEntries(mapping);
      await redis.multi().sadd(key('hosts'), ...mapping.keys()).hset(key('host-repositories'), Object.fromEntries(entries)).exec();
    },
    async storeToken(sha256, login, expiresAtMs, repositories) {
      const transaction = redis.multi().sadd(key('users'), login).set(key(`token:${sha256}`), login, 'PXAT', expiresAtMs);
      if (repositories !== undefined) transaction.hset(key('user-repositories'), login, JSON.stringify([...new Set(repositories)]));
      await transaction.exec();
    },
    users: async () => (await redis.smembers(key('users'))).sort(),
    tokenUser: async (sha256) => (await redis.get(key(`token:${sha256}`))) ?? undefined,
    isKnownHost: async (uuid) => (await redis.sismember(key('hosts'), uuid)) === 1,
    repositoryAccess: access,
    userMapped: async (login, repository) => parseList(await redis.hget(key('user-repositories'), login)).includes(repository),
    async hostMapped(uuid, repository) {
      if ((await redis.sismember(key('hosts'), uuid)) !== 1) return false;
      return parseList(await redis.hget(key('host-repositories'), uuid)).includes(repository);
    },
    async repositories() {
      const all = await redis.hgetall(key('repositories'));
      return new Map(Object.entries(all).map(([name, value]) => [name, value === '1' ? 'auth-required' : 'open']));
    },
    userRepositories: async (login) => parseList(await redis.hget(key('user-repositories'), login)),
    async hostRepositories(uuid) {
      if ((await redis.sismember(key('hosts'), uuid)) !== 1) return [];
      return parseList(await redis.hget(key('host-repositories'), uuid));
    },
  };
}
