/**
 * The operator's one-off broker work for `proxyhub broker setup`, run with an administrator's
 * account: declare the whole topology (the Redis ACL users are set by hub/jobs/redis.ts).
 */
import amqplib from 'amqplib';
import type { Topology } from '../../contracts/topology.ts';
import { connectToAny } from './broker-urls.ts';
import { declareTopology, type TopologyScope } from './declare-topology.ts';
import { amqp091UrlOf } from './transport.ts';

export async function declareWholeTopology(amqpUrl: string, topology: Topology, scope: TopologyScope): Promise<void> {
  const connection = await connectToAny(amqp091UrlOf(amqpUrl), (node) => amqplib.connect(node, { clientProperties: { connection_name: 'proxyhub broker setup' } }));
  try {
    await declareTopology(connection, topology, scope);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
