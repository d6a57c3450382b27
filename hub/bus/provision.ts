/**
 * The operator's one-off broker and Redis work for `proxyhub broker setup`, run with an
 * administrator's account: set ACL users, declare the whole topology.
 */
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import type { Topology } from '../../contracts/topology.ts';
import { declareTopology, type TopologyScope } from './declare-topology.ts';
import { amqp091UrlOf } from './rabbit-admin.ts';

/** `ACL SETUSER` with each argument list, on one connection. */
export async function setRedisAclUsers(redisUrl: string, users: readonly (readonly string[])[]): Promise<void> {
  if (users.length === 0) return;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const args of users) await redis.call('ACL', 'SETUSER', ...args);
  } finally {
    redis.disconnect();
  }
}

export async function declareWholeTopology(amqpUrl: string, topology: Topology, scope: TopologyScope): Promise<void> {
  const connection = await amqplib.connect(amqp091UrlOf(amqpUrl), { clientProperties: { connection_name: 'proxyhub broker setup' } });
  try {
    await declareTopology(await connection.createChannel(), topology, scope);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
