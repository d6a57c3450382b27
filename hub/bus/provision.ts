/**
 * The operator's one-off broker work for `proxyhub broker setup`, run with an administrator's
 * account: declare the whole topology (the Redis ACL users are set by hub/jobs/redis.ts).
 */
import amqplib from 'amqplib';
import type { Topology } from '../../contracts/topology.ts';
import { declareTopology, type TopologyScope } from './declare-topology.ts';
import { amqp091UrlOf } from './transport.ts';

export async function declareWholeTopology(amqpUrl: string, topology: Topology, scope: TopologyScope): Promise<void> {
  const connection = await amqplib.connect(amqp091UrlOf(amqpUrl), { clientProperties: { connection_name: 'proxyhub broker setup' } });
  try {
    await declareTopology(await connection.createChannel(), topology, scope);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
