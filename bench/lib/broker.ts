/** Broker chores around the scenarios: the version for the record, and removing a bench prefix. */
import { spawnSync } from 'node:child_process';
import amqplib from 'amqplib';
import { createTopology, queueFeatures, rpcFeatures } from '../../contracts/topology.ts';

/** `rabbitmqctl version` when the CLI is here and allowed; otherwise what the broker announces. */
export async function rabbitmqVersion(amqpUrl: string): Promise<string | null> {
  const cli = spawnSync('rabbitmqctl', ['version'], { encoding: 'utf8', timeout: 20_000 });
  const line = cli.status === 0 ? cli.stdout.trim().split('\n').pop() : undefined;
  if (line) return line.trim();
  try {
    const connection = await amqplib.connect(amqpUrl);
    const version = connection.connection.serverProperties.version;
    await connection.close();
    return version ?? null;
  } catch {
    return null;
  }
}

/**
 * Deletes every queue and exchange a hub role (or the raw scenario) declared under `prefix`.
 * Ingress alone has no consumers, so the facts queue holds everything accepted; its depth is
 * returned as a check that each 202/confirm really left a message on the broker. Every role also
 * declares the RPC request queues (classic); what they still held is returned too, which after a
 * registration run is nothing: the worker took every request.
 */
export async function removeBenchTopology(amqpUrl: string, prefix: string): Promise<{ factsQueued: number | null; rpcQueued: Record<string, number> }> {
  const topology = createTopology(prefix);
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // A failed check closes the channel with an error event; unheard, it would crash the bench.
    channel.on('error', () => undefined);
    // Declared before anything else (declareTopology), so present even after a set-up that failed
    // half-way; deleting a queue that does not exist is no error in RabbitMQ.
    const rpcQueued: Record<string, number> = {};
    for (const feature of rpcFeatures) rpcQueued[topology.rpcQueue(feature)] = (await channel.deleteQueue(topology.rpcQueue(feature))).messageCount;
    await channel.deleteQueue(topology.capabilitiesStream);
    await channel.deleteExchange(topology.capabilitiesExchange);
    let factsQueued: number | null = null;
    try {
      factsQueued = (await channel.checkQueue(topology.workQueue('facts'))).messageCount;
    } catch {
      // never declared (the scenario failed before it declared the topology)
      return { factsQueued: null, rpcQueued };
    }
    for (const feature of queueFeatures) {
      await channel.deleteQueue(topology.workQueue(feature));
      await channel.deleteQueue(topology.deadLetterQueue(feature));
    }
    for (const exchange of [topology.eventsExchange, topology.outcomesExchange, topology.deadLetterExchange]) {
      await channel.deleteExchange(exchange);
    }
    return { factsQueued, rpcQueued };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Consumers on `queue`, for readiness: a worker is ready once the broker lists its consumer, the
 * moment it would log `proxyhub started`. A queue not declared yet counts as none.
 */
export async function consumerCount(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // A failed check closes the channel with an error event; unheard, it would crash the bench.
    channel.on('error', () => undefined);
    return (await channel.checkQueue(queue)).consumerCount;
  } catch {
    return 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
