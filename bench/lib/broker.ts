/** Broker chores around the scenarios: the version for the record, and removing a bench prefix. */
import { spawnSync } from 'node:child_process';
import amqplib from 'amqplib';
import { createTopology, queueFeatures } from '../../contracts/topology.ts';

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
 * Deletes every queue and exchange an ingress-only hub (or the raw scenario) declared under
 * `prefix`. Ingress alone has no consumers, so the facts queue holds everything accepted; its
 * depth is returned as a check that each 202/confirm really left a message on the broker.
 */
export async function removeBenchTopology(amqpUrl: string, prefix: string): Promise<{ factsQueued: number | null }> {
  const topology = createTopology(prefix);
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // A failed check closes the channel with an error event; unheard, it would crash the bench.
    channel.on('error', () => undefined);
    let factsQueued: number | null = null;
    try {
      factsQueued = (await channel.checkQueue(topology.workQueue('facts'))).messageCount;
    } catch {
      // never declared (the scenario failed before it declared the topology)
      return { factsQueued: null };
    }
    for (const feature of queueFeatures) {
      await channel.deleteQueue(topology.workQueue(feature));
      await channel.deleteQueue(topology.deadLetterQueue(feature));
    }
    for (const exchange of [topology.eventsExchange, topology.outcomesExchange, topology.deadLetterExchange]) {
      await channel.deleteExchange(exchange);
    }
    return { factsQueued };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
