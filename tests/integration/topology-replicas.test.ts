/**
 * Upgrading onto replica counts: queues declared by an earlier proxyhub (without
 * x-quorum-initial-group-size / x-initial-cluster-size, which RabbitMQ 3.10 still compares on a
 * redeclaration) are taken as they are instead of refusing every role's start.
 */
import t from 'tap';
import amqplib from 'amqplib';
import { CREATION_ONLY_ARGUMENTS, capabilityStreamArguments, createTopology, deadLetterQueueArguments, workQueueArguments } from '../../contracts/topology.ts';
import { declareTopology } from '../../hub/bus/declare-topology.ts';
import { AMQP_URL, deleteTopology, testPrefix, withChannel } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
const topology = createTopology(prefix);
t.teardown(() => deleteTopology(prefix, []));

function withoutReplicas(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([name]) => !(CREATION_ONLY_ARGUMENTS as readonly string[]).includes(name)));
}

t.test('queues made before replica counts are redeclared as they are', async (t) => {
  await withChannel(async (channel) => {
    await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true });
    await channel.assertQueue(topology.workQueue('facts'), { durable: true, arguments: withoutReplicas(workQueueArguments(topology, 'facts')) });
    await channel.assertQueue(topology.deadLetterQueue('facts'), { durable: true, arguments: withoutReplicas(deadLetterQueueArguments()) });
    await channel.assertQueue(topology.capabilitiesStream, { durable: true, arguments: withoutReplicas(capabilityStreamArguments()) });
  });
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const unavailable = await declareTopology(connection, topology, { features: ['facts'] });
    t.strictSame(unavailable, [], 'every queue declared');
  } finally {
    await connection.close();
  }
  const depth = await withChannel(async (channel) => (await channel.checkQueue(topology.workQueue('facts'))).messageCount);
  t.equal(depth, 0, 'the old work queue is still there');
});
